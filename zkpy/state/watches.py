"""Watch tables (WatchManager semantics of ZooKeeper 3.9, reference section 8).

Two tables, ``data`` and ``child``: path -> {watcher: mode bits}. Bits: STANDARD
(one-shot), PERSISTENT, RECURSIVE (addWatch puts both persistent kinds in both tables,
as ZooKeeper 3.8 does). A trigger collects watchers on the path and RECURSIVE watchers
on every ancestor (never for NodeChildrenChanged), removes STANDARD bits that fired, and
yields one event per watcher per trigger. Modes coexist on one path (3.9 behaviour):
firing removes only the standard watch. Delivery applies the
CVE-2024-23944 filter: a watcher whose connection cannot READ the node gets nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from ..proto.opcodes import EventType, KeeperState, WatcherType
from ..proto.records import WatcherEvent
from .acl import READ, AclList
from .types import Conn

STANDARD = 1
PERSISTENT = 2
RECURSIVE = 4

SYNC_CONNECTED = int(KeeperState.SYNC_CONNECTED)
NODE_CREATED = int(EventType.NODE_CREATED)
NODE_DELETED = int(EventType.NODE_DELETED)
NODE_DATA_CHANGED = int(EventType.NODE_DATA_CHANGED)
NODE_CHILDREN_CHANGED = int(EventType.NODE_CHILDREN_CHANGED)

Table = dict[str, dict[Hashable, int]]
Events = list[tuple[Hashable, WatcherEvent]]


class WatchTable:
    """One table: path -> {watcher: bits} plus the reverse index."""

    __slots__ = ("by_path", "by_watcher", "recursive")

    def __init__(self) -> None:
        self.by_path: Table = {}
        self.by_watcher: dict[Hashable, set[str]] = {}
        self.recursive = 0

    def add(self, path: str, watcher: Hashable, bit: int) -> None:
        ws = self.by_path.get(path)
        if ws is None:
            ws = self.by_path[path] = {}
        old = ws.get(watcher, 0)
        if old & bit:
            return
        ws[watcher] = old | bit
        if bit == RECURSIVE:
            self.recursive += 1
        if not old:
            ps = self.by_watcher.get(watcher)
            if ps is None:
                ps = self.by_watcher[watcher] = set()
            ps.add(path)

    def has(self, path: str, watcher: Hashable, bits: int) -> bool:
        ws = self.by_path.get(path)
        return bool(ws and ws.get(watcher, 0) & bits)

    def remove(self, path: str, watcher: Hashable, bits: int) -> bool:
        """Clear ``bits`` of (path, watcher); True if any was set."""
        ws = self.by_path.get(path)
        if not ws:
            return False
        old = ws.get(watcher, 0)
        if not old & bits:
            return False
        new = old & ~bits
        if old & RECURSIVE and not new & RECURSIVE:
            self.recursive -= 1
        if new:
            ws[watcher] = new
        else:
            del ws[watcher]
            if not ws:
                del self.by_path[path]
            ps = self.by_watcher.get(watcher)
            if ps is not None:
                ps.discard(path)
                if not ps:
                    del self.by_watcher[watcher]
        return True

    def drop(self, watcher: Hashable) -> None:
        for path in list(self.by_watcher.get(watcher, ())):
            self.remove(path, watcher, STANDARD | PERSISTENT | RECURSIVE)

    def collect(self, path: str, out: dict[Hashable, None], children_event: bool = False
                ) -> None:
        """Add the watchers a change at ``path`` fires to ``out``; consume one-shots.

        A NodeChildrenChanged (``children_event``) never goes to recursive watches."""
        ws = self.by_path.get(path)
        if ws:
            done: list[Hashable] = []
            for w, bits in ws.items():
                if children_event and not bits & (STANDARD | PERSISTENT):
                    continue
                out[w] = None
                if bits & STANDARD:
                    done.append(w)
            for w in done:
                self.remove(path, w, STANDARD)
        if self.recursive and not children_event:
            p = path
            while p != "/":
                i = p.rfind("/")
                p = p[:i] if i > 0 else "/"
                ws = self.by_path.get(p)
                if ws:
                    for w, bits in ws.items():
                        if bits & RECURSIVE:
                            out[w] = None

    def count(self) -> int:
        return sum(len(ws) for ws in self.by_path.values())


AclCheck = Callable[[AclList, int, list[Any]], bool]


class WatchManager:
    """Both tables, the watcher -> Conn map (for the ACL filter) and the triggers."""

    def __init__(self, allowed: AclCheck) -> None:
        self.data = WatchTable()
        self.child = WatchTable()
        self._conns: dict[Hashable, Conn] = {}
        self._allowed = allowed

    # ---------------------------------------------------------- registration

    def _note(self, conn: Conn) -> Hashable:
        w = conn.watcher
        if w not in self._conns:
            self._conns[w] = conn
        return w

    def add_data(self, conn: Conn, path: str) -> None:
        self.data.add(path, self._note(conn), STANDARD)

    def add_child(self, conn: Conn, path: str) -> None:
        self.child.add(path, self._note(conn), STANDARD)

    def add_persistent(self, conn: Conn, path: str, recursive: bool) -> None:
        """addWatch: like ZooKeeper 3.8 the watch goes into both tables (a recursive one
        in the child table only ever sees NodeDeleted, never NodeChildrenChanged)."""
        w = self._note(conn)
        bit = RECURSIVE if recursive else PERSISTENT
        self.data.add(path, w, bit)
        self.child.add(path, w, bit)

    def drop_watcher(self, watcher: Hashable) -> None:
        self.data.drop(watcher)
        self.child.drop(watcher)
        self._conns.pop(watcher, None)

    def _bits_for(self, wtype: int) -> tuple[int, int]:
        """(data-table bits, child-table bits) a WatcherType selects. As ZooKeeper 3.8:
        Children/Data/Any match every mode in their table(s); Persistent (4) and
        PersistentRecursive (5), 3.9 additions, match that mode in both tables."""
        every = STANDARD | PERSISTENT | RECURSIVE
        if wtype == WatcherType.CHILDREN:
            return 0, every
        if wtype == WatcherType.DATA:
            return every, 0
        if wtype == WatcherType.ANY:
            return every, every
        if wtype == WatcherType.PERSISTENT:
            return PERSISTENT, PERSISTENT
        if wtype == WatcherType.PERSISTENT_RECURSIVE:
            return RECURSIVE, RECURSIVE
        return 0, 0

    def contains(self, conn: Conn, path: str, wtype: int) -> bool:
        dbits, cbits = self._bits_for(wtype)
        w = conn.watcher
        return (bool(dbits) and self.data.has(path, w, dbits)) or (
            bool(cbits) and self.child.has(path, w, cbits))

    def remove(self, conn: Conn, path: str, wtype: int) -> bool:
        dbits, cbits = self._bits_for(wtype)
        w = conn.watcher
        removed = False
        if dbits:
            removed = self.data.remove(path, w, dbits)
        if cbits:
            removed = self.child.remove(path, w, cbits) or removed
        return removed

    # -------------------------------------------------------------- triggers

    def _deliver(self, watchers: dict[Hashable, None], etype: int, path: str, acl: AclList,
                 out: Events, suppress: dict[Hashable, None] | None = None) -> None:
        if not watchers:
            return
        ev = WatcherEvent(etype, SYNC_CONNECTED, path)
        conns = self._conns
        allowed = self._allowed
        for w in watchers:
            if suppress is not None and w in suppress:
                continue
            c = conns.get(w)
            if c is not None and not (acl.world & READ) and not allowed(acl, READ, c.auth_ids):
                continue
            out.append((w, ev))

    def created(self, path: str, acl: AclList, parent: str, parent_acl: AclList,
                out: Events) -> None:
        ws: dict[Hashable, None] = {}
        self.data.collect(path, ws)
        self._deliver(ws, NODE_CREATED, path, acl, out)
        self.children_changed(parent, parent_acl, out)

    def deleted(self, path: str, acl: AclList, parent: str, parent_acl: AclList,
                out: Events) -> None:
        ws: dict[Hashable, None] = {}
        self.data.collect(path, ws)
        self._deliver(ws, NODE_DELETED, path, acl, out)
        ws2: dict[Hashable, None] = {}
        self.child.collect(path, ws2)
        self._deliver(ws2, NODE_DELETED, path, acl, out, suppress=ws)
        self.children_changed(parent, parent_acl, out)

    def data_changed(self, path: str, acl: AclList, out: Events) -> None:
        ws: dict[Hashable, None] = {}
        self.data.collect(path, ws)
        self._deliver(ws, NODE_DATA_CHANGED, path, acl, out)

    def children_changed(self, path: str, acl: AclList, out: Events) -> None:
        ws: dict[Hashable, None] = {}
        self.child.collect(path, ws, children_event=True)
        self._deliver(ws, NODE_CHILDREN_CHANGED, path, acl, out)

    # --------------------------------------------------------------- summary

    def watch_count(self) -> int:
        """(path, watcher) registrations in both tables (mntr zk_watch_count)."""
        return self.data.count() + self.child.count()

    def summary(self) -> WatchSummary:
        by_path = {p: list(ws) for p, ws in sorted(self.data.by_path.items())}
        by_watcher: dict[Hashable, list[str]] = {}
        for w, ps in self.data.by_watcher.items():
            by_watcher[w] = sorted(ps)
        return WatchSummary(by_path, by_watcher, self.data.count(), self.watch_count())


class WatchSummary:
    """Data for 4lw wchs/wchc/wchp (data table only, as ZooKeeper) and mntr.

    ``by_path``: path -> watchers; ``by_watcher``: watcher -> sorted paths;
    ``data_watches``: (path, watcher) pairs in the data table (wchs "Total watches");
    ``total``: data + child table registrations (mntr zk_watch_count)."""

    __slots__ = ("by_path", "by_watcher", "data_watches", "total")

    def __init__(self, by_path: dict[str, list[Hashable]],
                 by_watcher: dict[Hashable, list[str]], data_watches: int, total: int) -> None:
        self.by_path = by_path
        self.by_watcher = by_watcher
        self.data_watches = data_watches
        self.total = total

    @property
    def connections(self) -> int:
        return len(self.by_watcher)

    @property
    def paths(self) -> int:
        return len(self.by_path)
