"""`zkpy up` end to end, as users run it: a real `python -m zkpy` subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from launcher.hosts.local import read_proc
from launcher.state import PidRecord
from tests.launcher.conftest import MEMBER_KINDS, free_base_port, require_member
from tests.support.servers import four_letter

ROOT = Path(__file__).resolve().parents[2]


def run_zkpy(*args: str, home: Path, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ZKPY_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "zkpy", *args], capture_output=True, text=True,
                          env=env, timeout=timeout_s, cwd=ROOT, stdin=subprocess.DEVNULL)


def member_pids(home: Path) -> list[int]:
    out = []
    for f in home.rglob("member.pid"):
        rec = PidRecord.parse(f.read_text())
        assert rec is not None
        out.append(rec.pid)
    return out


@pytest.mark.parametrize("kind", MEMBER_KINDS)
def test_up_no_shell_round_trip(kind: str, zkpy_home: Path, loopback: str,
                                tmp_path: Path) -> None:
    require_member(kind, tmp_path / "probe")
    base = free_base_port(loopback)
    r = run_zkpy("up", "--no-shell", "--server", kind, "--name", "bench", "--host", loopback,
                 "--base-port", str(base), home=zkpy_home)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{loopback}:{base}\n"  # stdout is just the hosts, for scripts
    assert "Ensemble: bench" in r.stderr
    assert "Stop:     zkpy ensemble destroy --yes bench" in r.stderr
    assert "Mode: standalone" in four_letter(loopback, base, "srvr")
    (pid,) = member_pids(zkpy_home)
    assert read_proc(pid) is not None

    r = run_zkpy("ensemble", "destroy", "--yes", "bench", home=zkpy_home)
    assert r.returncode == 0, r.stderr
    assert read_proc(pid) is None
    assert not (zkpy_home / "ensembles/bench").exists()


def test_up_runs_the_shell_then_stops_and_deletes(zkpy_home: Path, loopback: str,
                                                  tmp_path: Path) -> None:
    require_member("zookeeper", tmp_path / "probe")
    marker = tmp_path / "shell-ran"
    # stands in for `zkpy shell`: checks the ensemble serves, records its args, exits 7
    shell = (f"{{python}} -c \"import sys, pathlib; from tests.support.servers import "
             f"four_letter; h, p = sys.argv[2].split(':'); "
             f"assert 'Mode:' in four_letter(h, int(p), 'srvr'); "
             f"pathlib.Path('{marker}').write_text(' '.join(sys.argv[1:])); sys.exit(7)\" "
             f"-server {{hosts}}")
    r = run_zkpy("up", "--server", "zookeeper", "--host", loopback, "--shell-command", shell,
                 home=zkpy_home)
    assert r.returncode == 7, r.stderr  # the shell's exit code
    assert marker.read_text().startswith(f"-server {loopback}:")
    assert "Connect:  zkpy shell -server" in r.stderr
    assert "Removed ensemble up-" in r.stderr
    assert not any((zkpy_home / "ensembles").iterdir())


def test_up_keep_keeps_the_data_and_stops_members(zkpy_home: Path, loopback: str,
                                                   tmp_path: Path) -> None:
    require_member("zookeeper", tmp_path / "probe")
    r = run_zkpy("up", "--server", "zookeeper", "--host", loopback, "--name", "kept", "--keep",
                 "--shell-command", "{python} -c pass", home=zkpy_home)
    assert r.returncode == 0, r.stderr
    assert "Kept ensemble kept" in r.stderr
    assert (zkpy_home / "ensembles/kept/members/zk1/data/myid").exists()
    assert member_pids(zkpy_home) == []  # stopped, pid files removed
    r = run_zkpy("ensemble", "destroy", "--yes", "kept", home=zkpy_home)
    assert r.returncode == 0


def test_up_failure_cleans_up_and_exits_3(zkpy_home: Path, loopback: str) -> None:
    r = run_zkpy("up", "--no-shell", "--host", loopback, "--name", "broken", "--member-command",
                 "{python} -c 'import sys; sys.exit(\"no such server\")' {config}",
                 home=zkpy_home)
    assert r.returncode == 3
    assert "exited while starting" in r.stderr and "no such server" in r.stderr
    assert r.stdout == ""
    assert not (zkpy_home / "ensembles/broken").exists()


def test_up_dry_run(zkpy_home: Path, loopback: str) -> None:
    r = run_zkpy("up", "--dry-run", "-n", "3", "--host", loopback, "--name", "d", home=zkpy_home)
    assert r.returncode == 0
    assert r.stdout.startswith("Plan: create d (nothing was done)")
    assert "on exit stop and delete" in r.stdout
    assert not (zkpy_home / "ensembles").exists()


def test_up_ctrl_c_while_starting_cleans_up_and_exits_130(zkpy_home: Path,
                                                          loopback: str) -> None:
    import signal
    import time

    env = {**os.environ, "ZKPY_HOME": str(zkpy_home), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "zkpy", "up", "--host", loopback, "--name", "intr",
         "--member-command", "{python} -c 'import time; time.sleep(60)' {config}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
        stdin=subprocess.DEVNULL)
    try:
        pid_file = zkpy_home / "ensembles/intr/members/zk1/member.pid"
        deadline = time.monotonic() + 20
        while not pid_file.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert pid_file.exists(), proc.communicate()[1] if proc.poll() is not None else ""
        member = PidRecord.parse(pid_file.read_text())
        assert member is not None
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 130, err
    assert "Interrupted." in err
    assert read_proc(member.pid) is None
    assert not (zkpy_home / "ensembles/intr").exists()


def test_up_refuses_a_multi_member_zkpy_ensemble_before_starting(zkpy_home: Path,
                                                                 loopback: str) -> None:
    r = run_zkpy("up", "--no-shell", "-n", "3", "--host", loopback, "--name", "trio",
                 home=zkpy_home)
    assert r.returncode == 2
    assert "replication is not implemented" in r.stderr and "--server zookeeper" in r.stderr
    assert r.stdout == "" and not (zkpy_home / "ensembles/trio").exists()
    assert member_pids(zkpy_home) == []
