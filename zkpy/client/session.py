"""Sans-I/O ZooKeeper client session: bytes and ``now_ms`` in; bytes, completions,
watch notifications and state changes out.

Rules:
- No asyncio, socket, clock or random here. The driver passes ``now_ms`` (a monotonic
  clock in milliseconds) to every call that depends on time, and asks
  ``next_deadline_ms()`` when to call ``tick()`` again.
- Inputs: ``connection_made``, ``receive_data``, ``connection_lost``, ``tick``,
  ``submit``/``submit_auth``/``close``. Outputs: ``data_to_send()`` (bytes for the
  current connection) and ``drain()`` (a list of ``Completion``, ``Notify``,
  ``StateChange`` and ``CloseConnection`` values, in the order they happened).
- Tokens and watchers are opaque to the session: the driver chooses them (futures,
  callables) and gets them back in outputs.
- Replies come in request order (ZooKeeper guarantees it; ClientCnxn fails the
  connection on "Xid out of order" and so do we). Special xids: -1 notification,
  -2 ping, -4 auth (reference section 3).

Theory of operation (ClientCnxn.SendThread, ZKWatchManager, ZOOKEEPER-4508):
- One session may outlive many connections. Each connection starts with a
  ConnectRequest carrying the session id, password and the last zxid seen; once the
  ConnectResponse arrives the session replays auth packets, re-registers every watch
  with SetWatches/SetWatches2 (relativeZxid = last zxid seen, batched under 128 KB
  of path text), and then sends the requests queued while disconnected.
- A request is failed with ConnectionLossError when the connection it was sent on
  (or the attempt it was waiting for) is lost; the session itself lives on.
- Read timeout = 2/3 of the negotiated session timeout; a ping is sent when nothing
  was sent for half of it. Nothing heard for a whole read timeout drops the connection.
- While disconnected, the session expires client-side once nothing was heard from any
  server for the negotiated session timeout (the server would have expired it too):
  the client stops reconnecting forever with a dead session (ZOOKEEPER-4508, kazoo#89).
- Watches are registered when the reply arrives (exists on a missing node registers an
  "exist" watch), one-shot watches are removed when they fire, and each watcher is
  called at most once per event even when registered through several tables.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..errors import (
    AuthFailedError,
    ConnectionLossError,
    SessionExpiredError,
    ZkError,
    error_for,
)
from ..proto import records as rec
from ..proto.framing import FrameReader, FrameTooLarge
from ..proto.jute import INT32, MalformedRecord
from ..proto.opcodes import (
    DEFAULT_MAX_FRAME_BYTES,
    XID_AUTH,
    XID_NOTIFICATION,
    XID_PING,
    Err,
    EventType,
    KeeperState,
    OpCode,
    WatcherType,
)
from .hosts import strip_chroot

# ----------------------------------------------------------------------------- states

CONNECTING = "CONNECTING"
CONNECTED = "CONNECTED"
CONNECTEDREADONLY = "CONNECTEDREADONLY"
SUSPENDED = "SUSPENDED"
EXPIRED = "EXPIRED"
CLOSED = "CLOSED"
AUTH_FAILED = "AUTH_FAILED"

LIVE_STATES = frozenset({CONNECTED, CONNECTEDREADONLY})
TERMINAL_STATES = frozenset({EXPIRED, CLOSED, AUTH_FAILED})

# Java's ClientCnxn.SET_WATCHES_MAX_LENGTH: path text per SetWatches packet.
SET_WATCHES_MAX_BYTES = 128 * 1024
# ClientCnxn pings after 10 s idle even when the read timeout is longer.
MAX_PING_INTERVAL_MS = 10_000
_XID_MAX = 2**31 - 1


class ConnectionClosedError(ConnectionLossError):
    """The client was closed (by ``close()``); no further requests are possible."""


# ----------------------------------------------------------------------------- outputs


@dataclass(frozen=True, slots=True)
class WatchedEvent:
    """What a watcher receives: ZooKeeper's WatchedEvent (path is a client path)."""

    type: EventType
    state: KeeperState
    path: str | None


class Completion(NamedTuple):
    token: Any
    value: Any
    error: BaseException | None


