"""The process committer's fsync helper (zkpy/storage/fsyncd.py) and its failure modes."""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.fsync_helper import helper_ready
from zkpy.storage import fsyncd
from zkpy.storage.committer import ProcessCommitter, make_committer
from zkpy.storage.errors import StorageError
from zkpy.storage.layout import list_logs
from zkpy.storage.txnlog import TxnLog, WriteMark

from .conftest import SMALL_PREALLOC, read_all

ROOT = Path(__file__).resolve().parents[2]


async def _ready(log: TxnLog) -> ProcessCommitter:
    c = make_committer(log, strategy="process")
    assert isinstance(c, ProcessCommitter)
    await helper_ready(c)
    return c


def _disk_full_from(log: TxnLog, zxid: int) -> TxnLog:
    """``log``, whose writes of batches starting at ``zxid`` or later fail with ENOSPC."""
    real = log.write_unsynced

    def full(data: bytes | bytearray, first: int, last: int) -> WriteMark:
        if first >= zxid:
            raise StorageError("write txn log", "x", OSError(errno.ENOSPC, "No space left"))
        return real(data, first, last)

    log.write_unsynced = full  # type: ignore[method-assign]
    return log


def _gone(pid: int) -> bool:
    """Exited (reaped, or a zombie nobody reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def _wait_gone(pid: int, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not _gone(pid):
        assert time.monotonic() < deadline, f"fsync helper {pid} still running"
        time.sleep(0.02)


def test_pipelined_batches_across_a_roll_resolve_in_order(tmp_path: Path) -> None:
    async def main() -> list[int]:
        c = await _ready(TxnLog(tmp_path, 0, prealloc_bytes=SMALL_PREALLOC))
        futs = []
        for z in range(1, 201):
            c.append(z, b"payload-%d" % z)
            if z % 3 == 0:
                futs.append(c.commit())
            if z == 120:
                c.roll()  # a new segment while requests for the old one are outstanding
        futs.append(c.commit())
        order: list[int] = []
        for i, f in enumerate(futs):
            f.add_done_callback(lambda _f, i=i: order.append(i))
        got = [await f for f in futs]
        assert order == sorted(order)
        assert c.batches >= 1
        await c.aclose()
        return got

    got = asyncio.run(main())
    assert got == sorted(got) and got[-1] == 200
    assert [z for z, _ in read_all(tmp_path)] == list(range(1, 201))
    assert [z for z, _ in list_logs(tmp_path)] == [1, 121]


def test_a_failed_write_fails_after_the_batches_before_it(tmp_path: Path) -> None:
    log = _disk_full_from(TxnLog(tmp_path, 0, prealloc_bytes=SMALL_PREALLOC), 3)

    async def main() -> None:
        c = await _ready(log)
        c.append(1, b"a")
        c.append(2, b"b")
        f1 = c.commit()                 # in flight in the helper
        c.append(3, b"c")
        f2 = c.commit()                 # its write fails now
        assert not f2.done()            # ... but it is reported after f1
        assert await f1 == 2
        with pytest.raises(StorageError, match="No space"):
            await f2
        c.append(4, b"d")
        with pytest.raises(StorageError):
            await c.commit()            # stuck: never acknowledged
        await c.aclose()

    asyncio.run(main())
    assert [z for z, _ in read_all(tmp_path)] == [1, 2]


class _PipeLog(TxnLog):
    """Hands the helper a pipe instead of the segment: its fdatasync fails (EINVAL)."""

    pipe_fd = -1

    @property
    def fd(self) -> int:
        return self.pipe_fd


def test_failed_fdatasync_in_the_helper_poisons_the_log(tmp_path: Path) -> None:
    r, w = os.pipe()
    log = _PipeLog(tmp_path, 0, prealloc_bytes=SMALL_PREALLOC)
    log.pipe_fd = r

    async def main() -> None:
        c = await _ready(log)
        pid = c.helper_pid
        assert pid is not None
        c.append(1, b"a")
        with pytest.raises(StorageError, match="fdatasync") as ei:
            await c.commit()
        assert ei.value.errno == errno.EINVAL
        assert c.failed is not None
        c.append(2, b"b")
        with pytest.raises(StorageError):
            await c.commit()
        with pytest.raises(StorageError):
            log.write_batch(b"x", 2, 2)  # poisoned: nothing more goes to this log
        _wait_gone(pid)
        await c.aclose()

    try:
        asyncio.run(main())
    finally:
        os.close(r)
        os.close(w)


def test_a_killed_helper_fails_what_is_in_flight_and_what_follows(tmp_path: Path) -> None:
    async def main() -> None:
        c = await _ready(TxnLog(tmp_path, 0, prealloc_bytes=SMALL_PREALLOC))
        c.append(1, b"a")
        assert await c.commit() == 1
        pid = c.helper_pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        c.append(2, b"b")
        with pytest.raises(StorageError, match="fsync helper"):
            await asyncio.wait_for(c.commit(), 10)
        c.append(3, b"c")
        with pytest.raises(StorageError):
            await c.commit()
        await c.aclose()
        assert _gone(pid)

    asyncio.run(main())


def test_helper_ignores_group_signals_and_exits_with_the_committer(tmp_path: Path) -> None:
    async def main() -> None:
        c = await _ready(TxnLog(tmp_path, 0, prealloc_bytes=SMALL_PREALLOC))
        pid = c.helper_pid
        assert pid is not None
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            os.kill(pid, sig)  # a Ctrl-C or a group signal is for the server
        await asyncio.sleep(0.1)
        c.append(1, b"a")
        assert await c.commit() == 1
        await c.aclose()
        assert _gone(pid)

    asyncio.run(main())


@pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="Linux scheduling policy")
def test_helper_runs_as_batch_work(tmp_path: Path) -> None:
    """Its wake-ups must not preempt the event loop (fsyncd.main)."""
    async def main() -> None:
        c = await _ready(TxnLog(tmp_path, prealloc_bytes=SMALL_PREALLOC))
        assert c.helper_pid is not None
        assert os.sched_getscheduler(c.helper_pid) == os.SCHED_BATCH
        assert os.sched_getscheduler(0) != os.SCHED_BATCH  # the server itself is untouched
        await c.aclose()

    asyncio.run(main())


def test_a_helper_that_cannot_start_leaves_syncing_on_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))

    async def main() -> None:
        c = make_committer(TxnLog(tmp_path, 0, prealloc_bytes=SMALL_PREALLOC))
        assert isinstance(c, ProcessCommitter)
        for z in range(1, 4):
            c.append(z, b"x")
            assert await c.commit() == z
        assert c.helper_pid is None and not c.helper_ready
        await c.aclose()

    asyncio.run(main())
    assert "cannot start the fsync helper" in caplog.text
    assert [z for z, _ in read_all(tmp_path)] == [1, 2, 3]


def test_helper_exits_when_its_server_is_killed(tmp_path: Path) -> None:
    """SIGKILL of the writer alone (not its group): the helper sees end of stream."""
    p = subprocess.Popen(
        [sys.executable, "-m", "tests.storage.crash_writer", str(tmp_path), "process"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    helper = None
    try:
        deadline = time.monotonic() + 30
        while helper is None:
            assert time.monotonic() < deadline, "the writer never started its fsync helper"
            time.sleep(0.05)
            kids = []
            for task in os.listdir(f"/proc/{p.pid}/task"):
                with open(f"/proc/{p.pid}/task/{task}/children") as f:
                    kids += [int(x) for x in f.read().split()]
            for k in kids:
                try:
                    with open(f"/proc/{k}/cmdline", "rb") as f:
                        if b"fsyncd.py" in f.read():
                            helper = k
                except FileNotFoundError:
                    pass
        p.kill()
        p.wait(10)
        _wait_gone(helper)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)
        if helper is not None and not _gone(helper):
            os.kill(helper, signal.SIGKILL)


def test_helper_protocol_answers_each_request_in_turn(tmp_path: Path) -> None:
    """Requests that queue up (one per new segment, at most) are answered in order."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    seg = os.open(tmp_path / "seg", os.O_RDWR | os.O_CREAT, 0o644)
    proc = subprocess.Popen([sys.executable, "-I", "-S", fsyncd.__file__, str(theirs.fileno())],
                            pass_fds=(theirs.fileno(),))
    theirs.close()
    try:
        ours.settimeout(10)
        assert ours.recv(12) == bytes(12)               # ready
        socket.send_fds(ours, [(1).to_bytes(8, "big")], [seg])
        for seq in (2, 3, 4):
            ours.send(seq.to_bytes(8, "big"))
        replies = [ours.recv(12) for _ in range(4)]
        assert [int.from_bytes(r[:8], "big") for r in replies] == [1, 2, 3, 4]
        assert all(r[8:] == bytes(4) for r in replies)  # no errors
    finally:
        ours.close()
        proc.wait(10)
        os.close(seg)
    assert proc.returncode == 0


