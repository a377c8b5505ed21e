"""Group commit for the asyncio runtime: append per request, one fdatasync per batch.

Interface (every implementation, loop thread only)::

    c.append(zxid, payload)        # buffer one record (cheap: encode + bytearray +=)
    fut = c.commit()               # once per loop turn: Future[int] -> durable zxid
    c.roll()                       # next batch starts a new segment (snapshot time)
    await c.aclose()

`commit()` covers every record appended before it. The future resolves with the last
durable zxid, or fails with StorageError; after a failure the committer is stuck (every
later commit fails at once) because zxids after the failed batch cannot be written
without a gap: the runtime must stop taking writes and restart the member (recovery
then reads exactly what is durable). Never acknowledge a write before its future is done.

Three strategies:

* ProcessCommitter (default): the loop writes the batch (into the page cache) and a
  helper process (fsyncd.py) fdatasyncs it; the reply arrives as a readable socket.
* ThreadCommitter: a dedicated fsync thread, woken directly through a
  threading.Condition (no executor round trip), writes and fdatasyncs the batch and
  resolves the futures with loop.call_soon_threadsafe.
* InlineCommitter: write + fdatasync right on the loop thread inside commit(); the loop
  is blocked for the fsync, so reads wait behind it.

With the helper and the thread the loop keeps answering reads and buffering the next
batch while a batch syncs, and batches pile up into one fsync under load. Measured with
tests/bench/bench_txnlog.py on the dev VM (2 vCPU shared with other work, ext4 on a
virtio disk where fdatasync takes ~0.15 ms, uvloop, 100-byte records, N closed-loop
writers each waiting for durability, plus a timer every 1 ms whose lateness is what a
read would wait):

    python -m tests.bench.bench_txnlog --seconds 3 --uvloop --writers 1 8 64 256

    writers strategy  writes/s  write p50/p99 ms  read rtt p50/p99 ms
      1     inline       7024     0.12 / 0.31       0.10 / 0.34
      1     thread       3646     0.25 / 0.51       0.04 / 0.24
      1     process      3746     0.25 / 0.57       0.02 / 0.24
      8     inline      41867     0.17 / 0.39       0.14 / 0.48
      8     thread      26348     0.28 / 0.57       0.03 / 0.20
      8     process     27743     0.27 / 0.56       0.02 / 0.21
    256     inline     225271     1.14 / 1.77       1.16 / 2.19
    256     thread     194861     1.34 / 2.11       0.13 / 1.03
    256     process    202727     1.26 / 2.27       0.13 / 1.00

Inline blocks every read queued behind an fdatasync (read p99 2-5x higher under write
load, and proportionally worse on disks where fsync takes 1-10 ms); the other two keep
reads flowing at the cost of two wake-ups per batch, which shows only when few writes
are outstanding. That micro-benchmark does almost no Python work per write, so thread
and process tie there. In the real server they do not: the loop thread is busy with
Python, and every GIL hand-over to and from the fsync thread (after its wake-up, its
pwrite and its fdatasync) makes the loop give up the GIL and wait to be scheduled back.
zkload set 8x32 against `zkpy server`, the two alternated five times (medians):
thread 58.9k writes/s at 16.4 us server CPU per write, process 63.1k at 13.4 us (the
helper itself uses ~12% of a core). So the helper is the default; the thread and inline
strategies stay for comparison (make_committer(strategy=...), bench_txnlog.py).

The member asks for an inline sync of a lone write when nothing else waits
(commit(inline=True): one write, no read since the last batch, nothing in flight),
which gives a single synchronous writer inline's latency without the stall for anyone
else. (The DESIGN.md probe that favoured inline compared against a thread-POOL round
trip, ~150 us, not a dedicated thread woken through a Condition.)
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import StorageError
from .logformat import encode_record, encode_records
from .txnlog import TxnLog, WriteMark, check_order

log = logging.getLogger("zkpy.storage")

_FSYNCD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fsyncd.py")


@dataclass(slots=True)
class _Batch:
    data: bytearray
    first: int
    last: int
    roll: bool
    futures: list[asyncio.Future[int]] = field(default_factory=list)


class _Base:
    def __init__(self, log: TxnLog, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.log = log
        self.loop = loop or asyncio.get_running_loop()
        self.last_zxid = log.last_zxid
        self._buf = bytearray()
        self._first = 0
        self._roll = False
        self._failed: StorageError | None = None
        self.batches = 0  # fsyncs done (for metrics)
        self.records = 0
        self.logged_bytes = 0  # bytes of records appended, headers included (snapSizeLimit)
        self._unanswered = 0  # commit_batch calls whose on_done has not run yet

    def append(self, zxid: int, payload: bytes) -> None:
        check_order(self.last_zxid, zxid)
        if not self._buf:
            self._first = zxid
        rec = encode_record(zxid, payload)
        self._buf += rec
        self.logged_bytes += len(rec)
        self.last_zxid = zxid
        self.records += 1

    def roll(self) -> None:
        self._roll = True

    def commit_batch(
        self, payloads: list[tuple[int, bytes]], on_done: Callable[[StorageError | None], None],
        inline: bool = False,
    ) -> None:
        """append() each (zxid, payload), commit(), then on_done(None | error) on the loop,
        in commit order: before returning if the batch was synced inline and no earlier
        on_done is pending, else once it is durable.
        ``inline``: the caller sees no other work waiting (see ThreadCommitter.commit)."""
        prev = self.last_zxid
        try:  # check the whole batch first: a refused batch must leave nothing buffered
            for zxid, _ in payloads:
                if zxid != prev + 1:  # +1 always follows; anything else is checked
                    check_order(prev, zxid)
                prev = zxid
        except ValueError as e:  # out-of-order zxid: a caller bug, never acknowledge
            err = StorageError("append to txn log", str(self.log.dir), OSError(0, str(e)))
            self.loop.call_soon(on_done, err)
            return
        if payloads:
            if not self._buf:
                self._first = payloads[0][0]
            size = len(self._buf)
            encode_records(self._buf, payloads)
            self.logged_bytes += len(self._buf) - size
            self.last_zxid = prev
            self.records += len(payloads)
        fut = self.commit(inline)  # type: ignore[attr-defined]

        def done(f: asyncio.Future[int]) -> None:
            self._unanswered -= 1
            exc = f.exception()
            on_done(exc if isinstance(exc, StorageError) else None)

        self._unanswered += 1
        if fut.done() and self._unanswered == 1:
            done(fut)  # synced inline, nothing before it unanswered: now, not a turn later
        else:
            # Future callbacks run in the order futures resolved: batches stay in order
            # even when an earlier batch's future is resolved but its callback not yet run.
            fut.add_done_callback(done)

    def _take(self) -> _Batch | None:
        if not self._buf:
            return None
        b = _Batch(self._buf, self._first, self.last_zxid, self._roll)
        self._buf = bytearray()
        self._roll = False
        return b

    def _write_here(self, batch: _Batch) -> asyncio.Future[int]:
        try:
            if batch.roll:
                self.log.roll()
            self.log.write_batch(batch.data, batch.first, batch.last)
        except StorageError as e:
            self._failed = e
            return self._done_future(None, e)
        self.batches += 1
        return self._done_future(self.log.durable_zxid, None)

    def _done_future(self, result: int | None, exc: BaseException | None) -> asyncio.Future[int]:
        fut: asyncio.Future[int] = self.loop.create_future()
        if exc is not None:
            fut.set_exception(exc)
        else:
            assert result is not None
            fut.set_result(result)
        return fut

    @property
    def failed(self) -> StorageError | None:
        return self._failed


class InlineCommitter(_Base):
    """write + fdatasync on the calling (loop) thread inside commit()."""

    def commit(self, inline: bool = True) -> asyncio.Future[int]:
        if self._failed is not None:
            return self._done_future(None, self._failed)
        batch = self._take()
        if batch is None:
            return self._done_future(self.log.durable_zxid, None)
        return self._write_here(batch)

    async def aclose(self) -> None:
        self.log.close()


class ThreadCommitter(_Base):
    """A dedicated fsync thread woken through a Condition; results via call_soon_threadsafe."""

    def __init__(self, log: TxnLog, loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(log, loop)
        self._cv = threading.Condition(threading.Lock())
        self._queue: deque[_Batch] = deque()
        self._stop = False
        self._durable = log.durable_zxid
        self._handed = log.durable_zxid  # last zxid given to the thread
        self._waiters: list[tuple[int, asyncio.Future[int]]] = []
        self._thread = threading.Thread(target=self._run, name="zkpy-fsync", daemon=True)
        self._thread.start()

    def commit(self, inline: bool = False) -> asyncio.Future[int]:
        """Hand the buffered records to the fsync thread; with ``inline`` (the caller has
        nothing else to do meanwhile) and the thread idle, write and sync them right here
        instead: a lone synchronous writer then skips the two thread wake-ups (~25% more
        1x1 writes here), while under load batches keep going to the thread."""
        if self._failed is not None:
            return self._done_future(None, self._failed)
        batch = self._take()
        if batch is not None and inline and not self._queue and self._handed <= self._durable:
            # The thread is idle (every batch handed to it is resolved): the log is ours.
            done = self._write_here(batch)
            if self._failed is not None:
                self._fail_rest(self._failed)
            else:
                self._durable = self._handed = self.log.durable_zxid
            return done
        fut: asyncio.Future[int] = self.loop.create_future()
        if batch is None:
            if self._handed <= self._durable:
                fut.set_result(self._durable)
            else:  # records handed over earlier are still being synced
                self._waiters.append((self._handed, fut))
            return fut
        batch.futures.append(fut)
        self._handed = batch.last
        with self._cv:
            self._queue.append(batch)
            self._cv.notify()
        return fut

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._stop:
                    self._cv.wait()
                if not self._queue and self._stop:
                    return
                work = list(self._queue)
                self._queue.clear()
            for group in _merge(work):
                futures = [f for b in group for f in b.futures]
                exc: StorageError | None = None
                try:
                    if group[0].roll:
                        self.log.roll()
                    data = group[0].data if len(group) == 1 else b"".join(b.data for b in group)
                    self.log.write_batch(data, group[0].first, group[-1].last)
                    self.batches += 1
                except StorageError as e:
                    exc = e
                except BaseException as e:  # noqa: BLE001 - must never leave futures hanging
                    exc = StorageError("txn log thread", str(self.log.dir), OSError(0, repr(e)))
                self.loop.call_soon_threadsafe(self._resolve, futures, self.log.durable_zxid, exc)
                if exc is not None:
                    self._fail_rest(exc)
                    return

    def _fail_rest(self, exc: StorageError) -> None:
        with self._cv:
            rest = [f for b in self._queue for f in b.futures]
            self._queue.clear()
            self._stop = True
        self._failed = exc
        if rest:
            self.loop.call_soon_threadsafe(self._resolve, rest, 0, exc)

    def _resolve(
        self, futures: list[asyncio.Future[int]], durable: int, exc: StorageError | None
    ) -> None:
        if exc is not None:
            self._failed = exc
        else:
            self._durable = durable
        if self._waiters:
            keep = []
            for z, f in self._waiters:
                if exc is not None or z <= durable:
                    futures.append(f)
                else:
                    keep.append((z, f))
            self._waiters = keep
        for f in futures:
            if f.done():
                continue
            if exc is not None:
                f.set_exception(exc)
            else:
                f.set_result(durable)

    async def aclose(self) -> None:
        """Finish queued batches, stop the thread, close the log."""
        with self._cv:
            self._stop = True
            self._cv.notify()
        await asyncio.to_thread(self._thread.join)
        self.log.close()


class ProcessCommitter(_Base):
    """fdatasync in a helper process (fsyncd.py); the loop writes the batch itself.

    The loop pwrite()s each batch into the page cache (microseconds), asks the helper to
    fdatasync, and resolves the batch's futures when the helper's reply makes the socket
    readable. One request is outstanding at a time (a new one only when the segment
    changed), so batches that arrive during an fdatasync are covered by the next one.
    Batches resolve in order; a failed write fails after the batches written before it.

    The helper is started the first time a batch cannot be synced inline (see
    ThreadCommitter.commit: a lone write with nothing else waiting is written and synced
    right on the loop, which is quickest for it); until the helper says it is ready, and
    with forceSync=no, batches are written and synced on the loop. A helper that cannot
    be started leaves the committer syncing on the loop (with a warning); one that dies
    later makes it fail like a failed fdatasync (what it had in flight is not known to
    be durable).
    """

    def __init__(self, log: TxnLog, loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(log, loop)
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._ready = False
        self._spawn_failed = False
        self._seq = 0
        self._replied = 0        # last request seq the helper answered
        self._sent_generation = 0  # the segment whose descriptor the helper holds
        # Written batches in order: (request seq or 0 = not requested yet, mark, futures,
        # a write error to report in turn or None).
        self._pipeline: deque[tuple[int, WriteMark | None, list[asyncio.Future[int]],
                                    StorageError | None]] = deque()
        self._waiters: list[tuple[int, asyncio.Future[int]]] = []

    # -- the loop side -------------------------------------------------------------------
    def commit(self, inline: bool = False) -> asyncio.Future[int]:
        if self._failed is not None and not self._pipeline:
            return self._done_future(None, self._failed)
        batch = self._take()
        fut: asyncio.Future[int] = self.loop.create_future()
        if batch is None:
            if self._pipeline:
                self._waiters.append((self.last_zxid, fut))
            else:
                fut.set_result(self.log.durable_zxid)
            return fut
        if self._failed is not None:  # batches before the failure are still in flight
            self._pipeline.append((0, None, [fut], self._failed))
            return fut
        if not self._pipeline and (inline or not self._ready or not self.log.force_sync):
            if not inline and not self._ready and self.log.force_sync:
                self.start_helper()
            return self._write_here(batch)
        try:
            if batch.roll:
                self.log.roll()
            mark = self.log.write_unsynced(batch.data, batch.first, batch.last)
        except StorageError as e:
            self._failed = e
            if self._pipeline:
                self._pipeline.append((0, None, [fut], e))
            else:
                fut.set_exception(e)
            return fut
        self._pipeline.append((0, mark, [fut], None))
        if self._replied == self._seq or self.log.generation != self._sent_generation:
            self._request()
        return fut

    def _request(self) -> None:
        """Ask the helper to sync everything written so far."""
        assert self._sock is not None
        self._seq += 1
        anc = []
        if self.log.generation != self._sent_generation:
            # A new segment (its fd number may be the old one's): send the descriptor.
            fd = self.log.fd
            anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fd.to_bytes(4, sys.byteorder))]
            self._sent_generation = self.log.generation
        for i in range(len(self._pipeline) - 1, -1, -1):  # the not-yet-requested tail
            seq, mark, futures, exc = self._pipeline[i]
            if seq:
                break
            self._pipeline[i] = (self._seq, mark, futures, exc)
        try:
            self._sock.sendmsg([self._seq.to_bytes(8, "big")], anc)
        except OSError as e:
            self._helper_lost(f"cannot reach the fsync helper: {e}")

    def _on_readable(self) -> None:
        assert self._sock is not None
        try:
            msg = self._sock.recv(12)
        except BlockingIOError:
            return
        except OSError as e:
            msg = b""
            reason = f"fsync helper connection failed: {e}"
        else:
            reason = "the fsync helper exited"
        if len(msg) != 12:
            self._helper_lost(reason)
            return
        seq = int.from_bytes(msg[:8], "big")
        err = int.from_bytes(msg[8:], "big")
        if seq == 0:
            self._ready = True
            return
        if err:
            exc = StorageError("fdatasync txn log (log now unusable)", str(self.log.current_segment),
                               OSError(err, os.strerror(err)))
            self.log.poison(exc)
            self._fail_all(exc)
            return
        self._replied = seq
        self.batches += 1
        self._resolve_through(seq)
        for s, mark, _, _ in self._pipeline:
            if s == 0:  # batches written during that fdatasync (even if a later write
                if mark is not None:  # failed: they are written, and come before it)
                    self._request()
                break

    def _resolve_through(self, seq: int) -> None:
        done: list[asyncio.Future[int]] = []
        pipe = self._pipeline
        while pipe and pipe[0][3] is None and 0 < pipe[0][0] <= seq:
            _, mark, futures, _ = pipe.popleft()
            assert mark is not None
            self.log.mark_durable(mark)
            done += futures
        durable = self.log.durable_zxid
        for f in done:
            if not f.done():
                f.set_result(durable)
        while pipe and pipe[0][3] is not None:  # a write that failed after those
            _, _, futures, exc = pipe.popleft()
            for f in futures:
                if not f.done():
                    f.set_exception(exc)
        if self._waiters:
            keep = []
            for z, f in self._waiters:
                if self._failed is not None and not pipe:
                    f.set_exception(self._failed)
                elif z <= durable:
                    f.set_result(durable)
                else:
                    keep.append((z, f))
            self._waiters = keep

    def _fail_all(self, exc: StorageError) -> None:
        self._failed = exc
        futures = [f for _, _, fs, _ in self._pipeline for f in fs]
        futures += [f for _, f in self._waiters]
        self._pipeline.clear()
        self._waiters = []
        for f in futures:
            if not f.done():
                f.set_exception(exc)
        self._close_helper()

    def _helper_lost(self, reason: str) -> None:
        if not self._ready:  # it never came up: keep syncing on the loop
            log.warning("%s before it was ready; the txn log is synced on the event loop", reason)
            self._spawn_failed = True
            self._close_helper()
            return
        self._fail_all(StorageError("fsync helper", str(self.log.dir), OSError(0, reason)))

    # -- the helper process --------------------------------------------------------------
    def start_helper(self) -> None:
        """Start the helper now (commit() starts it when first needed)."""
        if self._proc is not None or self._spawn_failed:
            return
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", _FSYNCD, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL)
        except OSError as e:
            log.warning("cannot start the fsync helper (%s); the txn log is synced on the "
                        "event loop", e)
            self._spawn_failed = True
            ours.close()
            return
        finally:
            theirs.close()
        ours.setblocking(False)
        self._sock = ours
        self.loop.add_reader(ours.fileno(), self._on_readable)

    def _close_helper(self) -> None:
        """Close our end (the helper exits on end of stream) and reap it."""
        self._ready = False
        if self._sock is not None:
            self.loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    @property
    def helper_pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def helper_ready(self) -> bool:
        return self._ready

    async def aclose(self) -> None:
        """Wait for what is in flight, stop the helper, close the log."""
        pending = [f for _, _, fs, _ in self._pipeline for f in fs]
        if pending:
            await asyncio.wait(pending)
        self._close_helper()
        self.log.close()


def _merge(work: list[_Batch]) -> list[list[_Batch]]:
    """Consecutive batches become one write + one fsync unless a roll separates them."""
    groups: list[list[_Batch]] = []
    for b in work:
        if groups and not b.roll:
            groups[-1].append(b)
        else:
            groups.append([b])
    return groups


Committer = InlineCommitter | ThreadCommitter | ProcessCommitter


def make_committer(
    log: TxnLog, loop: asyncio.AbstractEventLoop | None = None, strategy: str = "process"
) -> Committer:
    """`strategy`: "process" (default, fsync in a helper process), "thread" (fsync on a
    dedicated thread) or "inline" (fsync on the loop)."""
    if strategy == "process":
        return ProcessCommitter(log, loop)
    if strategy == "thread":
        return ThreadCommitter(log, loop)
    if strategy == "inline":
        return InlineCommitter(log, loop)
    raise ValueError(f"unknown group commit strategy {strategy!r}")
