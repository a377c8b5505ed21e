"""A raw ZooKeeper protocol driver over a blocking socket, built on zkpy.proto only.

Used by the golden-vector capture and replay, the differential harness and the fuzz
test, so none of them depends on a client library (ours or kazoo). It keeps the raw
bytes of every frame it sends and receives, decodes replies with zkpy.proto, and
collects watch notifications (xid -1) in arrival order.

Every read is bounded by a timeout; a peer close is reported as ``None`` (EOF).
"""

from __future__ import annotations

import select
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

from zkpy.proto import records as r
from zkpy.proto.framing import FrameReader, frame
from zkpy.proto.jute import Record, WireRecord
from zkpy.proto.opcodes import XID_AUTH, XID_NOTIFICATION, XID_PING, OpCode
from zkpy.proto.ops import (
    MULTI_READ_OPS,
    MULTI_WRITE_OPS,
    REQUEST_RECORDS,
    decode_multi,
    decode_multi_results,
    encode_multi,
    encode_multi_results,
)

# Which record follows a successful (err = 0) ReplyHeader, per request opcode.
# None: the reply has no body. MULTI / MULTI_READ: a multi result list.
RESPONSE_RECORDS: dict[int, type[Record] | type[WireRecord] | None] = {
    OpCode.CREATE: r.CreateResponse,
    OpCode.CREATE2: r.Create2Response,
    OpCode.CREATE_CONTAINER: r.Create2Response,
    OpCode.CREATE_TTL: r.Create2Response,
    OpCode.DELETE: None,
    OpCode.EXISTS: r.ExistsResponse,
    OpCode.GET_DATA: r.GetDataResponse,
    OpCode.SET_DATA: r.SetDataResponse,
    OpCode.GET_ACL: r.GetACLResponse,
    OpCode.SET_ACL: r.SetACLResponse,
    OpCode.GET_CHILDREN: r.GetChildrenResponse,
    OpCode.GET_CHILDREN2: r.GetChildren2Response,
    OpCode.SYNC: r.SyncResponse,
    OpCode.PING: None,
    OpCode.CHECK_WATCHES: None,
    OpCode.REMOVE_WATCHES: None,
    OpCode.AUTH: None,
    OpCode.SET_WATCHES: None,
    OpCode.SET_WATCHES2: None,
    OpCode.SASL: r.SetSASLResponse,
    OpCode.GET_EPHEMERALS: r.GetEphemeralsResponse,
    OpCode.GET_ALL_CHILDREN_NUMBER: r.GetAllChildrenNumberResponse,
    OpCode.ADD_WATCH: r.ErrorResponse,
    OpCode.WHO_AM_I: r.WhoAmIResponse,
    OpCode.CLOSE_SESSION: None,
    OpCode.RECONFIG: r.GetDataResponse,
}
MULTI_OPS = (OpCode.MULTI, OpCode.MULTI_READ)

OPEN_ACL = [r.ACL(31, r.Id("world", "anyone"))]
STAT_SIZE = 68


# ------------------------------------------------------------------ encode / decode


def encode_request(xid: int, op: int, rec: Record | list[tuple[int, Record]] | None) -> bytes:
    """RequestHeader + body (a record, a multi sub-op list, or nothing) -- no length prefix."""
    out = bytearray()
    r.RequestHeader(xid, op).encode(out)
    if op in MULTI_OPS:
        assert isinstance(rec, list)
        encode_multi(out, rec)
    elif rec is not None:
        assert isinstance(rec, Record)
        rec.encode(out)
    return bytes(out)


def decode_request(payload: bytes) -> tuple[r.RequestHeader, Any]:
    """Inverse of encode_request (for the golden round-trip test)."""
    hdr, off = r.RequestHeader.decode(payload, 0)
    body: Any = None
    if hdr.type == OpCode.MULTI:
        body, off = decode_multi(payload, off, MULTI_WRITE_OPS)
    elif hdr.type == OpCode.MULTI_READ:
        body, off = decode_multi(payload, off, MULTI_READ_OPS)
    else:
        cls = REQUEST_RECORDS.get(hdr.type)
        if cls is not None:
            body, off = cls.decode(payload, off)
    return hdr, (body, payload[off:])


