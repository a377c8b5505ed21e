"""DataTree: znodes, stats, children, ephemerals by session, container and TTL sets.

No ACL checks and no watches here: the appliers decide, the tree stores. Every
mutation can record its inverse in ``undo`` (used for all-or-nothing multi).

Stats are stored as ZooKeeper persists them (StatPersisted): ``cver`` is the number of
child *creates* ever (C); the reported cversion is ``2*C - numChildren`` (int32), and
``owner`` is the internal ephemeralOwner (container/TTL markers included).

A node's ``children`` holds the children's full paths, the very str objects that key
``nodes``; getChildren slices the names off (:func:`child_names`). A separate name
string would cost about 64 more bytes per znode.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..proto.opcodes import CONTAINER_EPHEMERAL_OWNER
from ..proto.records import PackedStat
from ..proto.records import pack_stat as _pack_stat
from .acl import AclList

if TYPE_CHECKING:
    from .quota import QuotaTracker

ROOT = "/"
PROC = "/zookeeper"
QUOTA = "/zookeeper/quota"
CONFIG = "/zookeeper/config"
SPECIAL_PATHS = frozenset({ROOT, PROC, QUOTA, CONFIG})

TTL_MARK = -0x0100000000000000  # 0xFF00000000000000 as a signed long


def wrap32(v: int) -> int:
    return ((v + 0x80000000) & 0xFFFFFFFF) - 0x80000000


def ttl_owner(ttl: int) -> int:
    """ephemeralOwner for a TTL node: high byte 0xFF, low 40 bits = ttl ms."""
    return TTL_MARK | ttl


def is_ttl_owner(owner: int) -> bool:
    return (owner >> 56) == -1 and ((owner >> 40) & 0xFFFF) == 0


def ttl_of(owner: int) -> int:
    return owner & 0xFFFFFFFFFF


class Kids:
    """What a znode keeps about its children, once it has had one: the child-create
    count, pzxid and the children's full paths (None when it has none left)."""

    __slots__ = ("cver", "pzxid", "children")

    def __init__(self, cver: int, pzxid: int) -> None:
        self.cver = cver
        self.pzxid = pzxid
        self.children: dict[str, None] | None = None  # full paths, insertion order


class Node:
    """One znode (slotted: memory matters at 100k+ nodes).

    A node that never had a child has cver 0 and pzxid == czxid (ZooKeeper changes both
    only when a child is created or deleted), so most nodes -- the leaves -- store neither:
    ``kids`` is None until the first child arrives. That saves two slots, 16 bytes of
    ~460 per 100-byte znode. Read ``cver``/``pzxid``/``children`` anywhere; only the
    tree changes them, through ``kids``."""

    __slots__ = ("data", "acl", "czxid", "mzxid", "ctime", "mtime", "version", "aversion",
                 "owner", "kids")

    def __init__(self, data: bytes | None, acl: AclList, czxid: int, mzxid: int, ctime: int,
                 mtime: int, version: int, cver: int, aversion: int, owner: int,
                 pzxid: int) -> None:
        self.data = data
        self.acl = acl
        self.czxid = czxid
        self.mzxid = mzxid
        self.ctime = ctime
        self.mtime = mtime
        self.version = version
        self.aversion = aversion
        self.owner = owner
        self.kids: Kids | None = None if cver == 0 and pzxid == czxid else Kids(cver, pzxid)

    @property
    def cver(self) -> int:
        k = self.kids
        return k.cver if k is not None else 0

    @property
    def pzxid(self) -> int:
        k = self.kids
        return k.pzxid if k is not None else self.czxid

    @property
    def children(self) -> dict[str, None] | None:
        k = self.kids
        return k.children if k is not None else None

    def kids_here(self) -> Kids:
        """This node's Kids, made on first use."""
        k = self.kids
        if k is None:
            k = self.kids = Kids(0, self.czxid)
        return k


# undo record tags
_U_CREATE = 0
_U_DELETE = 1
_U_FIELDS = 2
_U_ACL = 3
_U_PARENT = 4
_U_RAW = 5


def child_names(parent: str, children: dict[str, None] | None) -> list[str]:
    """The names of ``parent``'s children, from their full paths, in creation order."""
    if not children:
        return []
    k = 1 if parent == ROOT else len(parent) + 1
    return [p[k:] for p in children]


def parent_of(path: str) -> str:
    i = path.rfind("/")
    return path[:i] if i > 0 else ROOT


def split(path: str) -> tuple[str, str]:
    """(parent, name); the parent of "/x" is "/" (ZooKeeper's "" alias)."""
    i = path.rfind("/")
    return (path[:i] if i > 0 else ROOT), path[i + 1:]


