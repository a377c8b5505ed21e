from __future__ import annotations

from pathlib import Path

from zkpy.storage.logreader import LogReader
from zkpy.storage.txnlog import TxnLog

SMALL_PREALLOC = 4096


def payload(z: int) -> bytes:
    return f"cmd-{z}-".encode() * (1 + z % 3)


def write_log(d: Path, zxids: list[list[int]], last: int = 0, **kw: object) -> TxnLog:
    """One batch per inner list; returns the (closed) log."""
    log = TxnLog(d, last, prealloc_bytes=SMALL_PREALLOC, **kw)  # type: ignore[arg-type]
    for batch in zxids:
        for z in batch:
            log.append(z, payload(z))
        log.flush_and_sync()
    log.close()
    return log


def read_all(d: Path, after: int = 0) -> list[tuple[int, bytes]]:
    return list(LogReader(d, after))