def reencode_request(hdr: r.RequestHeader, decoded: Any) -> bytes:
    body, rest = decoded
    out = bytearray()
    hdr.encode(out)
    if hdr.type in MULTI_OPS:
        encode_multi(out, body)
    elif body is not None:
        body.encode(out)
    return bytes(out) + rest


@dataclass
class Reply:
    """One decoded server frame (a reply or a notification) with its raw payload."""

    raw: bytes
    header: r.ReplyHeader
    op: int | None                      # request opcode it answers (None: notification)
    body: Any = None                    # record, multi result list, WatcherEvent or None
    trailing: bytes = b""               # bytes after the decoded body (should be empty)

    @property
    def xid(self) -> int:
        return int(self.header.xid)

    @property
    def zxid(self) -> int:
        return int(self.header.zxid)

    @property
    def err(self) -> int:
        return int(self.header.err)

    @property
    def is_event(self) -> bool:
        return self.header.xid == XID_NOTIFICATION


def decode_reply(payload: bytes, op: int | None) -> Reply:
    """Decode a server frame. ``op`` is the opcode of the request it answers (ignored
    for notifications, xid -1)."""
    hdr, off = r.ReplyHeader.decode(payload, 0)
    body: Any = None
    if hdr.xid == XID_NOTIFICATION:
        body, off = r.WatcherEvent.decode(payload, off)
        return Reply(payload, hdr, None, body, payload[off:])
    if hdr.err == 0 and op is not None and off < len(payload):
        if op in MULTI_OPS:
            body, off = decode_multi_results(payload, off)
        else:
            cls = RESPONSE_RECORDS.get(op)
            if cls is not None:
                body, off = cls.decode(payload, off)
    return Reply(payload, hdr, op, body, payload[off:])


def reencode_reply(rep: Reply) -> bytes:
    out = bytearray()
    rep.header.encode(out)
    if rep.is_event:
        rep.body.encode(out)
    elif rep.op in MULTI_OPS and rep.body is not None:
        encode_multi_results(out, rep.body)
    elif isinstance(rep.body, Record | WireRecord):
        rep.body.encode(out)
    return bytes(out) + rep.trailing


# --------------------------------------------------------------------- connection


class ConnectionClosed(Exception):
    pass