class DataTree:
    """The znode tree. ``nodes`` maps full path -> Node and, like ZooKeeper, also holds
    the alias "" for the root (so ``len(nodes)`` is ZooKeeper's node count)."""

    def __init__(self, root_acl: AclList, config_acl: AclList, config_data: bytes,
                 extended_types: bool) -> None:
        self.extended_types = extended_types
        self.nodes: dict[str, Node] = {}
        self.ephemerals: dict[int, set[str]] = {}
        self.containers: set[str] = set()
        self.ttls: set[str] = set()
        self.undo: list[tuple[Any, ...]] | None = None
        self.data_size = 0
        self.quota: QuotaTracker | None = None
        root = Node(b"", root_acl, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        self.nodes[""] = root
        self.nodes[ROOT] = root
        self.data_size += 1
        for p in (PROC, QUOTA):
            self._link(p, Node(b"", root_acl, 0, 0, 0, 0, 0, 0, 0, 0, 0))
        # Standalone: an empty node, version 0; with a quorum config ZooKeeper writes the
        # text with version -1 (ZKDatabase.initConfigInZKDatabase). aversion is -1 always.
        self._link(CONFIG, Node(config_data, config_acl, 0, 0, 0, 0, -1 if config_data else 0,
                                0, -1, 0, 0))

    # ---------------------------------------------------------------- queries

    def get(self, path: str) -> Node | None:
        return self.nodes.get(path)

    def client_owner(self, owner: int) -> int:
        if owner == 0 or owner > 0:
            return owner
        if owner == CONTAINER_EPHEMERAL_OWNER:
            return 0
        if self.extended_types and is_ttl_owner(owner):
            return 0
        return owner

    def is_normal_ephemeral(self, owner: int) -> bool:
        """EphemeralType.get(owner) == NORMAL."""
        if owner == 0 or owner == CONTAINER_EPHEMERAL_OWNER:
            return False
        return not (self.extended_types and is_ttl_owner(owner))

    def stat(self, n: Node) -> PackedStat:
        return PackedStat(self.stat_bytes(n))

    def stat_bytes(self, n: Node) -> bytes:
        """The node's Stat as its 68 wire bytes (what setData, exists and getData reply)."""
        data = n.data
        owner = n.owner
        if owner < 0:
            owner = self.client_owner(owner)
        k = n.kids
        if k is None:
            return _pack_stat(n.czxid, n.mzxid, n.ctime, n.mtime, n.version, 0, n.aversion,
                              owner, len(data) if data else 0, 0, n.czxid)
        ch = k.children
        nc = len(ch) if ch else 0
        cv = 2 * k.cver - nc
        if cv > 0x7FFFFFFF or cv < -0x80000000:
            cv = wrap32(cv)
        return _pack_stat(n.czxid, n.mzxid, n.ctime, n.mtime, n.version, cv, n.aversion,
                          owner, len(data) if data else 0, nc, k.pzxid)

    def count_descendants(self, path: str) -> int:
        if path == ROOT:
            return len(self.nodes) - 2
        n = self.nodes.get(path)
        if n is None:
            return 0
        total = 0
        stack = [(path, n)]
        nodes = self.nodes
        while stack:
            p, node = stack.pop()
            ch = node.children
            if not ch:
                continue
            total += len(ch)
            for cp in ch:
                c = nodes[cp]
                if c.children:
                    stack.append((cp, c))
        return total

    def walk(self, path: str = ROOT) -> Iterator[tuple[str, Node]]:
        """(path, node) for ``path`` and all descendants, parents before children."""
        n = self.nodes.get(path)
        if n is None:
            return
        stack = [(path, n)]
        nodes = self.nodes
        while stack:
            p, node = stack.pop()
            yield p, node
            ch = node.children
            if ch:
                for cp in reversed(ch):
                    stack.append((cp, nodes[cp]))

    def real_paths(self) -> list[str]:
        """Every node path ("" alias excluded), sorted."""
        return sorted(p for p in self.nodes if p)

    # -------------------------------------------------------------- mutations

    def _link(self, path: str, node: Node) -> None:
        nodes = self.nodes
        nodes[path] = node
        k = nodes[parent_of(path)].kids_here()
        if k.children is None:
            k.children = {path: None}
        else:
            k.children[path] = None
        data = node.data
        self.data_size += len(path) + (len(data) if data else 0)
        owner = node.owner
        if owner != 0:
            if owner == CONTAINER_EPHEMERAL_OWNER:
                self.containers.add(path)
            elif self.extended_types and is_ttl_owner(owner):
                self.ttls.add(path)
            else:
                s = self.ephemerals.get(owner)
                if s is None:
                    s = self.ephemerals[owner] = set()
                s.add(path)

    def _unlink(self, path: str) -> Node:
        node = self.nodes.pop(path)
        k = self.nodes[parent_of(path)].kids
        if k is not None and k.children is not None:
            k.children.pop(path, None)
            if not k.children:
                k.children = None
        data = node.data
        self.data_size -= len(path) + (len(data) if data else 0)
        owner = node.owner
        if owner != 0:
            if owner == CONTAINER_EPHEMERAL_OWNER:
                self.containers.discard(path)
            elif self.extended_types and is_ttl_owner(owner):
                self.ttls.discard(path)
            else:
                s = self.ephemerals.get(owner)
                if s is not None:
                    s.discard(path)
                    if not s:
                        del self.ephemerals[owner]
        return node

    def create(self, path: str, parent: Node, data: bytes | None, acl: AclList, zxid: int,
               time_ms: int, owner: int) -> Node:
        """Create ``path`` under ``parent`` (checks already done by the caller)."""
        undo = self.undo
        k = parent.kids_here()
        if undo is not None:
            undo.append((_U_PARENT, parent, k.cver, k.pzxid))
            undo.append((_U_CREATE, path))
        k.cver = wrap32(k.cver + 1)
        k.pzxid = zxid
        node = Node(data, acl, zxid, zxid, time_ms, time_ms, 0, 0, 0, owner, zxid)
        self._link(path, node)
        q = self.quota
        if q is not None:
            q.on_create(path, data)
        return node

    def delete(self, path: str, zxid: int) -> Node:
        parent = self.nodes[parent_of(path)]
        undo = self.undo
        k = parent.kids_here()
        if undo is not None:
            undo.append((_U_PARENT, parent, k.cver, k.pzxid))
        node = self._unlink(path)
        if undo is not None:
            undo.append((_U_DELETE, path, node))
        if zxid > k.pzxid:
            k.pzxid = zxid
        q = self.quota
        if q is not None:
            q.on_delete(path, node.data)
        return node

    def set_data(self, node: Node, path: str, data: bytes | None, version: int, zxid: int,
                 time_ms: int) -> None:
        undo = self.undo
        if undo is not None:
            undo.append((_U_FIELDS, node, node.data, node.mzxid, node.mtime, node.version))
        old = node.data
        self.data_size += (len(data) if data else 0) - (len(old) if old else 0)
        node.data = data
        node.mzxid = zxid
        node.mtime = time_ms
        node.version = version
        q = self.quota
        if q is not None and q.roots:  # no quota anywhere: nothing to count
            q.on_set_data(path, old, data)

    def set_raw_data(self, node: Node, data: bytes) -> None:
        """Replace data without touching the stat (quota stats nodes, as ZooKeeper)."""
        undo = self.undo
        if undo is not None:
            undo.append((_U_RAW, node, node.data))
        old = node.data
        self.data_size += len(data) - (len(old) if old else 0)
        node.data = data

    def set_acl(self, node: Node, acl: AclList, aversion: int) -> None:
        undo = self.undo
        if undo is not None:
            undo.append((_U_ACL, node, node.acl, node.aversion))
        node.acl = acl
        node.aversion = aversion

    # ------------------------------------------------------------------- undo

    def begin(self) -> None:
        self.undo = []
        if self.quota is not None:
            self.quota.begin()

    def commit(self) -> None:
        self.undo = None
        if self.quota is not None:
            self.quota.commit()

    def rollback(self) -> None:
        undo = self.undo
        self.undo = None
        if undo is None:
            return
        for rec in reversed(undo):
            tag = rec[0]
            if tag == _U_CREATE:
                self._unlink(rec[1])
            elif tag == _U_DELETE:
                self._link(rec[1], rec[2])
            elif tag == _U_FIELDS:
                node = rec[1]
                old = node.data
                self.data_size += (len(rec[2]) if rec[2] else 0) - (len(old) if old else 0)
                node.data, node.mzxid, node.mtime, node.version = rec[2], rec[3], rec[4], rec[5]
            elif tag == _U_RAW:
                node = rec[1]
                old = node.data
                self.data_size += (len(rec[2]) if rec[2] else 0) - (len(old) if old else 0)
                node.data = rec[2]
            elif tag == _U_ACL:
                rec[1].acl, rec[1].aversion = rec[2], rec[3]
            elif tag == _U_PARENT:
                k = rec[1].kids_here()
                k.cver, k.pzxid = rec[2], rec[3]
        if self.quota is not None:
            self.quota.rollback()

    # -------------------------------------------------------------- snapshots

    def restore_node(self, path: str, node: Node) -> None:
        """Insert a node while rebuilding from a snapshot (parents first)."""
        if path == ROOT:
            old = self.nodes[ROOT]
            if old.children:
                node.kids_here().children = old.children
            self.data_size += (len(node.data) if node.data else 0) - (
                len(old.data) if old.data else 0)
            self.nodes[""] = node
            self.nodes[ROOT] = node
            return
        existing = self.nodes.get(path)
        if existing is not None:  # the initial /zookeeper nodes: keep their children
            if existing.children:
                node.kids_here().children = existing.children
            self._unlink(path)
        self._link(path, node)
