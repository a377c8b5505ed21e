"""Members over ssh (asyncssh) against a private sshd on 127.0.0.1, started by the test.

Needs openssh-server (/usr/sbin/sshd) and ssh-keygen; as root the test creates sshd's
privilege-separation dir /run/sshd if it is missing. Skipped, with the reason, otherwise.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from launcher.hosts.local import read_proc
from tests.launcher.conftest import free_base_port, require_member
from tests.support.servers import free_port, unavailable, wait_until
from zkpy.cli import main

SSHD = "/usr/sbin/sshd"


def zk(*args: str) -> Result:
    return CliRunner().invoke(main, ["ensemble", *args], catch_exceptions=False)


@pytest.fixture
def ssh_client_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A HOME whose ~/.ssh has our client key; asyncssh reads ~/.ssh like OpenSSH."""
    home = tmp_path / "client-home"
    (home / ".ssh").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return home


@pytest.fixture
def sshd(tmp_path: Path, ssh_client_home: Path) -> Iterator[str]:
    """user@127.0.0.1:PORT of a throwaway sshd that accepts our key only."""
    if not os.path.exists(SSHD) or shutil.which("ssh-keygen") is None:
        unavailable("openssh-server not installed (apt-get install openssh-server)")
    if not os.path.isdir("/run/sshd"):
        if os.geteuid() != 0:
            unavailable("sshd needs /run/sshd (create it as root, or run as root)")
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    d = tmp_path / "sshd"
    d.mkdir()
    for key in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / key)],
                       check=True, timeout=30)
    (d / "authorized_keys").write_text((d / "client.pub").read_text())
    os.chmod(d / "authorized_keys", 0o600)
    port = free_port("127.0.0.1")
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d / 'host'}\n"
        f"AuthorizedKeysFile {d / 'authorized_keys'}\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
        "PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n"
        f"PidFile {d / 'sshd.pid'}\n")
    shutil.copy(d / "client", ssh_client_home / ".ssh/id_ed25519")
    host_pub = " ".join((d / "host.pub").read_text().split()[:2])
    (ssh_client_home / ".ssh/known_hosts").write_text(f"[127.0.0.1]:{port} {host_pub}\n")
    log = open(d / "sshd.log", "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(d / "sshd_config")], stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        def listening() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {(d / 'sshd.log').read_text()}")
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0

        wait_until(listening, 10, "sshd to listen")
        yield f"{getpass.getuser()}@127.0.0.1:{port}"
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


def test_ssh_member_lifecycle(sshd: str, zkpy_home: Path, loopback: str,
                              tmp_path: Path) -> None:
    require_member("zookeeper", tmp_path / "probe")
    remote = tmp_path / "remote"
    base = free_base_port(loopback)
    r = zk("create", "far", "-n", "1", "--ssh", sshd, "--host", loopback, "--server",
           "zookeeper", "--remote-dir", str(remote), "--base-port", str(base),
           "--remote-python", sys.executable)
    assert r.exit_code == 0, r.stderr
    r = zk("start", "--wait-timeout-s", "30")
    assert r.exit_code == 0, r.stderr
    assert f"zk1  {loopback}:{base}  ready (standalone)" in r.stderr
    st = json.loads(zk("status", "--format", "json").stdout)
    row = st["member_status"][0]
    assert row["status"] == "Up" and row["ssh"] == sshd
    assert row["data_dir"] == f"{remote}/zk1/data"
    pid = row["pid"]
    assert read_proc(pid) is not None  # the ssh host is this machine
    assert (remote / "zk1/zoo.cfg").exists() and (remote / "zk1/data/myid").read_text() == "1\n"

    assert zk("pause").exit_code == 0
    assert json.loads(zk("status", "--format", "json").stdout)[
        "member_status"][0]["status"] == "Paused"
    assert zk("resume").exit_code == 0
    r = zk("logs", "1", "-n", "2")
    assert r.exit_code == 0 and len(r.stdout.splitlines()) == 2

    # the port check runs on the remote host, and names the holder
    assert zk("start").stderr.strip().startswith(f"zk1 already running (pid {pid})")

    r = zk("stop")  # all members of a remote ensemble: confirmation needed
    assert r.exit_code == 2 and "pass --yes" in r.stderr
    r = zk("stop", "--yes")
    assert r.exit_code == 0, r.stderr
    wait_until(lambda: read_proc(pid) is None, 10, "remote member to exit")
    r = zk("destroy", "--yes", "far")
    assert r.exit_code == 0, r.stderr
    assert not (remote / "zk1").exists()


def test_ssh_connect_timeout_names_host_and_step(zkpy_home: Path, ssh_client_home: Path) -> None:
    with socket.socket() as silent:  # accepts TCP, never says a word of SSH
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        assert zk("create", "mute", "-n", "1", "--ssh", f"u@127.0.0.1:{port}",
                  "--base-port", "3000").exit_code == 0
        t0 = time.monotonic()
        r = zk("status", "--ssh-timeout-s", "1")
        assert time.monotonic() - t0 < 10
    assert r.exit_code == 3
    assert f"u@127.0.0.1:{port}: connect: ssh connect timed out after 1 s" in r.stderr
    assert "Hint: check --ssh-timeout-s" in r.stderr
