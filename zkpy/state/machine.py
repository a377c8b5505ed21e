"""StateMachine: the replicated, deterministic ZooKeeper state machine (the contract).

The one decision: writes are **Commands** applied deterministically.
A write is turned into a ``Command`` at the leader by :meth:`StateMachine.command` (the
decoded request plus zxid, time, session id, cxid and the connection's auth ids). Every
check that depends on the tree (NONODE, NODEEXISTS, BADVERSION, NOAUTH, NOTEMPTY,
quotas, sequence suffix, ...) happens in :meth:`StateMachine.apply`, in ZooKeeper's check
order, on every member identically. A failing command still consumes its zxid (as
ZooKeeper's error txns do). Commands travel as bytes (``Command.to_bytes`` /
``Command.from_bytes``). Apply is deterministic: same state + same command => same
state, same reply, same events (nothing depends on str-hash iteration order).

Runtime write path::

    cmd = sm.command(conn, op, request, cxid, now_ms)   # or create_session_command, ...
    log append (+ fsync, + quorum)
    applied = sm.apply(cmd)
    send applied.events to their watchers (WatcherEvent, xid -1, zxid -1), then the reply
    ReplyHeader{xid, applied.zxid, applied.err} + applied.response (if not None) to the
    connection of (applied.session_id, applied.cxid) if it is ours.

SYNC, PING, AUTH, SASL, SET_WATCHES(2) framing, CLOSE_SESSION socket handling, 4lw and
unknown opcodes are the runtime's business; CHECK outside a multi -> UNIMPLEMENTED +
close (never a command).

Types (``zkpy.state.types``, re-exported here and from ``zkpy.state``):
``StateConfig`` (frozen: server_id, tick_ms, min/max_session_timeout_ms, super_digest,
skip_acl, enforce_quota, extended_types_enabled, digest_auth_enabled, sasl_users,
config_data, container_max_never_used_ms, secret), ``Conn`` (one per connection, owned by
the runtime: session_id, auth_ids starting as ``[Id("ip", remote_ip)]``, watcher key,
remote_ip), ``Command`` (zxid, session_id, cxid, time_ms, op, request, auth_ids;
to_bytes/from_bytes), ``Applied`` (zxid, err, response, events, session_id, cxid,
new_session, closed_session) and ``MultiResponse`` (results; ``encode(out)``).

Notifications: ``Applied.events`` / :meth:`StateMachine.set_watches` give WatcherEvents
whose path is the full server path (state SyncConnected); the runtime writes them with
xid -1 and zxid -1 (ZooKeeper 3.8). Events a connection may not READ are already dropped.

Module map: ``types`` (StateConfig, Conn, Command, Applied, MultiResponse), ``tree``
(DataTree), ``acl``, ``watches``, ``sessions``, ``quota``, ``sasl``, ``apply`` (write
handlers), ``digest``. Everything here is pure: no asyncio, socket, time, random, os,
threading.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Iterable, Iterator
from typing import Any

from ..proto import records as r
from ..proto.jute import INT32, Record, WireRecord, as_wire
from ..proto.opcodes import AddWatchMode, Err, OpCode, WatcherType
from .acl import ADMIN, READ, AclCache, AclPolicy, generate_digest, mask_digests, user_of
from .apply import T_CREATED, T_DATA, T_DELETED, Applier, Fail
from .digest import tree_digest
from .javaorder import hash_set_order
from .quota import QuotaTracker
from .sasl import DigestMd5Server
from .sessions import SessionTracker, session_password, to_signed64
from .tree import CONFIG, ROOT, DataTree, Node, child_names, is_ttl_owner, ttl_of
from .types import (
    TXN_HEADER,
    Applied,
    Command,
    Conn,
    Event,
    MultiResponse,
    MultiResult,
    Response,
    StateConfig,
    encode_ids,
)
from .watches import (
    NODE_CHILDREN_CHANGED,
    NODE_CREATED,
    NODE_DATA_CHANGED,
    NODE_DELETED,
    SYNC_CONNECTED,
    WatchManager,
    WatchSummary,
)

NONODE = int(Err.NONODE)
# Plain ints for hot paths: an IntEnum attribute lookup costs ~100 ns on CPython 3.11.
CLOSE_SESSION = int(OpCode.CLOSE_SESSION)
NOAUTH = int(Err.NOAUTH)
SESSIONEXPIRED = int(Err.SESSIONEXPIRED)
UNIMPLEMENTED = int(Err.UNIMPLEMENTED)
MARSHALLINGERROR = int(Err.MARSHALLINGERROR)
BADARGUMENTS = int(Err.BADARGUMENTS)
NOWATCHER = int(Err.NOWATCHER)

ReadResult = tuple[int, Record | WireRecord | MultiResponse | None]
_WATCHER_TYPES = frozenset(int(t) for t in WatcherType)
_pack_len = INT32.pack
_pack_txn_header = TXN_HEADER.pack
_new = object.__new__
_NULL_BUFFER = _pack_len(-1)


class SnapshotNode:
    """One node as persisted: ``stat`` is a StatPersisted (cversion = create count C,
    ephemeralOwner internal incl. container/TTL markers); ``acl`` is the ACL list."""

    __slots__ = ("path", "data", "acl", "stat")

    def __init__(self, path: str, data: bytes | None, acl: list[r.ACL],
                 stat: r.StatPersisted) -> None:
        self.path = path
        self.data = data
        self.acl = acl
        self.stat = stat

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SnapshotNode):
            return NotImplemented
        return (self.path, self.data, self.acl, self.stat) == (
            other.path, other.data, other.acl, other.stat)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SnapshotNode({self.path!r}, {self.data!r}, {self.acl!r}, {self.stat!r})"


class SnapshotHeader:
    """Everything but the nodes: ``last_zxid``, ``next_session_id`` (None until the first
    session was allocated) and ``sessions`` = sorted ``[(session_id, timeout_ms)]``."""

    __slots__ = ("last_zxid", "next_session_id", "sessions")

    def __init__(self, last_zxid: int, next_session_id: int | None,
                 sessions: list[tuple[int, int]]) -> None:
        self.last_zxid = last_zxid
        self.next_session_id = next_session_id
        self.sessions = sessions

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SnapshotHeader):
            return NotImplemented
        return (self.last_zxid, self.next_session_id, self.sessions) == (
            other.last_zxid, other.next_session_id, other.sessions)

    __hash__ = None  # type: ignore[assignment]


class StateMachine:
    """The ZooKeeper state machine of one member.

    Attributes: ``last_zxid`` (last applied zxid: ReplyHeader.zxid for reads and pings),
    ``next_zxid`` (last zxid handed out by the command constructors; >= last_zxid; a new
    leader sets it to ``epoch << 32``), ``config``, ``tree``.
    """

    def __init__(self, config: StateConfig | None = None) -> None:
        config = config or StateConfig()
        self.config = config
        self.last_zxid = 0
        self.next_zxid = 0
        self.acls = AclCache()
        self.policy = AclPolicy(config.skip_acl, config.digest_auth_enabled,
                                bool(config.sasl_users), config.x509_enabled)
        self.tree = DataTree(self.acls.intern(r_open()), self.acls.intern(r_read()),
                             config.config_data, config.extended_types_enabled)
        self.quota = QuotaTracker(self.tree)
        self.sessions = SessionTracker(config.server_id, config.tick_ms, config.secret)
        self.watches = WatchManager(self.policy.allowed)
        self._applier = Applier(config, self.tree, self.acls, self.policy, self.quota,
                                self.sessions)
        self._nodes = self.tree.nodes
        self._stat = self.tree.stat
        self._stat_bytes = self.tree.stat_bytes
        self._allowed = self.policy.allowed
        self._sess = self.sessions.sessions
        self._sasl_counter = 0
        self._clocks_started = False
        self._reads: dict[int, Any] = {
            OpCode.EXISTS: self._exists,
            OpCode.GET_DATA: self._get_data,
            OpCode.GET_CHILDREN: self._get_children,
            OpCode.GET_CHILDREN2: self._get_children2,
            OpCode.GET_ACL: self._get_acl,
            OpCode.GET_EPHEMERALS: self._get_ephemerals,
            OpCode.GET_ALL_CHILDREN_NUMBER: self._get_all_children_number,
            OpCode.WHO_AM_I: self._who_am_i,
            OpCode.MULTI_READ: self._multi_read,
            OpCode.CHECK_WATCHES: self._check_watches,
            OpCode.REMOVE_WATCHES: self._remove_watches,
            OpCode.ADD_WATCH: self._add_watch,
        }

    # ================================================================== reads

    def read(self, conn: Conn, op: int, request: Any) -> ReadResult:
        """Answer a read at once from the local tree: ``(err, response-or-None)``.

        ``op`` in EXISTS, GET_DATA, GET_CHILDREN, GET_CHILDREN2, GET_ACL, GET_EPHEMERALS,
        GET_ALL_CHILDREN_NUMBER, WHO_AM_I, MULTI_READ (request = list of (op, record)),
        CHECK_WATCHES, REMOVE_WATCHES, ADD_WATCH. Watches are registered for
        ``conn.watcher``. A closing/unknown session gets SESSIONEXPIRED; other opcodes
        UNIMPLEMENTED. Reply zxid = ``last_zxid``.
        """
        s = self._sess.get(conn.session_id)
        if s is None or s.closing:
            return SESSIONEXPIRED, None
        h = self._reads.get(op)
        if h is None:
            return UNIMPLEMENTED, None
        return h(conn, request)  # type: ignore[no-any-return]

    def _readable(self, n: Node, conn: Conn) -> bool:
        acl = n.acl
        return bool(acl.world & READ) or self._allowed(acl, READ, conn.auth_ids)

    def _get_data(self, conn: Conn, req: Any) -> ReadResult:
        path = req.path
        n = self._nodes.get(path)
        if n is None:
            return NONODE, None
        acl = n.acl
        if not acl.world & READ and not self._allowed(acl, READ, conn.auth_ids):
            return NOAUTH, None
        if req.watch:
            self.watches.add_data(conn, path)
        data = n.data
        # GetDataResponse's wire form: the data as a jute buffer, then the Stat.
        head = _NULL_BUFFER if data is None else _pack_len(len(data)) + data
        return 0, as_wire(r.GetDataResponse, head + self._stat_bytes(n))

    def _exists(self, conn: Conn, req: Any) -> ReadResult:
        path = req.path
        if path is None or "\0" in path:
            return BADARGUMENTS, None
        n = self._nodes.get(path)
        if n is not None:
            acl = n.acl
            if not acl.world & READ and not self._allowed(acl, READ, conn.auth_ids):
                return NOAUTH, None
        if req.watch:
            self.watches.add_data(conn, path)
        if n is None:
            return NONODE, None
        return 0, as_wire(r.ExistsResponse, self._stat_bytes(n))

    def _children(self, conn: Conn, req: Any) -> tuple[int, Node | None]:
        path = req.path
        n = self._nodes.get(path)
        if n is None:
            return NONODE, None
        if not self._readable(n, conn):
            return NOAUTH, None
        if req.watch:
            self.watches.add_child(conn, path)
        return 0, n

    def _get_children(self, conn: Conn, req: Any) -> ReadResult:
        err, n = self._children(conn, req)
        if n is None:
            return err, None
        return 0, r.GetChildrenResponse(child_names(req.path, n.children))

    def _get_children2(self, conn: Conn, req: Any) -> ReadResult:
        err, n = self._children(conn, req)
        if n is None:
            return err, None
        return 0, r.GetChildren2Response(child_names(req.path, n.children), self._stat(n))

    def _get_acl(self, conn: Conn, req: Any) -> ReadResult:
        n = self._nodes.get(req.path)
        if n is None:
            return NONODE, None
        ids = conn.auth_ids
        if not self._allowed(n.acl, READ | ADMIN, ids):
            return NOAUTH, None
        acls = n.acl.acls
        if not self._allowed(n.acl, ADMIN, ids):
            acls = mask_digests(acls)
        else:
            acls = list(acls)
        return 0, r.GetACLResponse(acls, self._stat(n))

    def _get_ephemerals(self, conn: Conn, req: Any) -> ReadResult:
        mine = self.tree.ephemerals.get(conn.session_id, ())
        prefix = req.prefixPath if req is not None else None
        if prefix is None or not prefix.strip() or prefix.strip() == "/":
            out = sorted(mine)
        else:
            out = sorted(p for p in mine if p.startswith(prefix))
        return 0, r.GetEphemeralsResponse(out)

    def _get_all_children_number(self, conn: Conn, req: Any) -> ReadResult:
        path = req.path
        n = self._nodes.get(path)
        if n is None:
            return NONODE, None
        if not self._readable(n, conn):
            return NOAUTH, None
        return 0, r.GetAllChildrenNumberResponse(self.tree.count_descendants(path))

    def _who_am_i(self, conn: Conn, req: Any) -> ReadResult:
        ids = hash_set_order(conn.auth_ids)
        return 0, r.WhoAmIResponse([r.ClientInfo(i.scheme, user_of(i)) for i in ids])

    def _multi_read(self, conn: Conn, ops: Any) -> ReadResult:
        """Not atomic: each sub-op independently; failures become error results."""
        results: list[MultiResult] = []
        for op, req in ops or ():
            if op == OpCode.GET_DATA:
                err, rec = self._get_data(conn, req)
            elif op == OpCode.GET_CHILDREN:
                err, rec = self._get_children(conn, req)
            else:
                return MARSHALLINGERROR, None
            if err:
                results.append((-1, err, r.ErrorResponse(err)))
            else:
                results.append((op, 0, rec))
        return 0, MultiResponse(results)

    def _check_watches(self, conn: Conn, req: Any) -> ReadResult:
        if req.type not in _WATCHER_TYPES:
            return MARSHALLINGERROR, None
        if self.watches.contains(conn, req.path, req.type):
            return 0, None
        return NOWATCHER, None

    def _remove_watches(self, conn: Conn, req: Any) -> ReadResult:
        if req.type not in _WATCHER_TYPES:
            return MARSHALLINGERROR, None
        if self.watches.remove(conn, req.path, req.type):
            return 0, None
        return NOWATCHER, None

    def _add_watch(self, conn: Conn, req: Any) -> ReadResult:
        if req.mode == AddWatchMode.PERSISTENT:
            self.watches.add_persistent(conn, req.path, False)
        elif req.mode == AddWatchMode.PERSISTENT_RECURSIVE:
            self.watches.add_persistent(conn, req.path, True)
        else:
            return MARSHALLINGERROR, None
        return 0, r.ErrorResponse(0)

    def set_watches(self, conn: Conn, request: r.SetWatches | r.SetWatches2
                    ) -> list[r.WatcherEvent]:
        """Re-register watches after a reconnect (DataTree.setWatches).

        Returns the events to send now (xid -1, zxid -1) BEFORE the empty reply: data
        watch on a missing node -> NodeDeleted, changed since relativeZxid (mzxid) ->
        NodeDataChanged; exist watch on an existing node -> NodeCreated; child watch on a
        missing node -> NodeDeleted, pzxid > relativeZxid -> NodeChildrenChanged;
        otherwise (and for persistent / persistent-recursive lists) the watch is added.
        """
        rel = request.relativeZxid
        nodes = self._nodes
        w = self.watches
        out: list[r.WatcherEvent] = []
        for path in request.dataWatches or ():
            n = nodes.get(path)
            if n is None:
                out.append(r.WatcherEvent(NODE_DELETED, SYNC_CONNECTED, path))
            elif n.mzxid > rel:
                out.append(r.WatcherEvent(NODE_DATA_CHANGED, SYNC_CONNECTED, path))
            else:
                w.add_data(conn, path)
        for path in request.existWatches or ():
            if path in nodes:
                out.append(r.WatcherEvent(NODE_CREATED, SYNC_CONNECTED, path))
            else:
                w.add_data(conn, path)
        for path in request.childWatches or ():
            n = nodes.get(path)
            if n is None:
                out.append(r.WatcherEvent(NODE_DELETED, SYNC_CONNECTED, path))
            elif n.pzxid > rel:
                out.append(r.WatcherEvent(NODE_CHILDREN_CHANGED, SYNC_CONNECTED, path))
            else:
                w.add_child(conn, path)
        if isinstance(request, r.SetWatches2):
            for path in request.persistentWatches or ():
                w.add_persistent(conn, path, False)
            for path in request.persistentRecursiveWatches or ():
                w.add_persistent(conn, path, True)
        return out

    def drop_watcher(self, watcher: Hashable) -> None:
        """The connection is gone: forget all its watches."""
        self.watches.drop_watcher(watcher)

    # ================================================================= writes

    def _next(self) -> int:
        self.next_zxid += 1
        return self.next_zxid

    def command(self, conn: Conn, op: int, request: Any, cxid: int, now_ms: int,
                raw: bytes | None = None) -> Command:
        """Make the Command for a write request (assigns ``next_zxid + 1``; changes no
        tree state). The auth ids are recorded in Java's iteration order (a
        ConcurrentHashMap key set), which is the order ``auth`` ACLs expand in. ``op``: CREATE, CREATE2, CREATE_CONTAINER, CREATE_TTL, DELETE,
        SET_DATA, SET_ACL, MULTI (request = list of (op, record)), RECONFIG,
        CLOSE_SESSION (same as :meth:`close_session_command`). ``raw``: the request body
        as received, when ``request`` was decoded from exactly those bytes."""
        if op == CLOSE_SESSION:
            return self.close_session_command(conn.session_id, now_ms, cxid)
        ids = conn.auth_ids
        cached = conn.txn_ids
        if cached is None or cached[0] != len(ids):
            ordered = hash_set_order(ids) if len(ids) > 1 else list(ids)
            cached = conn.txn_ids = (len(ids), ordered, encode_ids(ordered))
        self.next_zxid += 1  # _next(), written out: this is every client write's path
        # Command(...) written out (no __init__ frame on every write), with its wire form
        # when the request's bytes are at hand (Command.to_bytes's layout: header, ids,
        # request).
        cmd = _new(Command)
        cmd.zxid = zxid = self.next_zxid
        cmd.session_id = sid = conn.session_id
        cmd.cxid = cxid
        cmd.time_ms = now_ms
        cmd.op = op
        cmd.request = request
        cmd.auth_ids = cached[1]
        cmd.wire = (None if raw is None else
                    _pack_txn_header(sid, cxid, zxid, now_ms, op) + cached[2] + raw)
        return cmd

    def create_session_command(self, timeout_ms: int, now_ms: int) -> Command:
        """Negotiate the timeout (clamped to min/max) and allocate the session id
        (``((now_ms << 24) >>> 8) | server_id << 56`` then +1 per session)."""
        c = self.config
        timeout = max(c.min_session_timeout_ms, min(c.max_session_timeout_ms, timeout_ms))
        sid = self.sessions.allocate(now_ms)
        return Command(self._next(), sid, 0, now_ms, OpCode.CREATE_SESSION,
                       r.CreateSessionTxn(timeout), [])

    def close_session_command(self, session_id: int, now_ms: int, cxid: int = 0) -> Command:
        """Mark the session closing (later reads get SESSIONEXPIRED, later writes fail
        with SESSIONEXPIRED at apply) and make its CLOSE_SESSION command. ``cxid``
        (extension) = the client's xid for a client-initiated close."""
        self.sessions.set_closing(session_id)
        return Command(self._next(), session_id, cxid, now_ms, OpCode.CLOSE_SESSION, None, [])

    def reap_commands(self, now_ms: int) -> list[Command]:
        """DELETE_CONTAINER commands (sorted by path) for empty containers that once had a
        child (or never did and ``container_max_never_used_ms`` elapsed since mtime) and
        childless TTL nodes with ``now - mtime > ttl`` (ContainerManager.getCandidates)."""
        tree = self.tree
        cands: list[str] = []
        never = self.config.container_max_never_used_ms
        for p in tree.containers:
            n = tree.nodes.get(p)
            if n is None or n.children:
                continue
            if n.cver > 0 or (never != 0 and now_ms - n.mtime > never):
                cands.append(p)
        for p in tree.ttls:
            n = tree.nodes.get(p)
            if n is None or n.children or not is_ttl_owner(n.owner):
                continue
            ttl = ttl_of(n.owner)
            if ttl != 0 and now_ms - n.mtime > ttl:
                cands.append(p)
        return [Command(self._next(), 0, 0, now_ms, OpCode.DELETE_CONTAINER,
                        r.DeleteContainerRequest(p.encode("utf-8")), [])
                for p in sorted(cands)]

    def apply(self, cmd: Command) -> Applied:
        """Apply one Command (in zxid order, on every member) -> :class:`Applied`.

        Failed writes consume the zxid (``err`` = the code, no response). MULTI: one zxid,
        all-or-nothing, reply err 0, results OK before the failing op / its code / -2
        after. CREATE_SESSION fills ``new_session``; CLOSE_SESSION deletes the session's
        ephemerals (sorted, one zxid, with events) and fills ``closed_session``.
        """
        zxid = cmd.zxid
        if zxid > self.last_zxid:
            self.last_zxid = zxid
        if zxid > self.next_zxid:
            self.next_zxid = zxid
        ap = self._applier
        # The applier's per-command context, set here (a call less on every write).
        ap.zxid = zxid
        t = cmd.time_ms
        if t != ap.time:  # one int per millisecond: nodes created together share it
            ap.time = t
        ap.sid = cmd.session_id
        ap.ids = cmd.auth_ids
        ap.triggers = []
        op = cmd.op
        resp: Response
        h = ap.handlers.get(op)
        if h is not None:   # the common case first: a plain write
            try:
                resp = h(op, cmd.request)
            except Fail as f:  # raised before any change or trigger
                return Applied(zxid, f.code, None, [], cmd.session_id, cmd.cxid)
            except (AttributeError, TypeError, ValueError):
                # a record of the wrong shape (checked first)
                return Applied(zxid, MARSHALLINGERROR, None, [], cmd.session_id, cmd.cxid)
            # Applied(...) and _events written out: a plain write's path, two frames less.
            a = _new(Applied)
            a.zxid = zxid
            a.err = 0
            a.response = resp
            trig = ap.triggers
            w = self.watches
            a.events = (self._fire(trig) if trig and (w.data.by_path or w.child.by_path)
                        else [])
            a.session_id = cmd.session_id
            a.cxid = cmd.cxid
            a.new_session = a.closed_session = None
            return a
        err = 0
        resp = None
        new_session = None
        closed = None
        if op == OpCode.MULTI:
            req = cmd.request
            resp = ap.multi(req if isinstance(req, list) else [])
        elif op == OpCode.CREATE_SESSION:
            req = cmd.request
            timeout = req.timeOut if isinstance(req, r.CreateSessionTxn) else \
                self.config.min_session_timeout_ms
            self.sessions.add(cmd.session_id, timeout, cmd.time_ms)
            self.sessions.note_applied(cmd.session_id)
            new_session = (cmd.session_id, timeout, self.sessions.password(cmd.session_id))
        elif op == OpCode.CLOSE_SESSION:
            self._close_session(cmd.session_id)
            closed = cmd.session_id
        else:
            err = UNIMPLEMENTED
        return Applied(zxid, err, resp, self._events(ap.triggers), cmd.session_id, cmd.cxid,
                       new_session, closed)

    def _events(self, triggers: list[Any]) -> list[Event]:
        """The watch events of a command's triggers (fired: one-shot watches are gone)."""
        if not triggers:
            return []
        w = self.watches
        # No watch anywhere (a replay, a write-only workload): nothing can fire.
        return self._fire(triggers) if w.data.by_path or w.child.by_path else []

    def apply_replayed(self, cmd: Command) -> None:
        """Apply a Command read back from the log (recovery): the same state change as
        :meth:`apply`, without building the reply nobody waits for."""
        ap = self._applier
        ap.replies = False
        try:
            self.apply(cmd)
        finally:
            ap.replies = True

    def _close_session(self, sid: int) -> None:
        tree = self.tree
        ap = self._applier
        for path in sorted(tree.ephemerals.get(sid, ())):
            node = tree.nodes[path]
            parent_path = path[:path.rfind("/")] or ROOT
            ap.remove_node(path, node, tree.nodes[parent_path])
        self.sessions.remove(sid)

    def _fire(self, triggers: list[Any]) -> list[Event]:
        out: list[Event] = []
        w = self.watches
        for t in triggers:
            kind = t[0]
            if kind == T_CREATED:
                w.created(t[1], t[2], t[3], t[4], out)
            elif kind == T_DELETED:
                w.deleted(t[1], t[2], t[3], t[4], out)
            elif kind == T_DATA:
                w.data_changed(t[1], t[2], out)
        return out

    def set_config_node(self, data: bytes, config_version: int, time_ms: int
                        ) -> list[Event]:
        """Write the dynamic config into /zookeeper/config as a quorum member does at
        startup (ZKDatabase.initConfigInZKDatabase): data, version -1, mzxid = the config
        version, mtime = ``time_ms``. Local (not a txn); returns NodeDataChanged events."""
        tree = self.tree
        node = tree.nodes[CONFIG]
        tree.set_data(node, CONFIG, data, -1, config_version, time_ms)
        out: list[Event] = []
        self.watches.data_changed(CONFIG, node.acl, out)
        return out

    # =============================================================== sessions

    def session_alive(self, session_id: int) -> bool:
        """Known and not closing."""
        return self.sessions.alive(session_id)

    def check_password(self, session_id: int, passwd: bytes) -> bool:
        """Alive and ``passwd`` is its 16-byte password."""
        return self.sessions.alive(session_id) and bytes(passwd) == self.sessions.password(
            session_id)

    def session_password(self, session_id: int) -> bytes:
        return session_password(session_id, self.config.secret)

    def session_timeout(self, session_id: int) -> int | None:
        s = self._sess.get(session_id)
        return s.timeout if s is not None else None

    def touch(self, session_id: int, now_ms: int) -> None:
        """Any packet from the session's connection: expiry = next tick after now+timeout."""
        self.sessions.touch(session_id, now_ms)

    def expired_sessions(self, now_ms: int) -> list[int]:
        """Sessions due for a close_session_command (sorted). Each is returned once and
        marked closing. The first call on a machine restarts every session clock
        (see :meth:`restart_session_clocks`)."""
        if not self._clocks_started:
            self.restart_session_clocks(now_ms)
        return self.sessions.expired(now_ms)

    def restart_session_clocks(self, now_ms: int) -> None:
        """Give every live session a full timeout from ``now_ms`` (as ZooKeeper does for
        the sessions it recovers at startup, or a new leader for the sessions it
        inherits). Called automatically by the first :meth:`expired_sessions`."""
        self._clocks_started = True
        for sid in list(self._sess):
            self.sessions.touch(sid, now_ms)

    # =================================================================== auth

    def authenticate(self, conn: Conn, scheme: str, auth: bytes) -> bool:
        """AuthPacket (op 100): True = OK (ids added to ``conn.auth_ids``); False =
        AUTHFAILED (the runtime replies -115 and closes). ``digest`` always succeeds
        (adds ``super`` too when it hashes to ``super_digest``); ``ip`` adds the remote
        address; ``x509`` succeeds on a connection that has a client certificate's id (the
        runtime adds it at the TLS handshake); other schemes fail."""
        if scheme == "digest" and self.config.digest_auth_enabled:
            digest = generate_digest(bytes(auth or b"").decode("utf-8", "replace"))
            if self.config.super_digest and digest == self.config.super_digest:
                self._add_id(conn, r.Id("super", ""))
            self._add_id(conn, r.Id("digest", digest))
            return True
        if scheme == "ip":
            self._add_id(conn, r.Id("ip", conn.remote_ip))
            return True
        if scheme == "x509" and self.config.x509_enabled:
            return any(i.scheme == "x509" for i in conn.auth_ids)
        return False

    @staticmethod
    def _add_id(conn: Conn, ident: r.Id) -> None:
        if ident not in conn.auth_ids:
            conn.auth_ids.append(ident)

    def sasl_step(self, conn: Conn, token: bytes) -> tuple[bool, bytes]:
        """One SASL DIGEST-MD5 step (op 102): ``(ok, reply token)``; not ok = AUTHFAILED.
        On success ``Id("sasl", user)`` is added to ``conn.auth_ids``."""
        users = dict(self.config.sasl_users)
        if not users:
            return False, b""
        st = conn.sasl
        if not isinstance(st, DigestMd5Server):
            self._sasl_counter += 1
            nonce = hashlib.sha256(
                f"zkpy-sasl:{self.config.secret}:{self._sasl_counter}:{id(conn)}".encode()
            ).hexdigest()[:32]
            st = conn.sasl = DigestMd5Server(nonce)
        ok, reply = st.step(bytes(token or b""), users)
        if ok and st.complete and st.user is not None:
            self._add_id(conn, r.Id("sasl", st.user))
        return ok, reply

    # ========================================================== introspection

    def node_count(self) -> int:
        """As ZooKeeper counts ("" and "/" separately): 5 on a fresh tree."""
        return len(self._nodes)

    def watch_summary(self) -> WatchSummary:
        """wchs/wchc/wchp data (data-table watches, as ZooKeeper) + total count."""
        return self.watches.summary()

    def ephemerals_by_session(self) -> dict[int, list[str]]:
        return {sid: sorted(ps) for sid, ps in sorted(self.tree.ephemerals.items())}

    def approximate_data_size(self) -> int:
        """Sum of len(path) + len(data) over all nodes (DataTree.approximateDataSize)."""
        return self.tree.data_size

    def session_count(self) -> int:
        return len(self._sess)

    def sessions_snapshot(self) -> dict[int, int]:
        """session id -> timeout ms (sorted by id)."""
        return {sid: s.timeout for sid, s in sorted(self._sess.items())}

    # ============================================================== snapshots

    def snapshot_header(self) -> SnapshotHeader:
        """Non-node state to persist with a snapshot (see :meth:`iter_nodes`)."""
        return SnapshotHeader(self.last_zxid, self.sessions.next_sid,
                              [(sid, s.timeout) for sid, s in sorted(self._sess.items())])

    def iter_nodes(self) -> Iterator[SnapshotNode]:
        """Every node (the "" alias excluded), parents before children, root first.

        Consume it without applying commands in between (commands are not idempotent,
        so fuzzy snapshots are not supported: copy or fork instead)."""
        stat_of = _persisted
        for path, n in self.tree.walk(ROOT):
            yield SnapshotNode(path, n.data, list(n.acl.acls), stat_of(n))

    def snapshot_rows(self) -> Iterator[tuple[Any, ...]]:
        """:meth:`iter_nodes` in the row layout :meth:`from_snapshot_rows` reads, without
        a record per node (what the snapshot writer consumes)."""
        for path, n in self.tree.walk(ROOT):
            yield (path, n.data, n.acl.key, n.czxid, n.mzxid, n.ctime, n.mtime, n.version,
                   n.cver, n.aversion, n.owner, n.pzxid)

    @classmethod
    def from_snapshot(cls, config: StateConfig, header: SnapshotHeader,
                      nodes: Iterable[SnapshotNode]) -> StateMachine:
        """Rebuild a machine from :meth:`snapshot_header` + :meth:`iter_nodes` output
        (nodes must come parents first). Watches and per-connection state are not part of
        a snapshot; restored sessions get a fresh expiry of one timeout from 0 — the
        runtime should ``touch`` them (ZooKeeper likewise restarts session clocks)."""
        rows = ((sn.path, sn.data, tuple((a.perms, a.id.scheme, a.id.id) for a in sn.acl),
                 sn.stat.czxid, sn.stat.mzxid, sn.stat.ctime, sn.stat.mtime, sn.stat.version,
                 sn.stat.cversion, sn.stat.aversion, sn.stat.ephemeralOwner, sn.stat.pzxid)
                for sn in nodes)
        return cls.from_snapshot_rows(config, header, rows)

    @classmethod
    def from_snapshot_rows(cls, config: StateConfig, header: SnapshotHeader,
                           rows: Iterable[tuple[Any, ...]]) -> StateMachine:
        """:meth:`from_snapshot` for bulk loading, without a record per node: each row is
        ``(path, data, acl, czxid, mzxid, ctime, mtime, version, cversion, aversion,
        ephemeral_owner, pzxid)`` with ``acl`` as ``((perms, scheme, id), ...)``, parents
        first (the order a snapshot file keeps them in)."""
        sm = cls(config)
        restore = sm.tree.restore_node
        intern = sm.acls.intern_key
        for (path, data, acl, czxid, mzxid, ctime, mtime, version, cversion, aversion,
             owner, pzxid) in rows:
            restore(path, Node(data, intern(acl), czxid, mzxid, ctime, mtime, version,
                               cversion, aversion, owner, pzxid))
        sm.quota.rebuild()
        sm.last_zxid = header.last_zxid
        sm.next_zxid = header.last_zxid
        sm.sessions.next_sid = header.next_session_id
        for sid, timeout in header.sessions:
            sm.sessions.add(sid, timeout, 0)
        return sm

    def digest(self) -> int:
        """Deterministic 64-bit digest over sorted (path, StatPersisted, data, acl)."""
        nodes = self._nodes
        return tree_digest((p, (n.czxid, n.mzxid, n.ctime, n.mtime, n.version, n.cver,
                                n.aversion, n.owner, n.pzxid), n.data, n.acl.key)
                           for p in self.tree.real_paths() for n in (nodes[p],))


def _persisted(n: Node) -> r.StatPersisted:
    return r.StatPersisted(n.czxid, n.mzxid, n.ctime, n.mtime, n.version, n.cver, n.aversion,
                           n.owner, n.pzxid)


def r_open() -> list[r.ACL]:
    return [r.ACL(31, r.Id("world", "anyone"))]


def r_read() -> list[r.ACL]:
    return [r.ACL(1, r.Id("world", "anyone"))]


__all__ = ["StateMachine", "SnapshotHeader", "SnapshotNode", "to_signed64"]
