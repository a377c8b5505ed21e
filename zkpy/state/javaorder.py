"""The order in which Java ZooKeeper iterates a connection's auth ids.

ZooKeeper keeps a connection's ids in ``Collections.newSetFromMap(new
ConcurrentHashMap<>())`` (ServerCnxn.authInfo), so whoAmI replies and `auth`-scheme ACL
expansion list them in hash-table order, not insertion order. Clients and scripts see
that order (zkCli's whoami prints it), so we reproduce it: Id.hashCode as jute generates
it, ConcurrentHashMap's spread, its power-of-two table that doubles at 3/4 load, bins
visited in index order and insertion order within a bin.
"""

from __future__ import annotations

from ..proto import records as r

_MASK32 = 0xFFFFFFFF


def _int32(x: int) -> int:
    x &= _MASK32
    return x - (1 << 32) if x & 0x80000000 else x


def java_string_hash(s: str | None) -> int:
    """java.lang.String.hashCode over UTF-16 code units (null hashes as 0 in jute)."""
    if not s:
        return 0
    h = 0
    data = s.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + ((data[i] << 8) | data[i + 1])) & _MASK32
    return _int32(h)


def id_hash(ident: r.Id) -> int:
    """Jute's generated Id.hashCode: 37*(37*17 + scheme) + id."""
    result = 17
    result = _int32(37 * result + java_string_hash(ident.scheme))
    return _int32(37 * result + java_string_hash(ident.id))


def _spread(h: int) -> int:
    u = h & _MASK32
    return (u ^ (u >> 16)) & 0x7FFFFFFF


def hash_set_order(ids: list[r.Id]) -> list[r.Id]:
    """``ids`` (distinct, in insertion order) as a ConcurrentHashMap key set iterates."""
    table = 16
    while len(ids) >= table * 3 // 4:
        table *= 2
    keyed = [(_spread(id_hash(i)) & (table - 1), n, i) for n, i in enumerate(ids)]
    keyed.sort(key=lambda t: (t[0], t[1]))
    return [i for _, _, i in keyed]