@dataclass
class RawConnection:
    """One client connection. Not thread-safe; every wait is bounded."""

    host: str
    port: int
    timeout_s: float = 10.0
    sock: socket.socket = field(init=False)
    reader: FrameReader = field(init=False)
    xid: int = 0
    session_id: int = 0
    passwd: bytes = b"\0" * 16
    negotiated_timeout: int = 0
    events: list[Reply] = field(default_factory=list)
    closed: bool = False
    log: list[tuple[str, bytes]] = field(default_factory=list)   # ("send"|"recv", payload)
    tls: ssl.SSLContext | None = None  # a secure client port: handshake on connect

    def __post_init__(self) -> None:
        self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is not None:
            self.sock = self.tls.wrap_socket(self.sock, server_hostname=self.host)
        self.reader = FrameReader(max_frame_bytes=64 * 1024 * 1024)
        self._frames: list[bytes] = []

    # -- raw frames

    def send_raw(self, data: bytes) -> None:
        """Send bytes as they are (no length prefix added)."""
        try:
            self.sock.sendall(data)
        except OSError as e:
            self.closed = True
            raise ConnectionClosed(str(e)) from e

    def send_frame(self, payload: bytes) -> None:
        self.log.append(("send", payload))
        self.send_raw(frame(payload))

    def recv_frame(self, timeout_s: float | None = None) -> bytes | None:
        """Next complete frame payload, None on EOF/reset; TimeoutError if none in time."""
        deadline = time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
        while not self._frames:
            if self.closed:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no frame from {self.host}:{self.port} in time")
            pending = isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()
            ready, _, _ = ([self.sock], [], []) if pending else select.select(
                [self.sock], [], [], left)
            if not ready:
                continue
            try:
                data = self.sock.recv(1 << 20)
            except (ConnectionResetError, OSError):  # ssl.SSLError included
                data = b""
            if not data:
                self.closed = True
                return None
            self._frames.extend(self.reader.feed(data))
        payload = self._frames.pop(0)
        self.log.append(("recv", payload))
        return payload

    def wait_eof(self, timeout_s: float = 5.0) -> bool:
        """True if the server closes the connection (no further frames) within the time."""
        try:
            return self.recv_frame(timeout_s) is None
        except TimeoutError:
            return False

    # -- handshake

    def connect(self, timeout_ms: int = 30000, session_id: int = 0,
                passwd: bytes = b"\0" * 16, last_zxid: int = 0,
                read_only: bool | None = False) -> tuple[r.ConnectResponse, bool | None] | None:
        req = r.ConnectRequest(0, last_zxid, timeout_ms, session_id, passwd)
        self.send_frame(r.encode_connect_request(req, read_only))
        payload = self.recv_frame()
        if payload is None:
            return None
        resp, ro = r.decode_connect_response(payload)
        self.session_id, self.passwd = resp.sessionId, resp.passwd
        self.negotiated_timeout = resp.timeOut
        return resp, ro

    # -- requests

    def next_xid(self) -> int:
        self.xid += 1
        return self.xid

    def send_request(self, op: int, rec: Record | list[tuple[int, Record]] | None = None,
                     xid: int | None = None) -> int:
        if xid is None:
            xid = self.next_xid()
        self.send_frame(encode_request(xid, op, rec))
        return xid

    def read_reply(self, op: int | None, xid: int,
                   timeout_s: float | None = None) -> Reply | None:
        """Read frames until the reply with ``xid``; notifications before it go to
        ``events``. None if the server closed the connection first."""
        while True:
            payload = self.recv_frame(timeout_s)
            if payload is None:
                return None
            rep = decode_reply(payload, op)
            if rep.is_event:
                self.events.append(rep)
                continue
            if rep.xid != xid:
                raise AssertionError(f"reply xid {rep.xid} while waiting for {xid} "
                                     f"(replies must come in request order)")
            return rep

    def call(self, op: int, rec: Record | list[tuple[int, Record]] | None = None,
             xid: int | None = None, timeout_s: float | None = None) -> Reply | None:
        x = self.send_request(op, rec, xid)
        return self.read_reply(op, x, timeout_s)

    def ping(self) -> Reply | None:
        return self.call(OpCode.PING, None, xid=XID_PING)

    def auth(self, scheme: str, credential: bytes) -> Reply | None:
        return self.call(OpCode.AUTH, r.AuthPacket(0, scheme, credential), xid=XID_AUTH)

    def drain_events(self) -> list[Reply]:
        """A ping round trip, then every notification that arrived before its reply."""
        if not self.closed:
            self.ping()
        ev, self.events = self.events, []
        return ev

    def close_session(self) -> Reply | None:
        rep = self.call(OpCode.CLOSE_SESSION)
        self.close()
        return rep

    def close(self) -> None:
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> RawConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_session(host: str, port: int, timeout_ms: int = 30000,
                 read_only: bool | None = False,
                 tls: ssl.SSLContext | None = None) -> RawConnection:
    c = RawConnection(host, port, tls=tls)
    res = c.connect(timeout_ms=timeout_ms, read_only=read_only)
    if res is None or res[0].timeOut <= 0:
        c.close()
        raise ConnectionClosed(f"session refused by {host}:{port}: {res!r}")
    return c
