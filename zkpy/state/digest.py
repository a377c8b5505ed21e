"""Deterministic 64-bit digest of a tree: blake2b over sorted (path, stat, data, acl).

Two members with the same history give the same digest; storage and tests use it to
compare trees (it is not ZooKeeper's own TxnDigest, which is never sent to clients).

Each node contributes ``int32 length`` + ``ustring path`` + StatPersisted + ``buffer
data`` + ``vector<ACL>``, in jute encoding.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable

from ..proto.jute import INT32, write_buffer, write_ustring

# StatPersisted {czxid, mzxid, ctime, mtime: long; version, cversion, aversion: int;
# ephemeralOwner, pzxid: long}
_STAT_PERSISTED = struct.Struct("!qqqqiiiqq")

StatFields = tuple[int, int, int, int, int, int, int, int, int]
AclKey = tuple[tuple[int, str, str], ...]   # ((perms, scheme, id), ...)


def _acl_bytes(acl: AclKey) -> bytes:
    out = bytearray(INT32.pack(len(acl)))
    for perms, scheme, ident in acl:
        out += INT32.pack(perms)
        write_ustring(out, scheme)
        write_ustring(out, ident)
    return bytes(out)


def tree_digest(records: Iterable[tuple[str, StatFields, bytes | None, AclKey]]) -> int:
    """``records`` must come sorted by path, each ``(path, StatPersisted fields in order,
    data, acl)``; returns an unsigned 64-bit int."""
    h = hashlib.blake2b(digest_size=8)
    acls: dict[AclKey, bytes] = {}   # few distinct ACLs: encode each once
    pack_stat = _STAT_PERSISTED.pack
    for path, stat, data, acl in records:
        a = acls.get(acl)
        if a is None:
            a = acls[acl] = _acl_bytes(acl)
        out = bytearray()
        write_ustring(out, path)
        out += pack_stat(*stat)
        write_buffer(out, data)
        out += a
        h.update(INT32.pack(len(out)))
        h.update(out)
    return int.from_bytes(h.digest(), "big")
