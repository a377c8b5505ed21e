"""An in-memory stand-in for zkpy.client.ZkClient (the async API the shell uses).

Enough ZooKeeper semantics for the shell's unit tests: stats and versions, sequential
and ephemeral nodes, ACLs kept as given, one-shot and persistent watches, multi. Time is
a counter (ctime = zxid * 1000), so outputs are deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from zkpy import errors
from zkpy.proto.opcodes import AddWatchMode, EventType, KeeperState, WatcherType
from zkpy.proto.records import ACL, Id, Stat

OPEN_ACL = [ACL(31, Id("world", "anyone"))]


@dataclass
class FakeEvent:
    type: EventType
    state: KeeperState
    path: str | None


@dataclass
class Node:
    data: bytes | None
    acl: list[Any]
    czxid: int
    mzxid: int
    pzxid: int
    version: int = 0
    cversion: int = 0
    aversion: int = 0
    owner: int = 0
    seq: int = 0
    children: set[str] = field(default_factory=set)


class FakeServer:
    """Shared state so several fake clients see the same tree."""

    def __init__(self) -> None:
        self.zxid = 0
        self.nodes: dict[str, Node] = {
            "/": Node(b"", OPEN_ACL, 0, 0, 0, children={"zookeeper"}),
            "/zookeeper": Node(b"", OPEN_ACL, 0, 0, 0, children={"config", "quota"}),
            "/zookeeper/config": Node(b"", OPEN_ACL, 0, 0, 0),
            "/zookeeper/quota": Node(b"", OPEN_ACL, 0, 0, 0),
        }
        self.clients: list[FakeZkClient] = []
        self.next_session = 0x1000000000000


def _parent(path: str) -> str:
    i = path.rfind("/")
    return path[:i] if i > 0 else "/"


class FakeTransaction:
    def __init__(self, client: FakeZkClient) -> None:
        self.client = client
        self.ops: list[tuple[str, tuple[Any, ...]]] = []

    def delete(self, path: str, version: int = -1) -> None:
        self.ops.append(("delete", (path, version)))

    def create(self, path: str, data: bytes = b"") -> None:
        self.ops.append(("create", (path, data)))

    def set_data(self, path: str, data: bytes, version: int = -1) -> None:
        self.ops.append(("set", (path, data, version)))

    def check(self, path: str, version: int) -> None:
        self.ops.append(("check", (path, version)))

    async def commit(self) -> list[Any]:
        results = []
        for op, args in self.ops:
            if op == "delete":
                await self.client.delete(*args)
            elif op == "create":
                await self.client.create(*args)
            elif op == "set":
                await self.client.set(*args)
            results.append(True)
        return results


class FakeZkClient:
    def __init__(self, hosts: str, *, server: FakeServer | None = None,
                 session_timeout_ms: int = 30000, read_only: bool = False,
                 connect_timeout_s: float = 10.0, default_watcher: Callable[..., Any] | None = None,
                 auth: Any = None, default_acl: Any = None, fail_connect: bool = False) -> None:
        self.hosts = hosts
        self.server = server or FakeServer()
        self.session_timeout_ms = session_timeout_ms
        self.default_watcher = default_watcher
        self.state = "CONNECTING"
        self.session_id = 0
        self.connected_host = hosts.split(",")[0].split("/")[0]
        self.fail_connect = fail_connect
        self.listeners: list[Callable[[str], None]] = []
        self.auth: list[tuple[str, str]] = [("ip", "127.0.0.1")]
        self.data_watches: dict[str, list[Any]] = {}
        self.child_watches: dict[str, list[Any]] = {}
        self.persistent: dict[str, list[tuple[Any, AddWatchMode]]] = {}
        self.calls: list[str] = []

    # -------------------------------------------------------------- lifecycle

    def add_listener(self, fn: Callable[[str], None]) -> None:
        self.listeners.append(fn)

    def _set_state(self, state: str) -> None:
        self.state = state
        for fn in self.listeners:
            fn(state)

    async def start(self, timeout_s: float | None = None) -> None:
        if self.fail_connect:
            raise errors.ConnectionLossError("/")
        self.server.next_session += 1
        self.session_id = self.server.next_session
        self.server.clients.append(self)
        self._set_state("CONNECTED")

    async def close(self) -> None:
        if self.state == "CLOSED":
            return
        for path in [p for p, n in self.server.nodes.items() if n.owner == self.session_id]:
            await self._delete(path, -1)
        if self in self.server.clients:
            self.server.clients.remove(self)
        self._set_state("CLOSED")

    def expire(self) -> None:
        self._set_state("EXPIRED")

    # -------------------------------------------------------------- helpers

    def _check(self, path: str) -> Node:
        if self.state not in ("CONNECTED", "CONNECTEDREADONLY"):
            raise errors.SessionExpiredError(path) if self.state == "EXPIRED" else \
                errors.ConnectionLossError(path)
        node = self.server.nodes.get(path)
        if node is None:
            raise errors.NoNodeError(path)
        return node

    def _stat(self, path: str) -> Stat:
        n = self.server.nodes[path]
        return Stat(n.czxid, n.mzxid, n.czxid * 1000, n.mzxid * 1000, n.version, n.cversion,
                    n.aversion, n.owner, len(n.data or b""), len(n.children), n.pzxid)

    def _resolve_watch(self, watch: Any) -> Any:
        return self.default_watcher if watch is True else watch

    def _fire(self, path: str, etype: EventType, child: bool = False) -> None:
        for c in list(self.server.clients):
            table = c.child_watches if child else c.data_watches
            for w in table.pop(path, []):
                if w is not None:
                    w(FakeEvent(etype, KeeperState.SYNC_CONNECTED, path))
            for wpath, entries in c.persistent.items():
                for w, mode in entries:
                    hit = (wpath == path) or (
                        mode == AddWatchMode.PERSISTENT_RECURSIVE and not child
                        and (path.startswith(wpath.rstrip("/") + "/")))
                    if child and mode == AddWatchMode.PERSISTENT_RECURSIVE:
                        hit = False
                    if hit:
                        w(FakeEvent(etype, KeeperState.SYNC_CONNECTED, path))

    def _zxid(self) -> int:
        self.server.zxid += 1
        return self.server.zxid

    # -------------------------------------------------------------- API

    async def create(self, path: str, data: bytes | None = b"", acl: Any = None, *,
                     ephemeral: bool = False, sequence: bool = False, container: bool = False,
                     ttl_ms: int = 0, include_stat: bool = False) -> Any:
        self.calls.append(f"create {path}")
        parent = _parent(path) if not path.endswith("/") else (path[:-1] or "/")
        try:
            pnode = self._check(parent)
        except errors.NoNodeError:
            raise errors.NoNodeError(path) from None
        if pnode.owner and pnode.owner > 0:
            raise errors.NoChildrenForEphemeralsError(path)
        if sequence:
            path = f"{path}{pnode.cversion:010d}"
        if path in self.server.nodes:
            raise errors.NodeExistsError(path)
        if acl is not None and not acl:
            raise errors.InvalidACLError(path)
        z = self._zxid()
        self.server.nodes[path] = Node(data, list(acl or OPEN_ACL), z, z, z,
                                       owner=self.session_id if ephemeral else 0)
        pnode.children.add(path.rsplit("/", 1)[1])
        pnode.cversion += 1
        pnode.pzxid = z
        self._fire(path, EventType.NODE_CREATED)
        self._fire(parent, EventType.NODE_CHILDREN_CHANGED, child=True)
        return (path, self._stat(path)) if include_stat else path

    async def _delete(self, path: str, version: int) -> None:
        node = self._check(path)
        if node.children:
            raise errors.NotEmptyError(path)
        if version != -1 and version != node.version:
            raise errors.BadVersionError(path)
        del self.server.nodes[path]
        parent = self.server.nodes[_parent(path)]
        parent.children.discard(path.rsplit("/", 1)[1])
        parent.cversion += 1
        parent.pzxid = self._zxid()
        self._fire(path, EventType.NODE_DELETED)
        self._fire(path, EventType.NODE_DELETED, child=True)
        self._fire(_parent(path), EventType.NODE_CHILDREN_CHANGED, child=True)

    async def delete(self, path: str, version: int = -1) -> None:
        self.calls.append(f"delete {path}")
        await self._delete(path, version)

    async def exists(self, path: str, watch: Any = None) -> Stat | None:
        w = self._resolve_watch(watch)
        if w is not None:
            self.data_watches.setdefault(path, []).append(w)
        try:
            self._check(path)
        except errors.NoNodeError:
            return None
        return self._stat(path)

    async def get(self, path: str, watch: Any = None) -> tuple[bytes | None, Stat]:
        node = self._check(path)
        w = self._resolve_watch(watch)
        if w is not None:
            self.data_watches.setdefault(path, []).append(w)
        return node.data, self._stat(path)

    async def set(self, path: str, data: bytes, version: int = -1) -> Stat:
        node = self._check(path)
        if version != -1 and version != node.version:
            raise errors.BadVersionError(path)
        node.data = data
        node.version += 1
        node.mzxid = self._zxid()
        self._fire(path, EventType.NODE_DATA_CHANGED)
        return self._stat(path)

    async def get_children(self, path: str, watch: Any = None,
                           include_stat: bool = False) -> Any:
        node = self._check(path)
        w = self._resolve_watch(watch)
        if w is not None:
            self.child_watches.setdefault(path, []).append(w)
        kids = list(node.children)
        return (kids, self._stat(path)) if include_stat else kids

    async def get_acl(self, path: str) -> tuple[list[Any], Stat]:
        node = self._check(path)
        return list(node.acl), self._stat(path)

    async def set_acl(self, path: str, acl: list[Any], version: int = -1) -> Stat:
        node = self._check(path)
        if version != -1 and version != node.aversion:
            raise errors.BadVersionError(path)
        node.acl = list(acl)
        node.aversion += 1
        return self._stat(path)

    async def sync(self, path: str) -> str:
        self._check(path)
        return path

    async def add_auth(self, scheme: str, credential: Any) -> None:
        if scheme not in ("digest", "ip"):
            self._set_state("AUTH_FAILED")
            raise errors.AuthFailedError()
        cred = credential.decode() if isinstance(credential, bytes) else credential
        self.auth.append((scheme, cred.split(":")[0]))

    async def add_watch(self, path: str, watch: Any, mode: AddWatchMode) -> None:
        self.persistent.setdefault(path, []).append((self._resolve_watch(watch), mode))

    async def remove_watches(self, path: str, watcher_type: WatcherType, watch: Any = None,
                             local: bool = False) -> None:
        removed = False
        if watcher_type in (WatcherType.DATA, WatcherType.ANY) and self.data_watches.pop(path,
                                                                                        None):
            removed = True
        if watcher_type in (WatcherType.CHILDREN, WatcherType.ANY) and \
                self.child_watches.pop(path, None):
            removed = True
        if watcher_type in (WatcherType.PERSISTENT, WatcherType.PERSISTENT_RECURSIVE,
                            WatcherType.ANY):
            entries = self.persistent.get(path, [])
            keep = [(w, m) for w, m in entries if watch is not None and w is not watch]
            if len(keep) != len(entries):
                removed = True
            self.persistent[path] = keep
        if not removed:
            raise errors.NoWatcherError(path)

    async def get_ephemerals(self, prefix: str = "/") -> list[str]:
        return sorted(p for p, n in self.server.nodes.items()
                      if n.owner == self.session_id and p.startswith(prefix))

    async def get_all_children_number(self, path: str) -> int:
        self._check(path)
        return sum(1 for p in self.server.nodes if p.startswith(path.rstrip("/") + "/"))

    async def whoami(self) -> list[tuple[str, str]]:
        return list(self.auth)

    async def get_config(self, watch: Any = None) -> tuple[bytes | None, Stat]:
        return await self.get("/zookeeper/config", watch)

    def transaction(self) -> FakeTransaction:
        return FakeTransaction(self)

    async def ensure_path(self, path: str) -> None:
        cur = ""
        for part in [p for p in path.split("/") if p]:
            cur += "/" + part
            if cur not in self.server.nodes:
                await self.create(cur, b"")

    async def delete_recursive(self, path: str) -> None:
        for child in list(self._check(path).children):
            await self.delete_recursive(path.rstrip("/") + "/" + child)
        await self.delete(path)


def factory(server: FakeServer | None = None, **extra: Any) -> Callable[..., FakeZkClient]:
    srv = server or FakeServer()

    def make(hosts: str, **kw: Any) -> FakeZkClient:
        return FakeZkClient(hosts, server=srv, **kw, **extra)

    make.server = srv  # type: ignore[attr-defined]
    return make
