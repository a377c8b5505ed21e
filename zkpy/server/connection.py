"""One client TCP connection: bytes <-> frames <-> the member, in request order.

Rules:
- Every complete frame in ``data_received`` is decoded and handled in that call; all
  replies produced are written with one ``transport.write`` at the end (the biggest
  cost of a Python server is syscalls, so replies are batched per connection).
- Replies leave in request order (the Java client drops the connection otherwise):
  a read that arrives while a write of the same connection is in flight waits in
  ``_waiting`` and is answered right after that write's reply, so it sees exactly
  the writes sent before it (ZooKeeper's per-session FIFO guarantee).
- Watch notifications for a write are written before that write's reply.
- Bad input never raises out of here: a malformed body gets MARSHALLINGERROR, an
  unknown opcode gets UNIMPLEMENTED and the connection is closed, a frame over the
  limit closes the connection without a reply (as ZooKeeper does).
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from zkpy.proto import records as rec
from zkpy.proto.framing import FrameReader, FrameTooLarge
from zkpy.proto.jute import MalformedRecord, Record
from zkpy.proto.opcodes import (
    XID_AUTH,
    XID_PING,
    Err,
    OpCode,
)
from zkpy.proto.ops import MULTI_READ_OPS, MULTI_WRITE_OPS, REQUEST_RECORDS, decode_multi
from zkpy.state.types import Conn

from .stats import elapsed_ms

if TYPE_CHECKING:
    from .member import Member

log = logging.getLogger("zkpy.server.connection")

_REQ_HDR = struct.Struct("!ii")
_REPLY_HDR = struct.Struct("!iqi")
_LEN = struct.Struct("!i")
_LEN_REPLY_HDR = struct.Struct("!iiqi")  # frame length + reply header
# Notification header: xid -1, zxid -1 (3.8 sends -1), err 0.
_EVENT_HDR = _REPLY_HDR.pack(-1, -1, 0)

# Reads answered from the local tree at once (or after this connection's writes).
READ_OPS = frozenset({
    OpCode.EXISTS, OpCode.GET_DATA, OpCode.GET_CHILDREN, OpCode.GET_CHILDREN2,
    OpCode.GET_ACL, OpCode.GET_EPHEMERALS, OpCode.GET_ALL_CHILDREN_NUMBER,
    OpCode.WHO_AM_I, OpCode.MULTI_READ, OpCode.CHECK_WATCHES, OpCode.REMOVE_WATCHES,
    OpCode.ADD_WATCH,
})
# Writes become Commands (consume a zxid).
COMMAND_OPS = frozenset({
    OpCode.CREATE, OpCode.CREATE2, OpCode.CREATE_CONTAINER, OpCode.CREATE_TTL,
    OpCode.DELETE, OpCode.SET_DATA, OpCode.SET_ACL, OpCode.MULTI, OpCode.RECONFIG,
})

# Writes are decoded and submitted straight from _handle_frames (each has a request record
# or is a multi); _handle_other has everything else.
_WRITE_OPS = frozenset(int(op) for op in COMMAND_OPS)

# Request records with a path, decoded in place by _handle_frames (the common requests:
# one call less than through _decode_body); _decode_body has the rest.
_PATH_RECORDS = {int(op): cls for op, cls in REQUEST_RECORDS.items()
                 if cls is not None and any(name == "path" for name, _ in cls.FIELDS)}

# Plain ints for the checks every write passes (an IntEnum attribute lookup costs ~100 ns
# on CPython 3.11).
_PING = int(OpCode.PING)
_AUTH = int(OpCode.AUTH)
_MULTI = int(OpCode.MULTI)
_CHECK = int(OpCode.CHECK)

# The watcher identity of a closed connection (no watch can be registered for it any more).
_CLOSED_WATCHER = object()

# What sits in _waiting: an in-flight write/sync (_INFLIGHT, xid, op, elapsed ms at its
# read) or a held-back read (_HELD, xid, op, request, elapsed ms at its read).
_INFLIGHT = 0
_HELD = 1


class ClientConnection(asyncio.Protocol):
    """asyncio protocol for one client socket. All ZooKeeper logic lives in the
    member and the state machine; this class only frames, orders and batches."""

    def __init__(self, member: Member,
                 tls_ids: Callable[[Any], list[rec.Id] | None] | None = None) -> None:
        self.member = member
        # On the secure port: the auth ids a TLS connection starts with (its client
        # certificate's x509 id), or None to refuse it (see tls.peer_ids).
        self.tls_ids = tls_ids
        self.transport: asyncio.Transport | None = None
        self.reader = FrameReader(member.max_frame_bytes)
        self.conn = Conn(session_id=0, auth_ids=[], watcher=self, remote_ip="")
        self.remote: tuple[str, int] = ("", 0)
        self.connected = False          # ConnectResponse sent
        self.handshaking = False        # ConnectRequest received, response pending
        self.closing = False
        self.read_only_byte: bool | None = None
        self._out: list[bytes | bytearray] = []
        self._waiting: deque[tuple[Any, ...]] = deque()
        self._held_frames: list[bytes] = []   # frames that arrived during the handshake
        self._idle_timer: asyncio.TimerHandle | None = None
        self._now_ms = 0  # wall clock of the current read (member.touch): the writes' time
        self._arrived_ms = 0  # elapsed_ms() of the current read: latency starts there
        self.stats = member.new_connection_stats(self)

    # ------------------------------------------------------------ asyncio events

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        peer = transport.get_extra_info("peername") or ("", 0)
        self.remote = (str(peer[0]), int(peer[1]))
        self.conn.remote_ip = self.remote[0]
        self.conn.auth_ids.append(rec.Id("ip", self.remote[0]))
        if self.tls_ids is not None:
            ids = self.tls_ids(transport.get_extra_info("ssl_object"))
            if ids is None:
                log.warning("closing %s:%d: a client certificate, but no ssl.trustStore to "
                            "authenticate it against (x509)", *self.remote)
                transport.abort()
                return
            self.conn.auth_ids.extend(ids)
        if not self.member.accept_connection(self):
            transport.abort()
            return
        # A connection that never sends a ConnectRequest is dropped
        # (zookeeper.nio.sessionlessCnxnTimeout, 10 s).
        self._idle_timer = self.member.loop.call_later(
            self.member.sessionless_timeout_s, self._sessionless_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        self.member.connection_closed(self)
        # Conn.watcher is this connection: break the cycle so that reference counting
        # frees a closed connection (the runtime freezes long-lived objects out of the
        # cyclic GC, and a frozen cycle would never be collected).
        self.conn.watcher = _CLOSED_WATCHER

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        try:
            if not self.connected and not self.handshaking and self.reader.buffered == 0:
                if self.member.try_four_letter_word(self, data):
                    return
            frames = self.reader.feed(data)
        except FrameTooLarge as e:
            log.warning("closing %s:%d: %s (jute.maxbuffer)", *self.remote, e)
            self.abort()
            return
        if frames:
            try:
                self._handle_frames(frames)
            except Exception:  # a bug: log it, drop this client, keep serving others
                log.exception("internal error handling a request from %s:%d", *self.remote)
                self.abort()
                return
        self.flush()

    # ------------------------------------------------------------ request handling

    def _handle_frames(self, frames: list[bytes]) -> None:
        member = self.member
        if not self.connected:
            if self.handshaking:
                self._held_frames.extend(frames)
                return
            first = frames[0]
            rest = frames[1:]
            self._handshake(first)
            if rest:
                if self.connected:
                    self._handle_frames(rest)
                else:
                    self._held_frames.extend(rest)
            return
        self._now_ms = member.touch(self)
        self._arrived_ms = elapsed_ms()
        state = member.state
        out = self._out
        st = self.stats
        st.packets_received += len(frames)
        req: Any  # the decoded request record (of the opcode's class)
        for fr in frames:
            try:
                xid, op = _REQ_HDR.unpack_from(fr, 0)
            except struct.error:
                log.warning("closing %s:%d: request shorter than its header", *self.remote)
                self.abort()
                return
            # The hot paths: a read (answered now unless a write of ours is in flight) and
            # a write (submitted to the member).
            is_read = op in READ_OPS
            if is_read or op in _WRITE_OPS:
                try:
                    cls = _PATH_RECORDS.get(op)
                    if cls is None:
                        req, end = self._decode_body(op, fr)
                    else:
                        req, end = cls.decode(fr, 8)
                        if req.path is None:
                            raise MalformedRecord("null path")
                except MalformedRecord:
                    self._reply_error_ordered(xid, Err.MARSHALLINGERROR)
                    continue
                if is_read:
                    if self._waiting:
                        self._waiting.append((_HELD, xid, op, req, self._arrived_ms))
                        continue
                    err, resp = state.read(self.conn, op, req)
                    self._write_reply(out, xid, state.last_zxid, err, resp)
                    st.note_read(op, xid)
                    member.reads_seen = True
                    continue
                self._waiting.append((_INFLIGHT, xid, op, self._arrived_ms))
                # The log keeps the request's own bytes: they decode to ``req`` again.
                member.submit_request(self, xid, op, req, fr[8:end], self._now_ms)
                continue
            self._handle_other(xid, op, fr)
            if self.closing:  # only _handle_other closes (auth failure, unknown opcode)
                return

    def _decode_body(self, op: int, fr: bytes) -> tuple[Any, int]:
        """(request, offset just past it in ``fr``)."""
        cls = REQUEST_RECORDS.get(op)
        if cls is None:
            if op == OpCode.MULTI_READ:
                return decode_multi(fr, 8, MULTI_READ_OPS)
            if op == OpCode.MULTI:
                return decode_multi(fr, 8, MULTI_WRITE_OPS)
            return None, 8
        req, end = cls.decode(fr, 8)
        if getattr(req, "path", "") is None:
            # A null path cannot be decoded into a Java request either (the records with
            # a path are checked the same way where _handle_frames decodes them).
            raise MalformedRecord("null path")
        return req, end

    def _handle_other(self, xid: int, op: int, fr: bytes) -> None:
        member = self.member
        if op == _PING:
            if self._waiting:
                self._waiting.append((_HELD, xid, op, None, self._arrived_ms))
            else:
                self._write_reply(self._out, XID_PING, member.state.last_zxid, 0, None)
            return
        if op == _AUTH:
            self._handle_auth(fr)
            return
        if op not in REQUEST_RECORDS and op != _MULTI:
            # Unknown opcode (or 0): UNIMPLEMENTED, then close, as ZooKeeper does.
            self._reply_error_ordered(xid, Err.UNIMPLEMENTED, zxid=-1)
            self.close_after_flush()
            return
        if op == _CHECK:
            # check is only valid inside a multi (3.8.0 corrupted its log on this).
            self._reply_error_ordered(xid, Err.UNIMPLEMENTED, zxid=-1)
            self.close_after_flush()
            return
        try:
            req, _ = self._decode_body(op, fr)
        except MalformedRecord:
            self._reply_error_ordered(xid, Err.MARSHALLINGERROR)
            return
        if op == OpCode.SYNC:
            self._waiting.append((_INFLIGHT, xid, op, self._arrived_ms))
            member.submit_sync(self, xid, req)
            return
        if op == OpCode.CLOSE_SESSION:
            self._waiting.append((_INFLIGHT, xid, op, self._arrived_ms))
            member.submit_close_session(self, xid)
            return
        if op in (OpCode.SET_WATCHES, OpCode.SET_WATCHES2):
            if self._waiting:
                self._waiting.append((_HELD, xid, op, req, self._arrived_ms))
            else:
                self._answer_set_watches(xid, req)
            return
        if op == OpCode.SASL:
            ok, token = member.state.sasl_step(self.conn, req.token or b"")
            if ok:
                self._write_reply(self._out, xid, 0, 0, rec.SetSASLResponse(token))
            else:
                self._write_reply(self._out, xid, 0, Err.AUTHFAILED, None)
                self.close_after_flush()
            return
        if op == OpCode.DELETE_CONTAINER:
            # Server-internal: clients never send it.
            self._reply_error_ordered(xid, Err.UNIMPLEMENTED, zxid=-1)
            self.close_after_flush()
            return
        self._reply_error_ordered(xid, Err.UNIMPLEMENTED, zxid=-1)
        self.close_after_flush()

    def _handle_auth(self, fr: bytes) -> None:
        try:
            pkt, _ = rec.AuthPacket.decode(fr, 8)
        except MalformedRecord:
            self._write_reply(self._out, XID_AUTH, 0, Err.AUTHFAILED, None)
            self.close_after_flush()
            return
        if self.member.state.authenticate(self.conn, pkt.scheme or "", pkt.auth or b""):
            self._write_reply(self._out, XID_AUTH, 0, 0, None)
        else:
            self.member.stats.auth_failed += 1
            self._write_reply(self._out, XID_AUTH, 0, Err.AUTHFAILED, None)
            self.close_after_flush()

    def _answer_set_watches(self, xid: int, req: Any) -> None:
        events = self.member.state.set_watches(self.conn, req)
        for ev in events:
            self.send_event(ev)
        self._write_reply(self._out, xid, self.member.state.last_zxid, 0, None)

    def _reply_error_ordered(self, xid: int, err: int, zxid: int | None = None) -> None:
        z = self.member.state.last_zxid if zxid is None else zxid
        if self._waiting:
            self._waiting.append((_HELD, xid, -999, (z, err), self._arrived_ms))
        else:
            self._write_reply(self._out, xid, z, err, None)

    # ------------------------------------------------------------ handshake

    def _handshake(self, fr: bytes) -> None:
        try:
            req, ro = rec.decode_connect_request(fr)
        except MalformedRecord:
            log.warning("closing %s:%d: malformed ConnectRequest", *self.remote)
            self.abort()
            return
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        self.read_only_byte = ro
        self.handshaking = True
        self.member.handshake(self, req, ro)

    def session_established(self, session_id: int, timeout_ms: int, passwd: bytes) -> None:
        """Called by the member once the session exists (new or re-attached)."""
        self.handshaking = False
        self.connected = True
        self.conn.session_id = session_id
        self.stats.session_id = session_id
        self.stats.timeout_ms = timeout_ms
        resp = rec.ConnectResponse(0, timeout_ms, session_id, passwd)
        body = rec.encode_connect_response(resp, False if self.read_only_byte is not None
                                           else None)
        self._out.append(_LEN.pack(len(body)) + body)
        held, self._held_frames = self._held_frames, []
        if held:
            self._handle_frames(held)

    def session_refused(self) -> None:
        """Unknown/expired session or wrong password: an invalid response, then close."""
        self.handshaking = False
        resp = rec.ConnectResponse(0, 0, 0, b"\0" * 16)
        body = rec.encode_connect_response(resp, False if self.read_only_byte is not None
                                           else None)
        self._out.append(_LEN.pack(len(body)) + body)
        self.close_after_flush()

    # ------------------------------------------------------------ replies

    def _write_reply(self, out: list[bytes | bytearray], xid: int, zxid: int, err: int,
                     resp: Record | Any | None) -> None:
        if resp is None or err:
            out.append(_LEN_REPLY_HDR.pack(16, xid, zxid, err))
        elif isinstance(resp, bytes):  # a WireRecord: the body is already its wire bytes
            out.append(_LEN_REPLY_HDR.pack(16 + len(resp), xid, zxid, err) + resp)
        else:
            frame = bytearray(_LEN_REPLY_HDR.pack(0, xid, zxid, err))
            resp.encode(frame)
            _LEN.pack_into(frame, 0, len(frame) - 4)
            out.append(frame)
        self.stats.packets_sent += 1

    def send_event(self, ev: rec.WatcherEvent) -> None:
        if self.closing or not self.connected:
            return
        body = bytearray(_EVENT_HDR)
        ev.encode(body)
        self._out.append(_LEN.pack(len(body)) + body)
        self.stats.packets_sent += 1
        self.member.mark_dirty(self)

    def command_done(self, xid: int, op: int, zxid: int, err: int, resp: Any,
                     done_ms: int = 0) -> None:
        """Reply to this connection's oldest in-flight write/sync, then answer the reads
        that were waiting behind it. ``done_ms``: elapsed_ms() now (0: latency unknown).
        The replies wait in ``_out``: the member flushes this connection after its batch."""
        if not self._waiting:
            log.error("reply for xid %d but nothing in flight on %s:%d", xid, *self.remote)
            return
        head = self._waiting.popleft()
        if head[0] != _INFLIGHT or head[1] != xid:
            log.error("out-of-order completion xid %d (expected %r)", xid, head)
        st = self.stats
        # _write_reply written out for the replies of plain writes: a call less per write.
        if err or resp is None:
            self._out.append(_LEN_REPLY_HDR.pack(16, xid, zxid, err))
            st.packets_sent += 1
        elif isinstance(resp, bytes):
            self._out.append(_LEN_REPLY_HDR.pack(16 + len(resp), xid, zxid, err) + resp)
            st.packets_sent += 1
        else:
            self._write_reply(self._out, xid, zxid, err, resp)
        latency = done_ms - head[3] if done_ms and head[0] == _INFLIGHT else 0
        st.note_write(op, xid, zxid, latency if latency > 0 else 0)
        w = self._waiting
        if w and w[0][0] == _HELD:
            self._drain_held(done_ms)

    def _drain_held(self, done_ms: int) -> None:
        """Answer the reads (and pings, errors) held behind a write that just completed;
        a read's latency counts from its own read to now (``done_ms``, 0: unknown)."""
        state = self.member.state
        w = self._waiting
        while w and w[0][0] == _HELD:
            _, xid, op, req, arrived = w.popleft()
            if op == -999:                      # a queued error reply
                z, err = req
                self._write_reply(self._out, xid, z, err, None)
            elif op == OpCode.PING:
                self._write_reply(self._out, XID_PING, state.last_zxid, 0, None)
            elif op in (OpCode.SET_WATCHES, OpCode.SET_WATCHES2):
                self._answer_set_watches(xid, req)
            else:
                err, resp = state.read(self.conn, op, req)
                self._write_reply(self._out, xid, state.last_zxid, err, resp)
                self.stats.note_read(op, xid, None, done_ms - arrived if done_ms else 0)

    def flush(self) -> None:
        if self._out and self.transport is not None:
            data = b"".join(self._out) if len(self._out) > 1 else self._out[0]
            self._out.clear()
            if not self.transport.is_closing():
                self.transport.write(data)

    # ------------------------------------------------------------ closing

    def pause_reading(self) -> None:
        t = self.transport
        if t is not None and not t.is_closing() and t.is_reading():
            t.pause_reading()

    def resume_reading(self) -> None:
        t = self.transport
        if t is not None and not t.is_closing() and not t.is_reading():
            t.resume_reading()

    def close_after_flush(self) -> None:
        self.closing = True
        self.flush()
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.closing = True
        self._out.clear()
        if self.transport is not None:
            self.transport.abort()

    def _sessionless_timeout(self) -> None:
        if not self.connected and not self.handshaking:
            log.info("closing %s:%d: no ConnectRequest in time", *self.remote)
            self.abort()

    @property
    def outstanding(self) -> int:
        return len(self._waiting)
