"""The classic exercise, by script, with two zkpy shell processes:

A creates an ephemeral sequential lock node and holds the lock (lowest sequence number);
B creates its own node, sees it is second and watches its predecessor (stat -w); A's
process is killed with SIGKILL (no closeSession is sent); only when A's session times
out does the server delete A's node; B sees NodeDeleted and then holds the lock.

The transcript (what each shell was sent and printed, with times) is written to the
test's tmp dir and shown on failure.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.shell.support import ROOT, SHELL_CMD, LineReader, live_server, shell_env
from tests.support.servers import ServerHandle

SESSION_TIMEOUT_MS = 4000  # the server's minimum with tickTime=2000


class ShellProc:
    def __init__(self, name: str, hosts: str, log: list[str], t0: float) -> None:
        self.name, self.log, self.t0 = name, log, t0
        self.proc = subprocess.Popen(
            [*SHELL_CMD, "-s", hosts, "-timeout", str(SESSION_TIMEOUT_MS), "--keep-going"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=shell_env(), cwd=ROOT, start_new_session=True)
        self.out = LineReader(self.proc.stdout, f"{name} stdout")
        self.err = LineReader(self.proc.stderr, f"{name} stderr")

    def send(self, line: str) -> None:
        self.log.append(f"{time.monotonic() - self.t0:7.3f} {self.name} < {line}")
        assert self.proc.stdin is not None
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def expect(self, reader: LineReader, pattern: str, timeout_s: float = 20.0) -> str:
        m = reader.wait_for(pattern, timeout_s)
        self.log.append(f"{time.monotonic() - self.t0:7.3f} {self.name} > {m.string}")
        return m.string

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


@pytest.mark.parametrize("kind", ["zookeeper", "zkpy"])
def test_lock_holder_killed_watcher_takes_the_lock(request: pytest.FixtureRequest, kind: str,
                                                   tmp_path: Path) -> None:
    server: ServerHandle = live_server(request, kind)
    lock = f"/lock-{uuid.uuid4().hex[:10]}"
    log: list[str] = []
    t0 = time.monotonic()
    a = ShellProc("A", server.hosts, log, t0)
    b = ShellProc("B", server.hosts, log, t0)
    try:
        a.send(f"create {lock}")
        a.expect(a.err, rf"^Created {lock}$")
        a.send(f"create -e -s {lock}/lock- A")
        mine_a = a.expect(a.err, rf"^Created {lock}/lock-\d{{10}}$").split()[1]
        a.send(f"ls {lock}")
        a.expect(a.out, rf"^\[{mine_a.rsplit('/', 1)[1]}\]$")          # A holds the lock

        b.send(f"create -e -s {lock}/lock- B")
        mine_b = b.expect(b.err, rf"^Created {lock}/lock-\d{{10}}$").split()[1]
        b.send(f"ls {lock}")
        children = b.expect(b.out, r"^\[lock-")
        names = children.strip("[]").split(", ")
        assert names == sorted([mine_a.rsplit("/", 1)[1], mine_b.rsplit("/", 1)[1]])
        assert names[0] != mine_b.rsplit("/", 1)[1]                    # B must wait
        b.send(f"stat -w {mine_a}")                                     # watch the holder
        b.expect(b.out, r"^ephemeralOwner = 0x[0-9a-f]+$")
        b.expect(b.out, r"^numChildren = 0$")

        killed_at = time.monotonic()
        log.append(f"{killed_at - t0:7.3f} kill -9 A (pid {a.proc.pid})")
        os.kill(a.proc.pid, signal.SIGKILL)
        a.proc.wait(timeout=10)

        b.expect(b.out, rf"^WatchedEvent state:SyncConnected type:NodeDeleted path:{mine_a}$",
                 timeout_s=SESSION_TIMEOUT_MS / 1000 * 3 + 10)
        waited_s = time.monotonic() - killed_at
        log.append(f"{time.monotonic() - t0:7.3f} NodeDeleted after {waited_s:.2f}s")
        # SIGKILL sends no closeSession: the node goes only when the session expires
        assert waited_s >= SESSION_TIMEOUT_MS / 1000 / 2, waited_s

        b.send(f"ls {lock}")
        b.expect(b.out, rf"^\[{mine_b.rsplit('/', 1)[1]}\]$")          # B holds the lock
        b.send(f"getEphemerals {lock}")
        b.expect(b.out, rf"^\[{mine_b}\]$")
        b.send(f"deleteall {lock}")
        b.send("quit")
        assert b.proc.wait(timeout=20) == 0
    finally:
        (tmp_path / "transcript.txt").write_text("\n".join(log) + "\n")
        print("\n".join(log))
        a.stop()
        b.stop()
