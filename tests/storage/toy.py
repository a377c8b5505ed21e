"""A tiny deterministic state machine standing in for zkpy.state in storage tests."""

from __future__ import annotations

import zlib

from zkpy.storage.snapformat import SnapNode, SnapshotImage

OPEN_ACL = ((31, "world", "anyone"),)


class Toy:
    def __init__(self) -> None:
        self.kv: dict[str, bytes] = {}
        self.mz: dict[str, int] = {}
        self.zxid = 0
        self.sessions: dict[int, int] = {}

    def apply(self, zxid: int, payload: bytes) -> None:
        assert zxid > self.zxid
        key, _, value = payload.partition(b"=")
        self.kv["/" + key.decode()] = value
        self.mz["/" + key.decode()] = zxid
        self.zxid = zxid

    def digest(self) -> int:
        h = 0
        for k in sorted(self.kv):
            h = zlib.crc32(k.encode() + b"\0" + self.kv[k], h)
        return h

    def image(self) -> SnapshotImage:
        nodes = [SnapNode("/", b"", OPEN_ACL, 0, 0, 0, 0, 0, 0, 0, 0, 0)]
        for k in sorted(self.kv):
            z = self.mz[k]
            nodes.append(SnapNode(k, self.kv[k], OPEN_ACL, z, z, 1000, 1000, 0, 0, 0, 0, z))
        return SnapshotImage(self.zxid, nodes, sorted(self.sessions.items()), self.digest())

    def load(self, image: SnapshotImage) -> None:
        self.kv = {n.path: n.data or b"" for n in image.nodes if n.path != "/"}
        self.mz = {n.path: n.mzxid for n in image.nodes if n.path != "/"}
        self.sessions = dict(image.sessions)
        self.zxid = image.zxid


def cmd(z: int) -> bytes:
    return f"k{z % 7}=v{z}".encode()
