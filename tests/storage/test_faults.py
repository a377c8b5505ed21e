"""Injected I/O faults (EIO on fsync, short and failing writes) and simulated power loss."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zkpy.storage import txnlog as txnlog_mod
from zkpy.storage.errors import StorageError
from zkpy.storage.layout import list_logs
from zkpy.storage.logreader import LogReader
from zkpy.storage.txnlog import TxnLog

from .conftest import SMALL_PREALLOC, payload


def test_failed_fdatasync_poisons_the_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = TxnLog(tmp_path, 0, prealloc_bytes=SMALL_PREALLOC)
    log.append(1, b"a")
    log.flush_and_sync()

    def eio(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(txnlog_mod.os, "fdatasync", eio)
    log.append(2, b"b")
    with pytest.raises(StorageError, match="EIO"):
        log.flush_and_sync()
    monkeypatch.undo()
    assert log.durable_zxid == 1
    with pytest.raises(StorageError, match="unusable"):  # a later fsync could lie: never retry
        log.flush_and_sync()
    log.close()


def test_short_then_failing_write_is_retried_or_discarded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = TxnLog(tmp_path, 0, prealloc_bytes=SMALL_PREALLOC)
    log.append(1, b"a")
    log.flush_and_sync()
    real = os.pwrite
    calls = {"n": 0}

    def flaky(fd: int, data: bytes, off: int) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            return real(fd, bytes(data)[: len(data) // 2], off)  # short write
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(txnlog_mod.os, "pwrite", flaky)
    for z in (2, 3):
        log.append(z, payload(z))
    with pytest.raises(StorageError, match="ENOSPC"):
        log.flush_and_sync()
    monkeypatch.undo()
    assert log.durable_zxid == 1
    # half a batch sits on disk unsynced; a crash now is a torn tail
    assert [z for z, _ in LogReader(tmp_path)] == [1]
    log.discard_unsynced()  # the writers were told they failed: zero it out
    seg = log.current_segment
    assert seg is not None
    log.close()
    r = LogReader(tmp_path)
    assert [z for z, _ in r] == [1] and r.truncations == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    batches=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=8),
    keep=st.floats(min_value=0.0, max_value=1.0),
    tail=st.sampled_from(["zeros", "garbage", "cut"]),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_power_loss_keeps_every_synced_record(
    tmp_path: Path, batches: list[int], keep: float, tail: str, seed: int
) -> None:
    """Crash = the file as of the last fdatasync + part of the next batch (cut, zeros or
    garbage where the rest would be). Recovery must return every synced record and only
    records that were appended, in order."""
    d = tmp_path / f"h{seed}"
    log = TxnLog(d, 0, prealloc_bytes=SMALL_PREALLOC)
    z = 0
    for n in batches[:-1]:
        for _ in range(n):
            z += 1
            log.append(z, payload(z))
        log.flush_and_sync()
    synced = z
    durable_bytes = list_logs(d)[0][1].read_bytes() if synced else b""
    for _ in range(batches[-1]):
        z += 1
        log.append(z, payload(z))
    log.flush_and_sync()
    log.close()
    (_, seg), = list_logs(d)
    full = seg.read_bytes()
    used = len(full.rstrip(b"\0"))
    durable_used = len(durable_bytes.rstrip(b"\0")) if synced else 16
    cut = durable_used + int((used - durable_used) * keep)
    rng = __import__("random").Random(seed)
    rest = len(full) - cut
    if tail == "zeros":
        crashed = full[:cut] + bytes(rest)
    elif tail == "garbage":
        g = min(rest, rng.randint(1, 64))
        crashed = full[:cut] + bytes(rng.randrange(1, 256) for _ in range(g)) + bytes(rest - g)
    else:
        crashed = full[:cut]
    seg.write_bytes(crashed)
    got = [zz for zz, _ in LogReader(d)]
    assert got[:synced] == list(range(1, synced + 1))
    assert got == list(range(1, len(got) + 1)) and len(got) <= z
    shutil.rmtree(d)