class Notify(NamedTuple):
    watchers: tuple[Any, ...]
    event: WatchedEvent


class StateChange(NamedTuple):
    old: str
    new: str


class CloseConnection(NamedTuple):
    reason: str


Output = Completion | Notify | StateChange | CloseConnection
Reader = Callable[[bytes, int], Any]

# Watch kinds a request can register once its reply arrives.
WATCH_DATA = "data"          # getData
WATCH_EXIST = "exist"        # exists (data table if the node exists, exist table if not)
WATCH_CHILD = "child"        # getChildren / getChildren2
WATCH_PERSISTENT = "persistent"
WATCH_RECURSIVE = "recursive"


class _Request:
    __slots__ = ("op", "body", "token", "reader", "path", "watch", "xid", "on_ok")

    def __init__(self, op: int, body: bytes, token: Any, reader: Reader | None,
                 path: str | None, watch: tuple[str, str, Hashable] | None,
                 on_ok: Callable[[], None] | None = None) -> None:
        self.op = op
        self.body = body
        self.token = token
        self.reader = reader
        self.path = path
        self.watch = watch
        self.xid = 0
        self.on_ok = on_ok


class _Internal:
    """Token of requests the session sends itself (SetWatches)."""

    __slots__ = ("what",)

    def __init__(self, what: str) -> None:
        self.what = what

    def __repr__(self) -> str:
        return f"<internal {self.what}>"


_HDR = INT32  # xid and type are both int32


def _frame(xid: int, op: int, body: bytes) -> bytes:
    return INT32.pack(len(body) + 8) + _HDR.pack(xid) + _HDR.pack(op) + body


# ----------------------------------------------------------------------------- session


