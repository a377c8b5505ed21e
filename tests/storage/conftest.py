from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import unavailable
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


IMG_BYTES = 8 * 1024 * 1024


def run_cmd(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


@pytest.fixture
def small_ext4(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        unavailable("needs root to mount a loop ext4 image")
    if shutil.which("mkfs.ext4") is None or shutil.which("mount") is None:
        unavailable("needs mkfs.ext4 (e2fsprogs) and mount (util-linux)")
    img = tmp_path / "disk.img"
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    with img.open("wb") as f:
        f.truncate(IMG_BYTES)
    r = run_cmd("mkfs.ext4", "-q", "-F", str(img))
    if r.returncode != 0:
        unavailable(f"mkfs.ext4 failed: {r.stderr.strip()}")
    r = run_cmd("mount", "-o", "loop", str(img), str(mnt))
    if r.returncode != 0:
        unavailable(f"cannot loop-mount (no loop devices?): {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        run_cmd("mount", "-o", "remount,rw", str(mnt))
        r = run_cmd("umount", str(mnt))
        if r.returncode != 0:
            run_cmd("umount", "-l", str(mnt))
        img.unlink(missing_ok=True)
