"""Bridge between zkpy.state's StateMachine and snapshot images / log replay.

    image = snapshot_image(sm)                       # in the forked child (SnapshotTaker)
    loader = StateLoader(config)                     # at startup
    result = recover(data_dir, log_dir, load_snapshot=loader.load, apply=loader.apply,
                     initial_image=loader.initial_image, tree_digest=loader.digest)
    sm = loader.sm

The state's SnapshotNode / SnapshotHeader map onto SnapNode / SnapshotImage field by
field (StatPersisted as the state persists it: cversion is its create count, the
ephemeralOwner its internal owner incl. container/TTL markers); `next_session_id`
travels in the image's `extra` bytes. zkpy.state is imported lazily so the storage
package works (and its offline tools run) without it.
"""

from __future__ import annotations

import asyncio
import os
import random
import struct
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .engine import Storage
from .recovery import RecoveryResult
from .snapformat import SnapNode, SnapshotImage

if TYPE_CHECKING:
    from zkpy.state.machine import StateMachine
    from zkpy.state.types import StateConfig

# extra = producer tag (says whose digest algorithm the image's digest is) + fields
STATE_TAG = b"zkpy.state/1:"
_EXTRA = struct.Struct(">Bq")  # has next_session_id, next_session_id


def _encode_extra(next_sid: int | None) -> bytes:
    return STATE_TAG + (_EXTRA.pack(0, 0) if next_sid is None else _EXTRA.pack(1, next_sid))


def is_state_image(image: SnapshotImage) -> bool:
    """True when the image was made by snapshot_image() (digest = zkpy.state's)."""
    return image.extra.startswith(STATE_TAG)


def _decode_extra(extra: bytes) -> int | None:
    body = extra[len(STATE_TAG):]
    if not extra.startswith(STATE_TAG) or len(body) != _EXTRA.size:
        return None
    has, sid = _EXTRA.unpack(body)
    return sid if has else None


def _snap_nodes(sm: StateMachine) -> Iterator[SnapNode]:
    # A state row has SnapNode's layout (see state_from_image).
    for row in sm.snapshot_rows():
        yield SnapNode(*row)


def snapshot_image(sm: StateMachine) -> SnapshotImage:
    """The image of `sm` as it is now (digest computed now: call it in the forked child)."""
    header = sm.snapshot_header()
    return SnapshotImage(
        zxid=header.last_zxid,
        nodes=_snap_nodes(sm),
        sessions=list(header.sessions),
        digest=sm.digest(),
        extra=_encode_extra(header.next_session_id),
    )


def state_from_image(config: StateConfig, image: SnapshotImage) -> StateMachine:
    from zkpy.state.machine import SnapshotHeader, StateMachine

    header = SnapshotHeader(image.zxid, _decode_extra(image.extra), list(image.sessions))
    # SnapNode fields are exactly from_snapshot_rows' row layout.
    return StateMachine.from_snapshot_rows(config, header, image.nodes)


def image_digest(image: SnapshotImage) -> int:
    """zkpy.state's tree digest recomputed from a snapshot's nodes (for verify)."""
    from zkpy.state.digest import tree_digest

    nodes = sorted(image.nodes, key=lambda n: n.path)
    return tree_digest(
        (n.path, (n.czxid, n.mzxid, n.ctime, n.mtime, n.version, n.cversion, n.aversion,
                  n.ephemeral_owner, n.pzxid), n.data, n.acl)
        for n in nodes
    )


class StateLoader:
    """Callbacks for recover(): builds the StateMachine from a snapshot, replays Commands."""

    def __init__(self, config: StateConfig | None = None) -> None:
        from zkpy.state.machine import StateMachine
        from zkpy.state.types import Command, StateConfig

        self.config = config if config is not None else StateConfig()
        self.sm: StateMachine = StateMachine(self.config)
        # Bound once: an import statement per replayed txn cost ~15 % of replay.
        self._command_from_bytes = Command.from_bytes

    def load(self, image: SnapshotImage) -> None:
        self.sm = state_from_image(self.config, image)

    def apply(self, zxid: int, payload: bytes) -> None:
        cmd = self._command_from_bytes(payload)
        if cmd.zxid != zxid:
            raise ValueError(f"log record {zxid:#x} holds a command for {cmd.zxid:#x}")
        self.sm.apply_replayed(cmd)

    def digest(self) -> int:
        return self.sm.digest()

    def initial_image(self) -> SnapshotImage:
        return snapshot_image(self.sm)


def open_member_storage(
    config: StateConfig | None,
    data_dir: str | os.PathLike[str],
    log_dir: str | os.PathLike[str] | None = None,
    *,
    rng: random.Random,
    now_ms: int,
    loop: asyncio.AbstractEventLoop | None = None,
    verify_digest: bool = True,
    **storage_kw: Any,
) -> tuple[Storage, StateMachine, RecoveryResult]:
    """Startup in one call: recover the StateMachine from disk, open the log for appends,
    restart every recovered session's expiry clock at `now_ms` (ZooKeeper does the same),
    and return (storage, state machine, what recovery did). `storage_kw` go to
    Storage.open (snap_count_txns, snap_size_limit_bytes, prealloc_bytes, force_sync,
    strategy). Raises CorruptHistoryError (refuse to start) or StorageError (data dir
    unusable). verify_digest recomputes the tree digest after loading the snapshot and
    compares it with the recorded one (catches a writer/loader disagreement; the file
    itself is already CRC-checked); it costs ~13 us per znode (6.5 s at 500k on the dev VM).
    """
    loader = StateLoader(config)
    storage, res = Storage.open(
        data_dir, log_dir, load_snapshot=loader.load, apply=loader.apply,
        initial_image=loader.initial_image, tree_digest=loader.digest if verify_digest else None,
        rng=rng, loop=loop,
        **storage_kw,
    )
    sm = loader.sm
    for sid in sm.sessions_snapshot():
        sm.touch(sid, now_ms)
    return storage, sm, res
