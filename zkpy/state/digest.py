"""Deterministic 64-bit digest of a tree: blake2b over sorted (path, stat, data, acl).

Two members with the same history give the same digest; storage and tests use it to
compare trees (it is not ZooKeeper's own TxnDigest, which is never sent to clients).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from ..proto.jute import INT32, write_buffer, write_ustring
from ..proto.records import ACL, StatPersisted


def node_bytes(path: str, stat: StatPersisted, data: bytes | None, acl: list[ACL]) -> bytes:
    out = bytearray()
    write_ustring(out, path)
    stat.encode(out)
    write_buffer(out, data)
    out += INT32.pack(len(acl))
    for a in acl:
        a.encode(out)
    return bytes(out)


def tree_digest(records: Iterable[tuple[str, StatPersisted, bytes | None, list[ACL]]]) -> int:
    """``records`` must come sorted by path; returns an unsigned 64-bit int."""
    h = hashlib.blake2b(digest_size=8)
    for path, stat, data, acl in records:
        b = node_bytes(path, stat, data, acl)
        h.update(INT32.pack(len(b)))
        h.update(b)
    return int.from_bytes(h.digest(), "big")
