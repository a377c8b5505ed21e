"""Launcher end-to-end fixtures: a private ZKPY_HOME, a private loopback address, the member
binaries to test, and cleanup of every member process by PID whatever the test did.

Member kinds: ``zookeeper`` (Apache ZooKeeper 3.8 via the member-command preset) and
``zkpy`` (``python -m zkpy server``). ``require_member`` is the one place that decides
what can run here.

Ensembles of more than one member: Apache ZooKeeper forms a quorum, so N=3 runs for it;
for zkpy N>1 is gated by the single flag ``ZKPY_QUORUM``, to flip (with
launcher.main._refuse_zkpy_quorum gone) when quorum replication lands.
"""

from __future__ import annotations

import itertools
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from launcher.hosts.local import read_proc
from launcher.state import PidRecord
from tests.support.servers import apache_zk_available, free_port, unavailable

MEMBER_KINDS = ("zookeeper", "zkpy")
# The one flag for N>1 ensembles of zkpy members (quorum replication is a later issue).
ZKPY_QUORUM = False

_addresses = itertools.count((os.getpid() * 7) % 200)


def require_member(kind: str, tmp: Path, size: int = 1) -> None:
    """Skip (with the reason) when the member binary of ``kind`` cannot run here yet."""
    if kind == "zookeeper":
        if not apache_zk_available():
            unavailable("Apache ZooKeeper 3.8 not installed (apt-get install zookeeper)")
        return
    if size > 1 and not ZKPY_QUORUM:
        pytest.skip("zkpy quorum replication is not implemented yet: the launcher and "
                    "`zkpy server` refuse N>1 ensembles of zkpy members")


@pytest.fixture
def loopback() -> str:
    """A 127.0.0.x address of our own, so ports do not collide with other suites."""
    return f"127.0.0.{2 + next(_addresses) % 250}"


def kill_leftovers(root: Path) -> list[int]:
    """SIGKILL every member whose pid file is under ``root`` (only if it still runs our
    command line), and wait until each is gone. Returns the pids it had to kill."""
    killed: list[int] = []
    for pid_file in root.rglob("member.pid"):
        rec = PidRecord.parse(pid_file.read_text(errors="replace"))
        if rec is None:
            continue
        proc = read_proc(rec.pid)
        if proc is None or not any(rec.config in a for a in proc.cmdline):
            continue
        try:
            os.kill(rec.pid, signal.SIGKILL)
            killed.append(rec.pid)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + 10
    for pid in killed:
        while read_proc(pid) is not None and time.monotonic() < deadline:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.02)
    return killed


@pytest.fixture
def zkpy_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    monkeypatch.setenv("ZKPY_HOME", str(home))
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    try:
        yield home
    finally:
        kill_leftovers(tmp_path)


def free_base_port(host: str) -> int:
    """A base port whose whole block (client, +707, +1707, +5899) is free on host now."""
    import socket

    for _ in range(50):
        base = free_port(host)
        if base + 5899 + 3 > 65535:
            continue
        ok = True
        for off in (0, 1, 2, 707, 708, 709, 1707, 1708, 1709, 5899, 5900, 5901):
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind((host, base + off))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError(f"no free port block on {host}")


PYTHON = sys.executable
