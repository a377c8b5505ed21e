"""The txn log writer: append-only segments, preallocated, one fdatasync per batch.

Single-threaded object: either the event loop thread (inline group commit) or the
dedicated fsync thread (threaded group commit) calls `write_batch`; the process committer
splits it: the loop calls `write_unsynced`, the fsync helper process fdatasyncs the
segment, and the loop calls `mark_durable`; see committer.py.

Failure rules (never report durable what is not):

* a failed write (ENOSPC, EROFS, EIO at write/fallocate/open) raises StorageError; the
  durable end does not move and the batch is not durable. The same batch may be retried
  (`write_batch` again: it rewrites from the durable end) or given up with
  `discard_unsynced()`, which zero-fills what the failed attempt may have left on disk so a
  later crash cannot resurrect records whose writers were told they failed.
* a failed fdatasync poisons the log: after a failed fsync the kernel may have dropped the
  dirty pages and a later fsync can report success for data that is gone ("fsyncgate"),
  so every later call raises and the member must restart and recover from disk.
* force_sync=False skips fdatasync (zoo.cfg forceSync=no) and logs a loud warning at
  open: acknowledged writes can then be lost on power failure or kernel crash.
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path
from typing import NamedTuple

from .errors import StorageError
from .layout import TMP_SUFFIX, ensure_dir, follows, fsync_dir, log_name, version_dir
from .logformat import encode_record, file_header

log = logging.getLogger("zkpy.storage.txnlog")

DEFAULT_PREALLOC_BYTES = 64 * 1024 * 1024  # ZooKeeper preAllocSize default (65536 KB)
_PREALLOC_SLACK_BYTES = 4096  # extend when a batch would come within 4 KiB of the end


class WriteMark(NamedTuple):
    """Where a batch written without fdatasync ends: its segment and offset, its last zxid."""

    generation: int
    end: int
    last_zxid: int


class TxnLog:
    """Appends records to `log.<first zxid hex>` segments in `<log_dir>/version-2/`.

    Every open starts a new segment at the first append (as ZooKeeper does), so an old
    segment is never written again once recovery has read (and, if torn, truncated) it.
    """

    def __init__(
        self,
        log_dir: str | os.PathLike[str],
        last_zxid: int = 0,
        *,
        prealloc_bytes: int = DEFAULT_PREALLOC_BYTES,
        segment_max_bytes: int = 0,
        force_sync: bool = True,
    ) -> None:
        self.dir = version_dir(log_dir)
        self.prealloc_bytes = prealloc_bytes
        self.segment_max_bytes = segment_max_bytes  # 0: roll only when asked (snapshot)
        self.force_sync = force_sync
        self.last_zxid = last_zxid  # last zxid appended (buffered or written)
        self.durable_zxid = last_zxid  # last zxid known to be on disk (fdatasync returned)
        self._pending = bytearray()
        self._pending_first = 0
        self._fd = -1
        self._path: Path | None = None
        self._durable_end = 0  # file offset after the last durable record
        self._end = 0  # file offset after the last record written (durable or not)
        self._written_end = 0  # furthest offset a (possibly failed) write reached
        self._generation = 0  # +1 per segment opened (tells a WriteMark's segment)
        self._alloc_end = 0  # file size after preallocation
        self._roll_requested = False
        self._poisoned: StorageError | None = None
        try:
            ensure_dir(self.dir)
        except OSError as e:
            raise StorageError("create log dir", str(self.dir), e) from e
        if not force_sync:
            log.warning(
                "forceSync=no: the txn log is NOT fsynced; acknowledged writes can be lost on "
                "power failure or kernel crash (%s)", self.dir
            )

    # -- single-threaded convenience API -------------------------------------------------
    def append(self, zxid: int, payload: bytes) -> None:
        """Buffer one record; nothing is written until flush_and_sync()."""
        check_order(self.last_zxid, zxid)
        if not self._pending:
            self._pending_first = zxid
        self._pending += encode_record(zxid, payload)
        self.last_zxid = zxid

    def flush_and_sync(self) -> int:
        """Write and fdatasync everything appended; returns the durable zxid."""
        if self._pending:
            self.write_batch(self._pending, self._pending_first, self.last_zxid)
            self._pending = bytearray()
        return self.durable_zxid

    def roll(self) -> None:
        """The next batch starts a new segment (called at snapshot time)."""
        self._roll_requested = True

    # -- the batch primitive (used by both committers) -----------------------------------
    def write_batch(self, data: bytes | bytearray, first_zxid: int, last_zxid: int) -> None:
        """Write encoded records [first_zxid..last_zxid] and make them durable, or raise."""
        if not data:
            if self._poisoned is not None:
                raise self._poisoned
            return
        mark = self.write_unsynced(data, first_zxid, last_zxid)
        self._sync()
        self.mark_durable(mark)

    def write_unsynced(self, data: bytes | bytearray, first_zxid: int,
                       last_zxid: int) -> WriteMark:
        """Write encoded records after the last ones written, without fdatasync; the
        caller makes them durable (an fdatasync of `fd`) and then calls mark_durable."""
        if self._poisoned is not None:
            raise self._poisoned
        if self._fd < 0 or self._roll_requested or (
            self.segment_max_bytes and self._end >= self.segment_max_bytes
        ):
            self._open_segment(first_zxid)
        assert self._path is not None
        start = self._end
        end = start + len(data)
        if end + _PREALLOC_SLACK_BYTES > self._alloc_end:
            self._preallocate(end + _PREALLOC_SLACK_BYTES)
        self._write_all(data, start)
        self._end = end
        if self.last_zxid < last_zxid:
            self.last_zxid = last_zxid
        return WriteMark(self._generation, end, last_zxid)

    def mark_durable(self, mark: WriteMark) -> None:
        """Records up to ``mark`` are on disk (their segment was fdatasynced)."""
        if mark.generation == self._generation and mark.end > self._durable_end:
            self._durable_end = mark.end
        if mark.last_zxid > self.durable_zxid:
            self.durable_zxid = mark.last_zxid

    def poison(self, err: StorageError) -> None:
        """An fdatasync of this log failed elsewhere (the fsync helper): refuse all use."""
        self._poisoned = err

    @property
    def fd(self) -> int:
        """The open segment's descriptor (-1 before the first write)."""
        return self._fd

    @property
    def generation(self) -> int:
        """+1 per segment opened: tells segments apart (a new one may reuse the fd number)."""
        return self._generation

    def discard_unsynced(self) -> None:
        """Give up a failed batch: zero what it may have written, forget buffered records."""
        self._pending = bytearray()
        self.last_zxid = self.durable_zxid
        if self._fd >= 0 and self._written_end > self._durable_end:
            zeros = bytes(self._written_end - self._durable_end)
            self._write_all(zeros, self._durable_end)
            self._sync()
            self._written_end = self._durable_end
        self._end = self._durable_end

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    @property
    def current_segment(self) -> Path | None:
        return self._path

    # -- internals -----------------------------------------------------------------------
    def _open_segment(self, first_zxid: int) -> None:
        """Create log.<first_zxid> durably: tmp file, header, preallocate, fsync, rename."""
        self.close()
        path = self.dir / log_name(first_zxid)
        tmp = path.with_name(path.name + TMP_SUFFIX)
        try:
            fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as e:
            raise StorageError("create log segment", str(tmp), e) from e
        try:
            header = file_header()
            self._fd, self._path = fd, tmp
            self._alloc_end = 0
            self._write_all(header, 0)
            self._preallocate(len(header) + _PREALLOC_SLACK_BYTES)
            self._sync(always=True)
            os.replace(tmp, path)
            fsync_dir(self.dir)
        except OSError as e:
            os.close(fd)
            self._fd, self._path = -1, None
            try:
                os.unlink(tmp)
            except OSError:
                pass
            if isinstance(e, StorageError):
                raise
            raise StorageError("create log segment", str(path), e) from e
        self._path = path
        self._durable_end = self._end = self._written_end = len(header)
        self._generation += 1
        self._roll_requested = False

    def _preallocate(self, need: int) -> None:
        new_end = max(self._alloc_end, 0) + self.prealloc_bytes
        while new_end < need:
            new_end += self.prealloc_bytes
        try:
            os.posix_fallocate(self._fd, 0, new_end)
        except OSError as e:
            if e.errno in (errno.EOPNOTSUPP, errno.EINVAL):
                os.ftruncate(self._fd, new_end)  # sparse; still reads back as zeros
            else:
                raise StorageError("preallocate log segment", str(self._path), e) from e
        self._alloc_end = new_end

    def _write_all(self, data: bytes | bytearray, offset: int) -> None:
        view = memoryview(data)
        done = 0
        try:
            while done < len(view):
                try:
                    n = os.pwrite(self._fd, view[done:], offset + done)
                except OSError as e:
                    raise StorageError("write txn log", str(self._path), e) from e
                if n <= 0:
                    raise StorageError(
                        "write txn log", str(self._path), OSError(errno.EIO, "short write")
                    )
                done += n
                self._written_end = max(self._written_end, offset + done)
        finally:
            view.release()

    def _sync(self, always: bool = False) -> None:
        if not (self.force_sync or always):
            return
        try:
            os.fdatasync(self._fd)
        except OSError as e:
            self._poisoned = StorageError("fdatasync txn log (log now unusable)", str(self._path), e)
            raise self._poisoned from e


def check_order(prev: int, zxid: int) -> None:
    """Appends must continue the history without a gap (what the reader checks)."""
    if not follows(prev, zxid):
        raise ValueError(f"zxid {zxid:#x} cannot follow {prev:#x} in the txn log")
