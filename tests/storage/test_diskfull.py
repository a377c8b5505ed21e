"""Disk full and read-only disk on a real small ext4 (loop mount; root only).

CI needs e2fsprogs (mkfs.ext4) and util-linux (mount, losetup) and must run as root
with loop devices available; otherwise these tests skip with the reason.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from zkpy.storage.errors import StorageError
from zkpy.storage.layout import list_snapshots
from zkpy.storage.logreader import LogReader
from zkpy.storage.recovery import recover
from zkpy.storage.snapshot import write_snapshot
from zkpy.storage.txnlog import TxnLog

from .conftest import run_cmd
from .test_recovery import restart
from .toy import Toy


def _ballast(d: Path, n_bytes: int) -> Path:
    p = d / "ballast"
    with p.open("wb") as f:
        f.write(os.urandom(n_bytes))
        f.flush()
        os.fsync(f.fileno())
    return p


def _payload(z: int) -> bytes:
    return b"%08d=" % z + bytes([z % 251]) * 1000


def test_disk_full_while_appending_loses_nothing_durable(small_ext4: Path) -> None:
    d = small_ext4 / "data"
    write_snapshot(d, Toy().image())
    ballast = _ballast(small_ext4, 1024 * 1024)
    log = TxnLog(d, 0, prealloc_bytes=128 * 1024)
    durable = 0
    z = 0
    err: StorageError | None = None
    for _ in range(10_000):
        for _ in range(17):
            z += 1
            log.append(z, _payload(z))
        try:
            durable = log.flush_and_sync()
        except StorageError as e:
            err = e
            break
        if z % (17 * 40) == 0:
            log.roll()
    assert err is not None, "the disk never filled"
    assert err.errno == errno.ENOSPC and "ENOSPC" in str(err)
    assert log.durable_zxid == durable < z
    # everything reported durable is on disk and the log reads back consistently
    got = [zz for zz, _ in LogReader(d)]
    assert got[: durable] == list(range(1, durable + 1))
    # free space, retry the very same batch: it becomes durable, nothing lost
    ballast.unlink()
    assert log.flush_and_sync() == z
    log.close()
    t = Toy()
    res = recover(d, load_snapshot=t.load, apply=lambda zz, p: None)
    assert res.last_zxid == z and res.truncations == []
    assert [zz for zz, _ in LogReader(d)] == list(range(1, z + 1))


def test_disk_full_discarded_batch_never_resurrects(small_ext4: Path) -> None:
    d = small_ext4 / "data"
    write_snapshot(d, Toy().image())
    ballast = _ballast(small_ext4, 1024 * 1024)
    log = TxnLog(d, 0, prealloc_bytes=64 * 1024)
    z = 0
    while True:
        for _ in range(9):
            z += 1
            log.append(z, _payload(z))
        try:
            log.flush_and_sync()
        except StorageError:
            break
    durable = log.durable_zxid
    ballast.unlink()
    log.discard_unsynced()  # the runtime told those writers they failed
    log.append(durable + 1, b"replacement")
    assert log.flush_and_sync() == durable + 1
    log.close()
    recs = list(LogReader(d))
    assert [zz for zz, _ in recs] == list(range(1, durable + 2))
    assert recs[-1][1] == b"replacement"


def test_snapshot_on_full_disk_fails_cleanly(small_ext4: Path) -> None:
    d = small_ext4 / "data"
    t = Toy()
    for z in range(1, 5000):
        t.apply(z, b"k%d=%s" % (z, b"v" * 2000))
    write_snapshot(d, Toy().image())
    with pytest.raises(StorageError, match="ENOSPC"):
        write_snapshot(d, t.image())
    assert [z for z, _ in list_snapshots(d)] == [0]
    assert list((d / "version-2").glob("*.tmp")) == []


def test_read_only_remount_refuses_writes_then_recovers(small_ext4: Path) -> None:
    d = small_ext4 / "data"
    live = Toy()
    write_snapshot(d, live.image())
    log = TxnLog(d, 0, prealloc_bytes=64 * 1024)
    for z in range(1, 11):
        log.append(z, b"k%d=v" % z)
        live.apply(z, b"k%d=v" % z)
    log.flush_and_sync()
    log.close()  # a member restarting: no file open for writing, so remount ro works
    r = run_cmd("mount", "-o", "remount,ro", str(small_ext4))
    assert r.returncode == 0, r.stderr
    t, res = restart(d)  # recovery only reads
    assert res.last_zxid == 10 and t.digest() == live.digest()
    log = TxnLog(d, 10, prealloc_bytes=64 * 1024)
    log.append(11, b"k11=v")
    with pytest.raises(StorageError) as ei:
        log.flush_and_sync()
    assert ei.value.errno == errno.EROFS and log.durable_zxid == 10
    with pytest.raises(StorageError, match="EROFS"):
        write_snapshot(d, t.image())
    assert run_cmd("mount", "-o", "remount,rw", str(small_ext4)).returncode == 0
    assert log.flush_and_sync() == 11  # same batch, retried once the disk is writable
    log.close()
    t2, res2 = restart(d)
    assert res2.last_zxid == 11 and t2.kv["/k11"] == b"v"