def test_on_done_runs_in_commit_order_when_an_inline_batch_overtakes(tmp_path: Path) -> None:
    """A batch synced inline while the previous batch's future is resolved but its
    callback has not run yet must not be answered first (replies would leave out of
    order: the C client drops the connection)."""
    order: list[str] = []

    async def main() -> None:
        c = await _ready(TxnLog(tmp_path, 0, prealloc_bytes=SMALL_PREALLOC))
        real = c._resolve_through

        def resolve_then_commit_inline(seq: int) -> None:
            real(seq)  # b1's future is done; its on_done is only scheduled
            c.commit_batch([(2, b"b2")], lambda e: order.append("b2"), inline=True)

        c._resolve_through = resolve_then_commit_inline  # type: ignore[method-assign]
        c.commit_batch([(1, b"b1")], lambda e: order.append("b1"))
        for _ in range(500):
            if len(order) == 2:
                break
            await asyncio.sleep(0.01)
        await c.aclose()

    asyncio.run(main())
    assert order == ["b1", "b2"]
    assert [z for z, _ in read_all(tmp_path)] == [1, 2]


def test_force_sync_off_never_starts_the_helper(tmp_path: Path) -> None:
    """forceSync=no: nothing to fdatasync, so no helper process; writes still land."""
    async def main() -> None:
        c = make_committer(TxnLog(tmp_path, 0, prealloc_bytes=SMALL_PREALLOC, force_sync=False))
        assert isinstance(c, ProcessCommitter)
        for z in range(1, 6):
            c.append(z, b"x")
            assert await c.commit() == z  # not inline: would start the helper if it synced
        assert c.helper_pid is None
        await c.aclose()

    asyncio.run(main())
    assert [z for z, _ in read_all(tmp_path)] == [1, 2, 3, 4, 5]


def test_a_failed_write_behind_unrequested_batches_still_resolves(tmp_path: Path) -> None:
    """b2 is written while b1's fdatasync is in flight (not yet requested), then b3's write
    fails: b2 must still be synced and answered, and then b3 fails. (It used to wait
    forever, and a member on a full disk never stopped.)"""
    log = _disk_full_from(TxnLog(tmp_path, 0, prealloc_bytes=SMALL_PREALLOC), 3)

    async def main() -> None:
        c = await _ready(log)
        c.append(1, b"a")
        f1 = c.commit()              # requested
        c.append(2, b"b")
        f2 = c.commit()              # written; its request waits for f1's reply
        c.append(3, b"c")
        f3 = c.commit()              # fails, behind f2
        assert await asyncio.wait_for(f1, 10) == 1
        assert await asyncio.wait_for(f2, 10) == 2
        with pytest.raises(StorageError, match="No space"):
            await asyncio.wait_for(f3, 10)
        await c.aclose()

    asyncio.run(main())
    assert [z for z, _ in read_all(tmp_path)] == [1, 2]
