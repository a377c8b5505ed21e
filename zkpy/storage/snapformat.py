"""Snapshot file format: encode/decode of a whole tree image (no I/O policy here).

File::

    header   magic b"ZKPS", version u32 = 1, last zxid u64
    items    tag byte + body, in this order:
             b"A" acl id u32, n u32, n x (perms i32, scheme str, id str)   (ACL table)
             b"N" path str, data buf, acl id u32, czxid mzxid ctime mtime i64,
                  version cversion aversion i32, ephemeralOwner pzxid i64      (node)
             b"S" session id i64, timeout ms i32                                  (session)
             b"X" buf                                  (opaque extra state of zkpy.state)
             b"E" has digest u8, digest u64, nodes u64, sessions u64            (end)
    trailer  crc32 u32 of every byte before it, magic b"ZKPE"

str = u32 length + UTF-8; buf = i32 length (-1 = null) + bytes. Big-endian.
Nodes come parents first (the order the tree is walked), so a loader can attach each
node to an already-loaded parent. A file without a valid trailer (written halfway, torn,
bit-flipped) is invalid as a whole: recovery then falls back to the previous snapshot.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

SNAP_MAGIC = b"ZKPS"
SNAP_END_MAGIC = b"ZKPE"
SNAP_VERSION = 1
HEADER = struct.Struct(">4sIQ")
TRAILER = struct.Struct(">I4s")
_STAT = struct.Struct(">Iqqqqiiiqq")  # acl id, czxid..mtime, version..aversion, owner, pzxid
_SESSION = struct.Struct(">qi")
_END = struct.Struct(">BQQQ")
_U32 = struct.Struct(">I")
_I32 = struct.Struct(">i")
_ACL_ENTRY = struct.Struct(">i")

Acl = tuple[tuple[int, str, str], ...]  # ((perms, scheme, id), ...)


class SnapNode(NamedTuple):
    path: str
    data: bytes | None
    acl: Acl
    czxid: int
    mzxid: int
    ctime: int
    mtime: int
    version: int
    cversion: int
    aversion: int
    ephemeral_owner: int
    pzxid: int


@dataclass(slots=True)
class SnapshotImage:
    """What a snapshot holds. `nodes` may be any iterable (a generator walking the tree)."""

    zxid: int
    nodes: Iterable[SnapNode]
    sessions: Iterable[tuple[int, int]] = ()  # (session id, timeout ms)
    digest: int | None = None
    extra: bytes = b""
    node_count: int = field(default=0)
    session_count: int = field(default=0)


class SnapshotFormatError(ValueError):
    pass


def _str(out: bytearray, s: str) -> None:
    b = s.encode()
    out += _U32.pack(len(b))
    out += b


def _buf(out: bytearray, b: bytes | None) -> None:
    if b is None:
        out += _I32.pack(-1)
    else:
        out += _I32.pack(len(b))
        out += b


def encode(image: SnapshotImage, sink: Callable[[bytes | bytearray], None], chunk_bytes: int = 1 << 20) -> int:
    """Stream the encoded image to `sink` in chunks; returns the CRC-covered byte count."""
    out = bytearray(HEADER.pack(SNAP_MAGIC, SNAP_VERSION, image.zxid))
    crc = 0
    total = 0

    def spill() -> None:
        nonlocal crc, total, out
        crc = zlib.crc32(out, crc)
        total += len(out)
        sink(out)
        out = bytearray()

    acl_ids: dict[Acl, int] = {}
    n_nodes = 0
    for node in image.nodes:
        acl = node[2]
        aid = acl_ids.get(acl)
        if aid is None:
            aid = acl_ids[acl] = len(acl_ids)
            out += b"A"
            out += _U32.pack(aid)
            out += _U32.pack(len(acl))
            for perms, scheme, ident in acl:
                out += _ACL_ENTRY.pack(perms)
                _str(out, scheme)
                _str(out, ident)
        out += b"N"
        _str(out, node[0])
        _buf(out, node[1])
        out += _STAT.pack(aid, *node[3:])
        n_nodes += 1
        if len(out) >= chunk_bytes:
            spill()
    n_sessions = 0
    for sid, timeout in image.sessions:
        out += b"S"
        out += _SESSION.pack(sid, timeout)
        n_sessions += 1
    if image.extra:
        out += b"X"
        _buf(out, image.extra)
    has = image.digest is not None
    out += b"E"
    out += _END.pack(1 if has else 0, image.digest or 0, n_nodes, n_sessions)
    spill()
    sink(TRAILER.pack(crc, SNAP_END_MAGIC))
    image.node_count, image.session_count = n_nodes, n_sessions
    return total


def check_trailer(data: bytes | memoryview) -> None:
    """Raise SnapshotFormatError unless `data` is one whole, undamaged snapshot."""
    if len(data) < HEADER.size + TRAILER.size:
        raise SnapshotFormatError(f"too short ({len(data)} bytes): written halfway?")
    magic, version, _ = HEADER.unpack_from(data, 0)
    if magic != SNAP_MAGIC or version != SNAP_VERSION:
        raise SnapshotFormatError(f"not a zkpy snapshot (magic {bytes(magic)!r}, version {version})")
    crc, end = TRAILER.unpack_from(data, len(data) - TRAILER.size)
    if end != SNAP_END_MAGIC:
        raise SnapshotFormatError("no end marker: written halfway or truncated")
    if zlib.crc32(memoryview(data)[: len(data) - TRAILER.size]) != crc:
        raise SnapshotFormatError("CRC mismatch: damaged")


def decode(data: bytes) -> SnapshotImage:
    """Decode a whole snapshot (trailer checked first); nodes/sessions as lists."""
    check_trailer(data)
    _, _, zxid = HEADER.unpack_from(data, 0)
    pos = HEADER.size
    limit = len(data) - TRAILER.size
    acls: dict[int, Acl] = {}
    nodes: list[SnapNode] = []
    sessions: list[tuple[int, int]] = []
    extra = b""
    mv = memoryview(data)

    def rstr(p: int) -> tuple[str, int]:
        (n,) = _U32.unpack_from(data, p)
        p += 4
        return str(mv[p : p + n], "utf-8"), p + n

    def rbuf(p: int) -> tuple[bytes | None, int]:
        (n,) = _I32.unpack_from(data, p)
        p += 4
        if n < 0:
            return None, p
        return bytes(mv[p : p + n]), p + n

    u32 = _U32.unpack_from
    i32 = _I32.unpack_from
    stat = _STAT.unpack_from
    stat_size = _STAT.size
    make = tuple.__new__
    append = nodes.append
    try:
        while pos < limit:
            tag = data[pos]
            pos += 1
            if tag == 0x4E:  # N: the hot path, inlined
                (n,) = u32(data, pos)
                pos += 4
                path = data[pos : pos + n].decode()
                pos += n
                (n,) = i32(data, pos)
                pos += 4
                if n < 0:
                    d = None
                else:
                    d = data[pos : pos + n]
                    pos += n
                st = stat(data, pos)
                pos += stat_size
                append(make(SnapNode, (path, d, acls[st[0]], *st[1:])))
            elif tag == 0x41:  # A
                aid, n = struct.unpack_from(">II", data, pos)
                pos += 8
                entries = []
                for _ in range(n):
                    (perms,) = _ACL_ENTRY.unpack_from(data, pos)
                    scheme, pos = rstr(pos + 4)
                    ident, pos = rstr(pos)
                    entries.append((perms, scheme, ident))
                acls[aid] = tuple(entries)
            elif tag == 0x53:  # S
                sessions.append(_SESSION.unpack_from(data, pos))
                pos += _SESSION.size
            elif tag == 0x58:  # X
                b, pos = rbuf(pos)
                extra = b or b""
            elif tag == 0x45:  # E
                has, digest, n_nodes, n_sessions = _END.unpack_from(data, pos)
                pos += _END.size
                if pos != limit or n_nodes != len(nodes) or n_sessions != len(sessions):
                    raise SnapshotFormatError("end record does not match the contents")
                return SnapshotImage(
                    zxid, nodes, sessions, digest if has else None, extra, n_nodes, n_sessions
                )
            else:
                raise SnapshotFormatError(f"unknown item tag {tag:#x} at offset {pos - 1}")
    except (struct.error, KeyError, UnicodeDecodeError) as e:
        raise SnapshotFormatError(f"malformed at offset {pos}: {e}") from e
    raise SnapshotFormatError("no end record")
