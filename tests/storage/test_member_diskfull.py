"""A real zkpy member whose data dir fills up, or is read-only (small ext4 loop mount).

What a member does when a write cannot be made durable: it never acknowledges it, and
it stops (exit 3, the log names the error), as ZooKeeper does on a txn log failure.
Why stop rather than refuse writes and go on: the failed batch's txns already hold
zxids and later requests were prepared on top of them, and after a failed fsync the
file's contents are unknown; a restart recovers exactly what is durable and nothing
else. Once space is back, the restarted member serves everything acknowledged before.
"""

from __future__ import annotations

import asyncio
import errno
import os
import subprocess
import sys
from pathlib import Path

from tests.support.servers import ServerHandle, free_port, start_zkpy, wait_until
from zkpy.client import ZkClient
from zkpy.errors import ZkError

from .conftest import run_cmd

DATA = b"d" * 2000


def _cfg(mnt: Path) -> dict[str, object]:
    # Small preallocation: the 8 MiB disk must not be used up by one empty segment.
    return {"dataDir": mnt / "data", "preAllocSize": 256}


def _fill(path: Path) -> int:
    """Write a ballast file until the disk is full; returns the bytes written."""
    chunk = b"\0" * (64 * 1024)
    n = 0
    with path.open("wb", buffering=0) as f:
        try:
            while True:
                n += f.write(chunk)
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
        try:
            os.fsync(f.fileno())
        except OSError:
            pass
    return n


async def _write_until_refused(h: ServerHandle, ballast: Path) -> dict[str, bytes]:
    acked: dict[str, bytes] = {}
    c = ZkClient(h.hosts, session_timeout_ms=4000, connect_timeout_s=5.0)
    await c.start(10.0)
    await c.create("/full")

    async def writer(w: int) -> None:
        for i in range(100_000):
            path = f"/full/n-{w}-{i:05d}"
            await c.create(path, DATA)
            acked[path] = DATA

    # Several writers: batches of more than one write, which go through the fsync helper
    # (a lone write is synced by the member itself).
    tasks = [asyncio.create_task(writer(w)) for w in range(4)]
    await asyncio.sleep(0.3)
    assert acked, "no write was acknowledged before the disk filled"
    await asyncio.to_thread(_fill, ballast)
    done, pending = await asyncio.wait(tasks, timeout=30)
    assert not pending, "writes kept succeeding on a full disk"
    for t in done:
        assert isinstance(t.exception(), ZkError), repr(t.exception())
    await c.close(2.0)
    return acked


async def _check(h: ServerHandle, acked: dict[str, bytes]) -> None:
    c = ZkClient(h.hosts, session_timeout_ms=4000, connect_timeout_s=5.0)
    await c.start(10.0)
    try:
        got = await asyncio.gather(*(c.get(p) for p in acked))
        assert [d for d, _ in got] == list(acked.values())
        await c.create("/space-is-back")   # serves writes again
    finally:
        await c.close(2.0)


def _verify_data_dir(data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "zkpy", "data", "verify", str(data)],
                          capture_output=True, text=True, timeout=120)


def test_disk_full_member_stops_and_keeps_every_acknowledged_write(small_ext4: Path,
                                                                  tmp_path: Path) -> None:
    port = free_port()
    cfg = _cfg(small_ext4)
    ballast = small_ext4 / "ballast"
    h = start_zkpy(tmp_path / "m", port=port, cfg=cfg)
    try:
        acked = asyncio.run(asyncio.wait_for(_write_until_refused(h, ballast), 60))
        wait_until(lambda: not h.alive(), 20, "the member to stop on the full disk")
        assert h.proc.returncode == 3, h.log_tail()
        log = h.log_path.read_text(errors="replace")
        assert "ENOSPC" in log or "No space left" in log, h.log_tail()
        ballast.unlink()
        h = start_zkpy(tmp_path / "m", port=port, cfg=cfg)
        asyncio.run(asyncio.wait_for(_check(h, acked), 60))
        h.stop()
        r = _verify_data_dir(small_ext4 / "data")
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        h.stop()


def test_read_only_data_dir_refuses_to_start_then_serves_when_writable(small_ext4: Path,
                                                                       tmp_path: Path) -> None:
    port = free_port()
    cfg = _cfg(small_ext4)
    h = start_zkpy(tmp_path / "m", port=port, cfg=cfg)

    async def write() -> None:
        c = ZkClient(h.hosts, session_timeout_ms=4000, connect_timeout_s=5.0)
        await c.start(10.0)
        await c.create("/ro", b"before")
        await c.close(2.0)

    try:
        asyncio.run(asyncio.wait_for(write(), 30))
        h.stop()
        r = run_cmd("mount", "-o", "remount,ro", str(small_ext4))
        assert r.returncode == 0, r.stderr
        h = start_zkpy(tmp_path / "m", port=port, cfg=cfg, wait=False)
        wait_until(lambda: not h.alive(), 30, "the member to refuse a read-only data dir")
        assert h.proc.returncode == 3, h.log_tail()
        assert "Read-only file system" in h.log_path.read_text(errors="replace"), h.log_tail()
        assert run_cmd("mount", "-o", "remount,rw", str(small_ext4)).returncode == 0
        h = start_zkpy(tmp_path / "m", port=port, cfg=cfg)
        asyncio.run(asyncio.wait_for(_check(h, {"/ro": b"before"}), 30))
    finally:
        h.stop()