class ClientSession:
    """The client side of one ZooKeeper session, across any number of connections."""

    def __init__(self, *, session_timeout_ms: int = 30000, read_only: bool = False,
                 chroot: str = "", host_count: int = 1, default_watcher: Hashable | None = None,
                 max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
        if session_timeout_ms <= 0:
            raise ValueError("session_timeout_ms must be positive")
        self.requested_timeout_ms = session_timeout_ms
        self.negotiated_timeout_ms = session_timeout_ms
        self.read_only = read_only
        self.chroot = chroot
        self.host_count = max(1, host_count)
        self.default_watcher = default_watcher
        self.max_frame_bytes = max_frame_bytes

        self.state = CONNECTING
        self.session_id = 0
        self.passwd = b"\x00" * 16
        self.last_zxid = 0
        self.server_read_only = False

        self._conn = False          # a transport is up
        self._handshaken = False    # ConnectResponse received on this transport
        self._closing = False
        self._broken = False        # CloseConnection emitted; ignore this transport
        self._reader = FrameReader(max_frame_bytes)
        self._out: list[bytes] = []
        self._outputs: list[Output] = []
        self._queue: deque[_Request] = deque()     # not yet sent
        self._pending: deque[_Request] = deque()   # sent, awaiting the reply
        self._xid = 0
        self._pings_out = 0
        self._last_send_ms = 0
        self._last_recv_ms = 0
        self._conn_start_ms = 0
        self._close_token: Any = None
        self._close_sent = False

        # auth: [scheme, credential, token-or-None]; tokens wait for the -4 reply in order
        self._auth: list[tuple[str, bytes]] = []
        self._auth_waiting: deque[Any] = deque()
        # add_auth calls made while disconnected: index in _auth -> token
        self._auth_unsent: dict[int, Any] = {}

        # watch tables: server path -> ordered set (dict) of watchers
        self.data_watches: dict[str, dict[Hashable, None]] = {}
        self.exist_watches: dict[str, dict[Hashable, None]] = {}
        self.child_watches: dict[str, dict[Hashable, None]] = {}
        self.persistent_watches: dict[str, dict[Hashable, None]] = {}
        self.recursive_watches: dict[str, dict[Hashable, None]] = {}

    # ------------------------------------------------------------------ properties

    @property
    def read_timeout_ms(self) -> int:
        return self.negotiated_timeout_ms * 2 // 3

    @property
    def connect_timeout_ms(self) -> int:
        return max(1, self.negotiated_timeout_ms // self.host_count)

    @property
    def connected(self) -> bool:
        return self._handshaken

    @property
    def transport_up(self) -> bool:
        return self._conn

    @property
    def closing(self) -> bool:
        return self._closing

    @property
    def pending_count(self) -> int:
        return len(self._pending) + len(self._queue)

    # ------------------------------------------------------------------ output side

    def data_to_send(self) -> bytes:
        if not self._out:
            return b""
        data = b"".join(self._out)
        self._out.clear()
        return data

    def drain(self) -> list[Output]:
        out = self._outputs
        self._outputs = []
        return out

    def _send(self, frame: bytes, now_ms: int) -> None:
        if self._broken:
            return
        self._out.append(frame)
        self._last_send_ms = now_ms

    def _set_state(self, new: str) -> None:
        old = self.state
        if old == new:
            return
        self.state = new
        self._outputs.append(StateChange(old, new))

    def _notify_default(self, state: KeeperState) -> None:
        if self.default_watcher is not None:
            self._outputs.append(Notify((self.default_watcher,),
                                        WatchedEvent(EventType.NONE, state, None)))

    # ------------------------------------------------------------------ connection

    def connection_made(self, now_ms: int) -> None:
        """A transport to some server is up: queue the ConnectRequest."""
        if self.state in TERMINAL_STATES:
            raise RuntimeError(f"session is {self.state}")
        self._conn = True
        self._broken = False
        self._handshaken = False
        self._reader = FrameReader(self.max_frame_bytes)
        self._out.clear()
        self._pings_out = 0
        self._conn_start_ms = now_ms
        self._last_recv_ms = now_ms if self.session_id == 0 else self._last_recv_ms
        req = rec.ConnectRequest(0, self.last_zxid, self.requested_timeout_ms,
                                 self.session_id, self.passwd)
        body = rec.encode_connect_request(req, self.read_only)
        self._send(INT32.pack(len(body)) + body, now_ms)

    def receive_data(self, data: bytes, now_ms: int) -> None:
        """Bytes from the current transport; every complete frame is handled now."""
        if not self._conn or self._broken:
            return
        try:
            frames = self._reader.feed(data)
        except FrameTooLarge as e:
            self._fail_connection(f"server sent a bad frame: {e}")
            return
        if frames:
            self._last_recv_ms = now_ms
        for fr in frames:
            if self._broken:
                return
            try:
                if not self._handshaken:
                    self._on_connect_response(fr, now_ms)
                else:
                    self._on_frame(fr, now_ms)
            except (MalformedRecord, ValueError) as e:
                self._fail_connection(f"malformed reply from server: {e}")
                return

    def connection_lost(self, now_ms: int) -> None:
        """The transport is gone (or the connection attempt failed)."""
        was_up = self._conn
        was_handshaken = self._handshaken
        self._conn = False
        self._broken = False
        self._handshaken = False
        self._out.clear()
        self._pings_out = 0
        if self.state in TERMINAL_STATES:
            return
        if self._closing:
            # closeSession was sent or queued: whatever happens, we are closed now.
            self._become_closed()
            return
        self._fail_requests(ConnectionLossError)
        if was_up and was_handshaken and self.state in LIVE_STATES:
            self._set_state(SUSPENDED)
            self._notify_default(KeeperState.DISCONNECTED)
        self._check_expiry(now_ms)

    def _fail_connection(self, reason: str) -> None:
        """Ask the driver to drop the transport; it then calls connection_lost(), which
        does the bookkeeping once. Until then this transport is ignored."""
        if self._broken:
            return
        self._outputs.append(CloseConnection(reason))
        self._out.clear()
        self._broken = True

    def _fail_requests(self, exc_type: type[ZkError]) -> None:
        reqs = list(self._pending) + list(self._queue)
        self._pending.clear()
        self._queue.clear()
        for r in reqs:
            if isinstance(r.token, _Internal):
                continue
            if r.op == OpCode.CLOSE_SESSION:
                self._outputs.append(Completion(r.token, None, None))
                continue
            self._outputs.append(Completion(r.token, None, exc_type(r.path)))
        toks = list(self._auth_waiting) + list(self._auth_unsent.values())
        self._auth_waiting.clear()
        self._auth_unsent.clear()
        for tok in toks:
            if tok is not None:
                self._outputs.append(Completion(tok, None, exc_type()))

    # ------------------------------------------------------------------ handshake

    def _on_connect_response(self, fr: bytes, now_ms: int) -> None:
        resp, ro = rec.decode_connect_response(fr)
        if resp.timeOut <= 0:
            self._expire()
            self._fail_connection("session expired")
            return
        if self.session_id and resp.sessionId != self.session_id:
            # A read-only server hands out a new session; anything else is a protocol bug.
            if not ro:
                self._fail_connection("server answered with another session id")
                return
        self.session_id = resp.sessionId
        self.passwd = resp.passwd if resp.passwd is not None else b"\x00" * 16
        self.negotiated_timeout_ms = resp.timeOut
        self.server_read_only = bool(ro)
        self._handshaken = True
        self._last_recv_ms = now_ms
        # Java replays auth right after the ConnectRequest; we do it before SetWatches so
        # that servers filtering events by ACL (CVE-2024-23944) already know our ids.
        for i, (scheme, cred) in enumerate(self._auth):
            self._auth_waiting.append(self._auth_unsent.pop(i, None))
            self._send(_frame(XID_AUTH, OpCode.AUTH, rec.AuthPacket(0, scheme, cred).to_bytes()),
                       now_ms)
        self._resend_watches(now_ms)
        queued = self._queue
        self._queue = deque()
        for r in queued:
            self._send_request(r, now_ms)
        self._set_state(CONNECTEDREADONLY if self.server_read_only else CONNECTED)
        self._notify_default(KeeperState.CONNECTED_READ_ONLY if self.server_read_only
                             else KeeperState.SYNC_CONNECTED)

    def _resend_watches(self, now_ms: int) -> None:
        data = list(self.data_watches)
        exist = list(self.exist_watches)
        child = list(self.child_watches)
        pers = list(self.persistent_watches)
        recur = list(self.recursive_watches)
        if not (data or exist or child or pers or recur):
            return
        use2 = bool(pers or recur)
        lists: list[list[str]] = [data, exist, child, pers, recur] if use2 else [data, exist, child]
        batch: list[list[str]] = [[] for _ in lists]
        size = 0
        for i, paths in enumerate(lists):
            for p in paths:
                batch[i].append(p)
                size += len(p)
                if size > SET_WATCHES_MAX_BYTES:
                    self._send_set_watches(batch, use2, now_ms)
                    batch = [[] for _ in lists]
                    size = 0
        if any(batch):
            self._send_set_watches(batch, use2, now_ms)

    def _send_set_watches(self, batch: list[list[str]], use2: bool, now_ms: int) -> None:
        if use2:
            body = rec.SetWatches2(self.last_zxid, *batch).to_bytes()
            op = OpCode.SET_WATCHES2
        else:
            body = rec.SetWatches(self.last_zxid, *batch).to_bytes()
            op = OpCode.SET_WATCHES
        self._send_request(_Request(op, body, _Internal("setWatches"), None, None, None), now_ms)

    # ------------------------------------------------------------------ frames

    def _on_frame(self, fr: bytes, now_ms: int) -> None:
        hdr, off = rec.ReplyHeader.decode(fr, 0)
        xid = hdr.xid
        if xid == XID_NOTIFICATION:
            ev, _ = rec.WatcherEvent.decode(fr, off)
            self._on_event(ev)
            return
        if xid == XID_PING:
            if self._pings_out > 0:
                self._pings_out -= 1
            return
        if xid == XID_AUTH:
            tok = self._auth_waiting.popleft() if self._auth_waiting else None
            if hdr.err == Err.AUTHFAILED:
                if tok is not None:
                    self._outputs.append(Completion(tok, None, AuthFailedError()))
                self._auth_failed()
            elif tok is not None:
                if hdr.err:
                    self._outputs.append(Completion(tok, None, error_for(hdr.err)))
                else:
                    self._outputs.append(Completion(tok, None, None))
            return
        if not self._pending:
            self._fail_connection(f"reply with xid {xid} but nothing is pending")
            return
        req = self._pending[0]
        if req.xid != xid:
            self._fail_connection(f"Xid out of order. Got Xid {xid} expected {req.xid}")
            return
        self._pending.popleft()
        if hdr.zxid > 0:
            self.last_zxid = hdr.zxid
        err = hdr.err
        if req.watch is not None:
            self._register_watch(req.watch, err)
        if req.op == OpCode.CLOSE_SESSION:
            self._outputs.append(Completion(req.token, None, None))
            self._become_closed()
            self._fail_connection("session closed")
            return
        if isinstance(req.token, _Internal):
            return
        if err:
            self._outputs.append(Completion(req.token, None, error_for(err, req.path)))
            return
        if req.on_ok is not None:
            req.on_ok()
        try:
            value = req.reader(fr, off) if req.reader is not None else None
        except (MalformedRecord, ValueError) as e:
            self._outputs.append(Completion(req.token, None, e))
            return
        self._outputs.append(Completion(req.token, value, None))

    # ------------------------------------------------------------------ requests

    def _next_xid(self) -> int:
        self._xid = self._xid + 1 if self._xid < _XID_MAX else 1
        return self._xid

    def _send_request(self, r: _Request, now_ms: int) -> None:
        r.xid = self._next_xid()
        self._pending.append(r)
        self._send(_frame(r.xid, r.op, r.body), now_ms)

    def submit(self, op: int, body: bytes, token: Any, now_ms: int, *, path: str | None = None,
               reader: Reader | None = None, watch: tuple[str, str, Hashable] | None = None,
               on_ok: Callable[[], None] | None = None) -> None:
        """Send (or queue until connected) one request.

        ``body`` is the encoded request record; ``path`` the client path named in errors;
        ``reader(frame, offset)`` decodes a successful reply body; ``watch`` is
        ``(kind, server_path, watcher)`` registered when the reply arrives;
        ``on_ok`` runs (before the completion) when the reply is a success.
        """
        if self.state in TERMINAL_STATES or self._closing:
            self._outputs.append(Completion(token, None, self._dead_error(path)))
            return
        r = _Request(op, body, token, reader, path, watch, on_ok)
        if self._handshaken:
            self._send_request(r, now_ms)
        else:
            self._queue.append(r)

    def submit_auth(self, scheme: str, credential: bytes, token: Any, now_ms: int) -> None:
        """addAuth: remembered for replay after every reconnect, answered on xid -4."""
        if self.state in TERMINAL_STATES or self._closing:
            self._outputs.append(Completion(token, None, self._dead_error(None)))
            return
        self._auth.append((scheme, credential))
        if self._handshaken:
            self._auth_waiting.append(token)
            self._send(_frame(XID_AUTH, OpCode.AUTH,
                              rec.AuthPacket(0, scheme, credential).to_bytes()), now_ms)
        else:
            # Replayed with the others once connected; its reply completes the token.
            self._auth_unsent[len(self._auth) - 1] = token

    def close(self, token: Any, now_ms: int) -> None:
        """closeSession: the reply completes ``token`` and moves the state to CLOSED."""
        if self.state in TERMINAL_STATES:
            self._outputs.append(Completion(token, None, None))
            return
        if self._closing:
            self._outputs.append(Completion(token, None, None))
            return
        self._closing = True
        if self._handshaken:
            self._send_request(_Request(OpCode.CLOSE_SESSION, b"", token, None, None, None),
                               now_ms)
        else:
            self._outputs.append(Completion(token, None, None))
            self._become_closed()
            if self._conn:
                self._fail_connection("closed")

    def _dead_error(self, path: str | None) -> ZkError:
        if self.state == EXPIRED:
            return SessionExpiredError(path)
        if self.state == AUTH_FAILED:
            return AuthFailedError(path)
        return ConnectionClosedError(path)

    # ------------------------------------------------------------------ time

    def next_deadline_ms(self) -> int | None:
        """When ``tick()`` must run next (absolute ms), or None if nothing is timed."""
        if self.state in TERMINAL_STATES:
            return None
        if self._conn and self._handshaken:
            rt = self.read_timeout_ms
            ping_at = self._last_send_ms + min(rt // 2, MAX_PING_INTERVAL_MS)
            return min(ping_at, self._last_recv_ms + rt)
        deadlines = []
        if self._conn:
            deadlines.append(self._conn_start_ms + self.connect_timeout_ms)
        if self.session_id:
            deadlines.append(self._last_recv_ms + self.negotiated_timeout_ms)
        return min(deadlines) if deadlines else None

    def tick(self, now_ms: int) -> None:
        if self.state in TERMINAL_STATES:
            return
        if self._conn and self._handshaken:
            rt = self.read_timeout_ms
            if now_ms - self._last_recv_ms >= rt:
                self._fail_connection(f"Client session timed out, have not heard from server "
                                      f"in {now_ms - self._last_recv_ms}ms for session id "
                                      f"0x{self.session_id:x}")
                return
            if now_ms - self._last_send_ms >= min(rt // 2, MAX_PING_INTERVAL_MS):
                self._pings_out += 1
                self._send(_frame(XID_PING, OpCode.PING, b""), now_ms)
            return
        if self._check_expiry(now_ms):
            return
        if self._conn and now_ms - self._conn_start_ms >= self.connect_timeout_ms:
            self._fail_connection(f"no ConnectResponse within {self.connect_timeout_ms}ms")

    def expiry_remaining_ms(self, now_ms: int) -> int | None:
        """Time left before client-side expiry while disconnected (None: no session)."""
        if not self.session_id or self.state in TERMINAL_STATES:
            return None
        return self._last_recv_ms + self.negotiated_timeout_ms - now_ms

    def _check_expiry(self, now_ms: int) -> bool:
        if (self.session_id and not self._handshaken and self.state == SUSPENDED
                and now_ms - self._last_recv_ms >= self.negotiated_timeout_ms):
            self._expire()
            if self._conn:
                self._fail_connection("session expired (client-side)")
            return True
        return False

    # ------------------------------------------------------------------ terminal states

    def _expire(self) -> None:
        self._fail_requests(SessionExpiredError)
        self._set_state(EXPIRED)
        self._terminal_event(KeeperState.EXPIRED)

    def _auth_failed(self) -> None:
        self._fail_requests(AuthFailedError)
        self._set_state(AUTH_FAILED)
        self._terminal_event(KeeperState.AUTH_FAILED)
        self._fail_connection("authentication failed")

    def _become_closed(self) -> None:
        self._fail_requests(ConnectionClosedError)
        self._set_state(CLOSED)
        self._terminal_event(KeeperState.CLOSED)

    def _terminal_event(self, state: KeeperState) -> None:
        """The last event: to the default watcher and once to every registered watcher."""
        watchers: dict[Hashable, None] = {}
        if self.default_watcher is not None:
            watchers[self.default_watcher] = None
        for table in (self.data_watches, self.exist_watches, self.child_watches,
                      self.persistent_watches, self.recursive_watches):
            for ws in table.values():
                watchers.update(ws)
            table.clear()
        if watchers:
            self._outputs.append(Notify(tuple(watchers),
                                        WatchedEvent(EventType.NONE, state, None)))

    # ------------------------------------------------------------------ watches

    def _register_watch(self, watch: tuple[str, str, Hashable], err: int) -> None:
        kind, path, watcher = watch
        if kind == WATCH_EXIST:
            if err == 0:
                table = self.data_watches
            elif err == Err.NONODE:
                table = self.exist_watches
            else:
                return
        elif err != 0:
            return
        elif kind == WATCH_DATA:
            table = self.data_watches
        elif kind == WATCH_CHILD:
            table = self.child_watches
        elif kind == WATCH_PERSISTENT:
            table = self.persistent_watches
        elif kind == WATCH_RECURSIVE:
            table = self.recursive_watches
        else:  # pragma: no cover - driver bug
            raise ValueError(f"unknown watch kind {kind!r}")
        table.setdefault(path, {})[watcher] = None

    def _on_event(self, ev: rec.WatcherEvent) -> None:
        path = ev.path
        try:
            etype = EventType(ev.type)
        except ValueError:
            return
        try:
            state = KeeperState(ev.state)
        except ValueError:
            state = KeeperState.SYNC_CONNECTED
        watchers: dict[Hashable, None] = {}
        if path is None:
            return
        if etype in (EventType.NODE_CREATED, EventType.NODE_DATA_CHANGED):
            self._take(self.data_watches, path, watchers)
            self._take(self.exist_watches, path, watchers)
        elif etype == EventType.NODE_DELETED:
            self._take(self.data_watches, path, watchers)
            self._take(self.exist_watches, path, watchers)
            self._take(self.child_watches, path, watchers)
        elif etype == EventType.NODE_CHILDREN_CHANGED:
            self._take(self.child_watches, path, watchers)
        else:
            return
        pw = self.persistent_watches.get(path)
        if pw:
            watchers.update(pw)
        if etype != EventType.NODE_CHILDREN_CHANGED and self.recursive_watches:
            p = path
            while True:
                rw = self.recursive_watches.get(p)
                if rw:
                    watchers.update(rw)
                if p == "/":
                    break
                i = p.rfind("/")
                p = p[:i] if i > 0 else "/"
        if watchers:
            self._outputs.append(Notify(tuple(watchers),
                                        WatchedEvent(etype, state,
                                                     strip_chroot(self.chroot, path))))

    @staticmethod
    def _take(table: dict[str, dict[Hashable, None]], path: str,
              into: dict[Hashable, None]) -> None:
        ws = table.pop(path, None)
        if ws:
            into.update(ws)

    def local_watchers(self, path: str, watcher_type: WatcherType) -> list[Hashable]:
        """Watchers registered on ``path`` (server path) for ``watcher_type``."""
        out: dict[Hashable, None] = {}
        for table in self._tables_for(watcher_type):
            out.update(table.get(path, {}))
        return list(out)

    def _tables_for(self, watcher_type: WatcherType) -> list[dict[str, dict[Hashable, None]]]:
        if watcher_type == WatcherType.CHILDREN:
            return [self.child_watches]
        if watcher_type == WatcherType.DATA:
            return [self.data_watches, self.exist_watches]
        if watcher_type == WatcherType.PERSISTENT:
            return [self.persistent_watches]
        if watcher_type == WatcherType.PERSISTENT_RECURSIVE:
            return [self.recursive_watches]
        return [self.data_watches, self.exist_watches, self.child_watches,
                self.persistent_watches, self.recursive_watches]

    def remove_local_watches(self, path: str, watcher_type: WatcherType,
                             watcher: Hashable | None) -> int:
        """Remove watchers of ``path`` (server path) for ``watcher_type`` (all of them when
        ``watcher`` is None) and emit the matching *WatchRemoved events, as the Java client
        does. Returns how many registrations were removed."""
        removed = 0
        client_path = strip_chroot(self.chroot, path)
        events: list[tuple[EventType, dict[Hashable, None]]] = []
        for table in self._tables_for(watcher_type):
            ws = table.get(path)
            if not ws:
                continue
            if watcher is None:
                gone = dict(ws)
                del table[path]
            elif watcher in ws:
                gone = {watcher: None}
                del ws[watcher]
                if not ws:
                    del table[path]
            else:
                continue
            removed += len(gone)
            if table is self.child_watches:
                etype = EventType.CHILD_WATCH_REMOVED
            elif table is self.data_watches or table is self.exist_watches:
                etype = EventType.DATA_WATCH_REMOVED
            else:
                etype = EventType.PERSISTENT_WATCH_REMOVED
            events.append((etype, gone))
        for etype, gone in events:
            self._outputs.append(Notify(tuple(gone),
                                        WatchedEvent(etype, KeeperState.SYNC_CONNECTED,
                                                     client_path)))
        return removed

    def watch_count(self) -> int:
        return sum(len(ws) for table in (self.data_watches, self.exist_watches,
                                         self.child_watches, self.persistent_watches,
                                         self.recursive_watches) for ws in table.values())

    # ------------------------------------------------------------------ new session

    def reset_for_new_session(self) -> None:
        """After EXPIRED: start over with a fresh session. Auth is kept (replayed);
        watches died with the old session (they got the Expired event)."""
        if self.state not in (EXPIRED,):
            raise RuntimeError(f"cannot start a new session from {self.state}")
        self.session_id = 0
        self.passwd = b"\x00" * 16
        self.last_zxid = 0
        self._closing = False
        self._set_state(CONNECTING)
