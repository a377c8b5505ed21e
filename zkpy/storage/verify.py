"""Offline verification of a data dir: snapshot CRCs and digests, log CRCs and continuity,
and whether recovery could start (snapshot covered by the log). Changes nothing."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import CorruptHistoryError
from .layout import list_logs, list_snapshots
from .logreader import LogReader
from .recovery import recover
from .snapformat import SnapshotFormatError, SnapshotImage
from .snapshot import read_snapshot

OK, WARN, DAMAGE = "ok", "warn", "damage"


@dataclass(frozen=True, slots=True)
class Finding:
    level: str  # ok | warn | damage
    message: str

    def __str__(self) -> str:
        return f"{self.level.upper():6} {self.message}"


def state_digest_fn() -> Callable[[SnapshotImage], int | None] | None:
    """Recompute zkpy.state's digest for images zkpy.state produced (None for others)."""
    try:
        importlib.import_module("zkpy.state.digest")
    except ImportError:
        return None
    from .stateimage import image_digest, is_state_image

    def fn(image: SnapshotImage) -> int | None:
        return image_digest(image) if is_state_image(image) else None

    return fn


def verify(
    data_dir: str | os.PathLike[str],
    log_dir: str | os.PathLike[str] | None = None,
    digest_fn: Callable[[SnapshotImage], int | None] | None = None,
) -> list[Finding]:
    log_dir = data_dir if log_dir is None else log_dir
    out: list[Finding] = []
    snaps = list_snapshots(data_dir)
    logs = list_logs(log_dir)
    if not snaps and not logs:
        return [Finding(WARN, f"no snapshots and no txn logs under {Path(data_dir)}: empty")]
    for _, p in snaps:
        try:
            img = read_snapshot(p)
        except (OSError, SnapshotFormatError) as e:
            out.append(Finding(DAMAGE, f"{p}: invalid snapshot: {e}"))
            continue
        nodes = list(img.nodes)
        msg = f"{p}: zxid {img.zxid:#x}, {len(nodes)} nodes, {img.session_count} sessions"
        if img.digest is None:
            out.append(Finding(OK, msg + ", no digest recorded"))
        elif digest_fn is None:
            out.append(Finding(OK, msg + f", digest {img.digest:#x} (not recomputed: no digest function)"))
        else:
            img.nodes = nodes
            got = digest_fn(img)
            if got is None:
                out.append(Finding(OK, msg + f", digest {img.digest:#x} (not recomputed: "
                                   "not written by zkpy.state)"))
            elif got == img.digest:
                out.append(Finding(OK, msg + f", digest {img.digest:#x} verified"))
            else:
                out.append(Finding(DAMAGE, msg + f": digest {got:#x} != recorded {img.digest:#x}"))
    reader = LogReader(log_dir, 0, check_start=False)
    try:
        reader.run()
        if reader.last_zxid is None:
            out.append(Finding(OK, f"{len(logs)} log segment(s), no records"))
        else:
            out.append(
                Finding(
                    OK,
                    f"{len(reader.segments)} log segment(s), {reader.records_seen} records, "
                    f"CRCs and zxid continuity good up to {reader.last_zxid:#x}",
                )
            )
        for t in reader.truncations:
            out.append(Finding(WARN, f"{t} (recovery truncates it; nothing acknowledged is lost)"))
    except CorruptHistoryError as e:
        out.append(Finding(DAMAGE, f"txn log: {e}"))
    try:
        res = recover(data_dir, log_dir, load_snapshot=lambda _: None, apply=lambda z, p: None, repair=False)
    except CorruptHistoryError as e:
        out.append(Finding(DAMAGE, f"recovery would refuse: {e}"))
    else:
        out.append(Finding(OK, "recovery would succeed: " + res.summary()))
    return out
