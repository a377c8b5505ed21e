"""Data dir layout: `<dir>/version-2/log.<zxid hex>` and `snapshot.<zxid hex>`.

Names as ZooKeeper's (reference section 13): a log file is named after the FIRST zxid
it holds, a snapshot after the LAST zxid applied to the tree it holds.
"""

from __future__ import annotations

import os
from pathlib import Path

VERSION_DIR = "version-2"
LOG_PREFIX = "log."
SNAP_PREFIX = "snapshot."
TMP_SUFFIX = ".tmp"


def version_dir(base: str | os.PathLike[str]) -> Path:
    """`base/version-2`, or `base` itself when it already is a version-2 dir."""
    p = Path(base)
    return p if p.name == VERSION_DIR else p / VERSION_DIR


def zxid_of(name: str, prefix: str) -> int | None:
    """The zxid in a file name such as `log.1a`, or None when the name is not ours."""
    if not name.startswith(prefix) or name.endswith(TMP_SUFFIX):
        return None
    try:
        return int(name[len(prefix):], 16)
    except ValueError:
        return None


def _list(d: Path, prefix: str) -> list[tuple[int, Path]]:
    if not d.is_dir():
        return []
    out = []
    for entry in os.scandir(d):
        z = zxid_of(entry.name, prefix)
        if z is not None and entry.is_file():
            out.append((z, Path(entry.path)))
    out.sort()
    return out


def list_logs(log_dir: str | os.PathLike[str]) -> list[tuple[int, Path]]:
    """(first zxid, path) of every log segment, oldest first."""
    return _list(version_dir(log_dir), LOG_PREFIX)


def list_snapshots(data_dir: str | os.PathLike[str]) -> list[tuple[int, Path]]:
    """(last zxid, path) of every snapshot file, oldest first (validity not checked)."""
    return _list(version_dir(data_dir), SNAP_PREFIX)


def log_name(first_zxid: int) -> str:
    return f"{LOG_PREFIX}{first_zxid:x}"


def snap_name(last_zxid: int) -> str:
    return f"{SNAP_PREFIX}{last_zxid:x}"


def fsync_dir(d: str | os.PathLike[str]) -> None:
    """Make a create/rename/unlink in directory `d` durable."""
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def follows(prev: int, nxt: int) -> bool:
    """True when `nxt` may follow `prev` in a history without a gap.

    zxid = epoch << 32 | counter. Within an epoch every zxid is logged (a failing command
    still consumes its zxid), so the counter must go up by exactly one; a new epoch may
    start anywhere above the previous one (a new leader starts at epoch << 32 | 1).
    """
    if nxt >> 32 == prev >> 32:
        return nxt == prev + 1
    return nxt >> 32 > prev >> 32


def ensure_dir(d: Path) -> None:
    """mkdir -p `d`, making every newly created entry durable (fsync of its parent)."""
    missing = []
    p = d
    while not p.exists():
        missing.append(p)
        p = p.parent
    for m in reversed(missing):
        try:
            m.mkdir()
        except FileExistsError:
            pass
        fsync_dir(m.parent)
