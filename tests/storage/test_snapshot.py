from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from zkpy.storage.layout import list_snapshots
from zkpy.storage.snapformat import SnapNode, SnapshotFormatError, SnapshotImage, decode, encode
from zkpy.storage.snappolicy import SnapPolicy
from zkpy.storage.snapshot import (
    SnapshotTaker,
    newest_valid_snapshot,
    read_snapshot,
    write_snapshot,
)

from .toy import OPEN_ACL, Toy, cmd


def _toy(n: int) -> Toy:
    t = Toy()
    t.sessions = {0x100000000000001: 30000, -0x7F00000000000001: 4000}
    for z in range(1, n + 1):
        t.apply(z, cmd(z))
    return t


def test_round_trip_all_fields(tmp_path: Path) -> None:
    acl2 = ((1, "digest", "u:abc="), (31, "ip", "127.0.0.1"))
    nodes = [
        SnapNode("/", b"", OPEN_ACL, 0, 0, 0, 0, 0, 5, 0, 0, 9),
        SnapNode("/a", None, acl2, 3, 4, 1700000000000, 1700000000001, 2, 1, 3, -5, 8),
        SnapNode("/a/é", b"\x00\xff" * 10, acl2, 5, 5, 1, 2, 0, 0, 0, 0x7F00000000000001, 5),
    ]
    image = SnapshotImage(0x100000009, nodes, [(7, 4000)], 0xDEADBEEF, b"extra")
    p = write_snapshot(tmp_path, image)
    assert p.name == "snapshot.100000009"
    got = read_snapshot(p)
    assert (got.zxid, list(got.nodes), list(got.sessions), got.digest, got.extra) == (
        0x100000009, nodes, [(7, 4000)], 0xDEADBEEF, b"extra"
    )


def test_every_truncation_and_bit_flip_is_detected(tmp_path: Path) -> None:
    chunks: list[bytes] = []
    encode(_toy(20).image(), lambda b: chunks.append(bytes(b)))
    data = b"".join(chunks)
    decode(data)
    for cut in range(0, len(data), 7):
        with pytest.raises(SnapshotFormatError):
            decode(data[:cut])
    for pos in range(0, len(data), 5):
        b = bytearray(data)
        b[pos] ^= 0x10
        with pytest.raises(SnapshotFormatError):
            decode(bytes(b))


def test_halfway_snapshot_is_skipped_for_the_previous(tmp_path: Path) -> None:
    t = _toy(5)
    old = write_snapshot(tmp_path, t.image())
    for z in range(6, 9):
        t.apply(z, cmd(z))
    new = write_snapshot(tmp_path, t.image())
    new.write_bytes(new.read_bytes()[: new.stat().st_size // 2])
    (new.parent / "snapshot.9.tmp").write_bytes(b"junk")
    snap, skipped = newest_valid_snapshot(tmp_path)
    assert snap == old and [p for p, _ in skipped] == [new]
    assert "halfway" in skipped[0][1] or "end marker" in skipped[0][1]


def test_snap_policy_is_randomised_per_server_like_zookeeper() -> None:
    thresholds = set()
    for seed in range(20):
        p = SnapPolicy(random.Random(seed), snap_count_txns=100)
        assert 51 <= p.threshold_txns + 1 <= 100
        n = 0
        while not p.record(1, 10):
            n += 1
        assert 50 <= n < 100
        thresholds.add(n)
        p.taken()
        assert p.txns_since == 0
    assert len(thresholds) > 5
    same = [SnapPolicy(random.Random(1), 100).threshold_txns for _ in range(2)]
    assert same[0] == same[1]
    with pytest.raises(ValueError):
        SnapPolicy(random.Random(0), 1)


def test_forked_writer_snapshots_the_tree_as_of_fork(tmp_path: Path) -> None:
    t = _toy(50)
    expected = t.digest()

    async def main() -> Path:
        taker = SnapshotTaker(tmp_path)
        fut = taker.start(t.zxid, t.image)
        assert fut is not None
        assert taker.start(t.zxid, t.image) is None  # one at a time
        for z in range(51, 60):  # the parent keeps changing its tree
            t.apply(z, cmd(z))
        return await asyncio.wait_for(fut, 30)

    path = asyncio.run(main())
    assert path.name == "snapshot.32"
    img = read_snapshot(path)
    back = Toy()
    back.load(img)
    assert img.digest == expected == back.digest()
    assert [z for z, _ in list_snapshots(tmp_path)] == [50]


def test_forked_writer_failure_is_reported(tmp_path: Path) -> None:
    def broken() -> SnapshotImage:
        raise RuntimeError("boom")

    async def main() -> None:
        fut = SnapshotTaker(tmp_path).start(1, broken)
        assert fut is not None
        with pytest.raises(OSError, match="child exited with 1"):
            await asyncio.wait_for(fut, 30)

    asyncio.run(main())
    assert list_snapshots(tmp_path) == []


def test_forked_writer_holds_no_inherited_sockets(tmp_path: Path) -> None:
    import os
    import socket
    import time

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    t = _toy(5)

    def slow_image() -> SnapshotImage:
        time.sleep(0.5)
        return t.image()

    async def main() -> list[str]:
        taker = SnapshotTaker(tmp_path)
        fut = taker.start(t.zxid, slow_image)
        assert fut is not None and taker.running is not None
        await asyncio.sleep(0.2)
        fds = os.listdir(f"/proc/{taker.running}/fd")
        targets = [os.readlink(f"/proc/{taker.running}/fd/{f}") for f in fds]
        await asyncio.wait_for(fut, 30)
        return targets

    try:
        targets = asyncio.run(main())
    finally:
        listener.close()
    assert not [x for x in targets if x.startswith("socket:")], targets
