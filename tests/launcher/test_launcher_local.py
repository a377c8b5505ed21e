"""zkpy ensemble end to end on this machine, through click's CliRunner (stdout, stderr and
exit code asserted separately), with real member processes."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from launcher.hosts.local import read_proc
from tests.launcher.conftest import MEMBER_KINDS, free_base_port, require_member
from tests.support.servers import four_letter, wait_until
from zkpy.cli import main


def zk(*args: str) -> Result:
    return CliRunner().invoke(main, ["ensemble", *args], catch_exceptions=False)


def status(name: str) -> dict:  # type: ignore[type-arg]
    r = zk("status", name, "--format", "json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def member_row(name: str, member: str = "zk1") -> dict:  # type: ignore[type-arg]
    return next(m for m in status(name)["member_status"] if m["name"] == member)


@pytest.mark.parametrize("kind", MEMBER_KINDS)
def test_one_member_lifecycle(kind: str, zkpy_home: Path, loopback: str, tmp_path: Path) -> None:
    require_member(kind, tmp_path / "probe")
    r = zk("create", "solo", "-n", "1", "--server", kind, "--host", loopback)
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ""
    assert "it is now current" in r.stderr
    spec = json.loads((zkpy_home / "ensembles/solo/ensemble.json").read_text())
    port = spec["members"][0]["client_port"]

    r = zk("start", "--wait-timeout-s", "30")
    assert r.exit_code == 0, r.stderr
    assert f"zk1  {loopback}:{port}  ready (standalone)" in r.stderr
    assert "Ensemble: solo" in r.stdout and "Total members: 1" in r.stdout
    assert f"Connect:  zkpy shell -server {loopback}:{port}" in r.stderr
    assert "Mode: standalone" in four_letter(loopback, port, "srvr")
    row = member_row("solo")
    pid = row["pid"]
    assert row["status"] == "Up" and row["role"] == "standalone" and row["zxid"] == "0x0"
    assert read_proc(pid) is not None

    r = zk("start")  # idempotent
    assert r.exit_code == 0 and f"zk1 already running (pid {pid})" in r.stderr

    r = zk("pause", "-m", "1")
    assert r.exit_code == 0, r.stderr
    assert member_row("solo")["status"] == "Paused"
    assert status("solo")["quorum"]["ok"] is False
    r = zk("resume", "-m", "zk1")
    assert r.exit_code == 0, r.stderr
    assert wait_until(lambda: member_row("solo")["status"] == "Up", 10, "resume")

    r = zk("kill")
    assert r.exit_code == 0, r.stderr
    assert read_proc(pid) is None
    assert member_row("solo")["status"] == "Down"
    assert not (zkpy_home / "ensembles/solo/members/zk1/member.pid").exists()

    r = zk("restart", "solo", "--wait-timeout-s", "30")  # restart of a stopped member = start
    assert r.exit_code == 0, r.stderr
    pid2 = member_row("solo")["pid"]
    assert pid2 != pid and member_row("solo")["status"] == "Up"
    assert json.loads((zkpy_home / "ensembles/solo/ensemble.json").read_text())[
        "members"][0]["client_port"] == port  # ports never move

    r = zk("logs", "zk1", "-n", "3")
    assert r.exit_code == 0 and len(r.stdout.splitlines()) == 3
    assert "member.log" in r.stderr

    r = zk("stop")
    assert r.exit_code == 0, r.stderr
    assert read_proc(pid2) is None
    r = zk("stop")
    assert r.exit_code == 0 and "zk1 already stopped" in r.stderr
    r = zk("pause")
    assert r.exit_code == 1 and "zk1 is not running" in r.stderr

    r = zk("destroy", "solo")  # not a TTY and no --yes
    assert r.exit_code == 2 and "pass --yes" in r.stderr
    assert (zkpy_home / "ensembles/solo").exists()
    r = zk("destroy", "solo", "--yes")
    assert r.exit_code == 0, r.stderr
    assert not (zkpy_home / "ensembles/solo").exists()
    assert zk("list").stdout == ""


@pytest.mark.parametrize("kind", MEMBER_KINDS)
def test_three_member_ensemble(kind: str, zkpy_home: Path, loopback: str,
                               tmp_path: Path) -> None:
    require_member(kind, tmp_path / "probe", size=3)
    hosts = [loopback, loopback.rsplit(".", 1)[0] + f".{int(loopback.rsplit('.', 1)[1]) + 1}"]
    base = free_base_port(hosts[0])
    r = zk("create", "trio", "-n", "3", "--server", kind, "--no-admin", "--base-port",
           str(base), "--host", hosts[0], "--host", hosts[1], "--start", "--wait-timeout-s", "40")
    assert r.exit_code == 0, r.stderr
    st = status("trio")
    roles = sorted(m["role"] for m in st["member_status"])
    assert roles == ["follower", "follower", "leader"]
    assert st["quorum"] == {"ok": True, "serving": 3, "size": 2}
    leader = st["leader"]
    assert [m["status"] for m in st["member_status"] if m["name"] == leader] == ["Up|L"]
    assert [(m["host"], m["client_port"]) for m in st["member_status"]] == [
        (hosts[0], base), (hosts[1], base), (hosts[0], base + 1)]
    cfg = (zkpy_home / "ensembles/trio/members/zk2/zoo.cfg").read_text()
    assert f"server.3={hosts[0]}:{base + 708}:{base + 1708};{hosts[0]}:{base + 1}" in cfg
    assert (zkpy_home / "ensembles/trio/members/zk2/data/myid").read_text() == "2\n"

    r = zk("kill", "-m", leader)
    assert r.exit_code == 0, r.stderr
    assert member_row("trio", leader)["status"] == "Down"
    r = zk("stop", "--dry-run")
    assert r.exit_code == 0 and "Plan: stop trio" in r.stdout
    r = zk("destroy", "--yes", "trio")
    assert r.exit_code == 0, r.stderr


def test_dry_run_changes_nothing(zkpy_home: Path, loopback: str) -> None:
    r = zk("create", "dry", "-n", "3", "--host", loopback, "--dry-run")
    assert r.exit_code == 0
    assert r.stdout.startswith("Plan: create dry (nothing was done)")
    assert not (zkpy_home / "ensembles/dry").exists()
    assert zk("create", "dry", "-n", "1", "--host", loopback).exit_code == 0
    r = zk("--dry-run", "start")  # global flag before the subcommand
    assert r.exit_code == 0
    assert "3. zk1: spawn the member command" in r.stdout
    assert not (zkpy_home / "ensembles/dry/members").exists()


def test_list_switch_env(zkpy_home: Path, loopback: str) -> None:
    assert zk("create", "a", "-n", "1", "--host", loopback, "--base-port", "3000").exit_code == 0
    assert zk("create", "b", "-n", "2", "--host", loopback, "--base-port", "3100",
              "--server", "zookeeper").exit_code == 0
    assert zk("list").stdout == "  a\n* b\n"
    assert zk("switch", "a").exit_code == 0
    assert zk("list").stdout == "* a\n  b\n"
    assert zk("env").stdout == f"ZKPY_HOSTS={loopback}:3000\n"
    assert zk("env", "b").stdout == f"ZKPY_HOSTS={loopback}:3100,{loopback}:3101\n"
    assert json.loads(zk("env", "b", "--format", "json").stdout)["ZKPY_ENSEMBLE"] == "b"
    assert json.loads(zk("list", "--format", "json").stdout)[0] == {
        "name": "a", "current": True, "members": 1, "hosts": f"{loopback}:3000"}
    r = zk("shell", "--dry-run", "b")
    assert r.stdout.split()[1:] == ["-m", "zkpy", "shell", "-server",
                                    f"{loopback}:3100,{loopback}:3101"]
    r = zk("create", "a", "-n", "1")
    assert r.exit_code == 1 and "already exists" in r.stderr
    r = zk("switch", "nope")
    assert r.exit_code == 2 and "no ensemble 'nope'" in r.stderr
    r = zk("status", "a", "-m", "1")
    assert r.exit_code == 2  # click usage error: status takes no -m
    r = zk("start", "a", "-m", "9")
    assert r.exit_code == 2 and "no member '9'" in r.stderr


def test_no_current_ensemble_is_a_usage_error(zkpy_home: Path) -> None:
    r = zk("status")
    assert r.exit_code == 2
    assert "no current ensemble" in r.stderr


def test_busy_port_is_reported_with_its_holder(zkpy_home: Path, loopback: str) -> None:
    base = free_base_port(loopback)
    assert zk("create", "busy", "-n", "1", "--host", loopback, "--base-port", str(base),
              "--member-command", "{python} -c 'import time; time.sleep(60)' {config}"
              ).exit_code == 0
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((loopback, base))
        s.listen()
        r = zk("start")
    assert r.exit_code == 1
    assert f"Error: {loopback}:{base} (zk1 client port) is in use by pid {os.getpid()}" \
        in r.stderr
    assert "Hint:" in r.stderr
    assert not (zkpy_home / "ensembles/busy/members/zk1/member.pid").exists()  # nothing started


def test_member_that_dies_while_starting_exits_3_with_its_log(zkpy_home: Path,
                                                              loopback: str) -> None:
    cmd = "{python} -c 'import sys; print(\"bad config\", sys.argv[1]); sys.exit(2)' {config}"
    assert zk("create", "dies", "-n", "1", "--host", loopback, "--member-command", cmd
              ).exit_code == 0
    r = zk("start", "--wait-timeout-s", "30")
    assert r.exit_code == 3
    assert "Error: zk1" in r.stderr and "exited while starting" in r.stderr
    assert "bad config" in r.stderr and "zoo.cfg" in r.stderr
    log = zkpy_home / "ensembles/dies/members/zk1/member.log"
    assert f"Hint: full log: {log}" in r.stderr
    assert member_row("dies")["status"] == "Down"


def test_readiness_timeout_exits_3_and_leaves_member_stoppable(zkpy_home: Path,
                                                               loopback: str) -> None:
    cmd = "{python} -c 'import time; print(\"waiting\", flush=True); time.sleep(60)' {config}"
    assert zk("create", "slow", "-n", "1", "--host", loopback, "--member-command", cmd
              ).exit_code == 0
    r = zk("start", "--wait-timeout-s", "1")
    assert r.exit_code == 3
    assert "zk1 not ready after 1 s" in r.stderr and "waiting" in r.stderr
    row = member_row("slow")
    assert row["status"] == "Unready" and row["pid"]
    r = zk("stop")
    assert r.exit_code == 0, r.stderr
    assert read_proc(row["pid"]) is None


def test_stale_pid_file_is_detected_and_cleaned(zkpy_home: Path, loopback: str) -> None:
    assert zk("create", "st", "-n", "1", "--host", loopback).exit_code == 0
    pid_file = zkpy_home / "ensembles/st/members/zk1/member.pid"
    pid_file.parent.mkdir(parents=True)
    # our own pid: alive, but not running this member's command line
    pid_file.write_text(json.dumps({"pid": os.getpid(), "argv": [],
                                    "config": str(pid_file.parent / "zoo.cfg")}))
    assert member_row("st")["status"] == "Stale-pid"
    r = zk("stop")
    assert r.exit_code == 0
    assert "removed stale pid file" in r.stderr
    assert not pid_file.exists()
    assert member_row("st")["status"] == "Down"


def test_stop_of_a_paused_member_terminates_it(zkpy_home: Path, loopback: str) -> None:
    cmd = "{python} -c 'import time; time.sleep(60)' {config}"
    assert zk("create", "frozen", "-n", "1", "--host", loopback, "--member-command", cmd
              ).exit_code == 0
    assert zk("start", "--wait-timeout-s", "0.3").exit_code == 3  # never serves
    pid = member_row("frozen")["pid"]
    assert zk("pause").exit_code == 0
    assert member_row("frozen")["status"] == "Paused"
    r = zk("stop", "--wait-timeout-s", "10")
    assert r.exit_code == 0, r.stderr
    assert read_proc(pid) is None


def test_create_refuses_a_multi_member_zkpy_ensemble(zkpy_home: Path, loopback: str) -> None:
    r = zk("create", "trio", "--host", loopback)          # default: 3 zkpy members
    assert r.exit_code == 2
    assert "replication is not implemented" in r.stderr and "--server zookeeper" in r.stderr
    assert not (zkpy_home / "ensembles/trio").exists()
