"""Value types shared by the state machine and the runtime.

``StateConfig`` (static configuration), ``Conn`` (one client connection, owned by the
runtime), ``Command`` (a txn: what goes to the log and to followers), ``Applied`` (what
``StateMachine.apply`` returns) and ``MultiResponse`` (the body of a multi/multiRead reply).
"""

from __future__ import annotations

import struct
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..proto import records as r
from ..proto.jute import MalformedRecord, Record, WireRecord, read_vector, write_vector
from ..proto.opcodes import OpCode
from ..proto.ops import (
    MULTI_WRITE_OPS,
    REQUEST_RECORDS,
    MultiResult,
    decode_multi,
    encode_multi,
    encode_multi_results,
)

_EMPTY_MAP: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class StateConfig:
    """Static configuration of a state machine (identical on every member)."""

    server_id: int = 1                  # high byte of new session ids
    tick_ms: int = 2000                 # expiry-wheel bucket width
    min_session_timeout_ms: int = 4000  # runtime fills 2*tick / 20*tick defaults
    max_session_timeout_ms: int = 40000
    super_digest: str | None = None     # "super:<base64 sha1>"
    skip_acl: bool = False
    enforce_quota: bool = False
    extended_types_enabled: bool = False  # TTL nodes
    digest_auth_enabled: bool = True
    sasl_users: Mapping[str, str] = field(default_factory=lambda: _EMPTY_MAP)
    x509_enabled: bool = False          # x509 ids come from TLS client certificates
    config_data: bytes = b""            # /zookeeper/config contents
    container_max_never_used_ms: int = 0
    secret: int = 0                     # mixes into session passwords / SASL nonces


class Conn:
    """One client connection; created and owned by the runtime.

    ``auth_ids`` starts as ``[Id("ip", remote_ip)]``; ``authenticate``/``sasl_step`` add
    more. ``watcher`` is the key under which this connection's watches are registered
    (events come back as ``(watcher, WatcherEvent)``). ``sasl`` is private SASL state.
    """

    __slots__ = ("session_id", "auth_ids", "watcher", "remote_ip", "sasl", "txn_ids",
                 "__weakref__")

    def __init__(self, remote_ip: str = "127.0.0.1", watcher: Hashable | None = None,
                 session_id: int = 0, auth_ids: list[r.Id] | None = None) -> None:
        self.session_id = session_id
        self.remote_ip = remote_ip
        self.auth_ids: list[r.Id] = auth_ids if auth_ids is not None else [r.Id("ip", remote_ip)]
        self.watcher: Hashable = watcher if watcher is not None else self
        self.sasl: Any = None
        # (len(auth_ids), the ids in txn order, their wire bytes): what every write of this
        # connection logs, kept until an auth adds an id (auth ids are only ever appended).
        self.txn_ids: tuple[int, list[r.Id], bytes] | None = None

    def __repr__(self) -> str:
        return f"Conn(session_id={self.session_id:#x}, remote_ip={self.remote_ip!r})"


# The last few auth-id vectors decoded, with their bytes: every txn of a connection
# carries the same ids, so replaying a log mostly finds its vector here.
_RECENT_IDS: list[tuple[bytes, list[r.Id]]] = []
_RECENT_IDS_MAX = 8


def _read_ids(buf: Any, off: int) -> tuple[list[r.Id] | None, int]:
    """vector<Id> at ``off``; the list may be shared between commands (never mutated)."""
    if isinstance(buf, bytes):
        # The encoding is self-delimiting: bytes that start with a whole cached vector
        # decode to exactly that vector. Most records repeat the previous one's.
        for key, ids in _RECENT_IDS:
            if buf.startswith(key, off):
                return ids, off + len(key)
    ids, end = read_vector(buf, off, r.Id.decode)
    if ids is not None:
        _RECENT_IDS.insert(0, (bytes(buf[off:end]), ids))
        del _RECENT_IDS[_RECENT_IDS_MAX:]
    return ids, end


# TxnHeader {long clientId, int cxid, long zxid, long time, int type}
TXN_HEADER = struct.Struct("!qiqqi")
# Plain ints for from_bytes, which runs once per txn on replay (an IntEnum attribute
# lookup costs ~100 ns on CPython 3.11).
_MULTI = int(OpCode.MULTI)
_CREATE_SESSION = int(OpCode.CREATE_SESSION)


def _write_id(out: bytearray, v: r.Id) -> None:
    v.encode(out)


def encode_ids(ids: list[r.Id]) -> bytes:
    """The ``vector<Id>`` of a txn."""
    out = bytearray()
    write_vector(out, ids, _write_id)
    return bytes(out)


SubOps = list[tuple[int, Record]]


class Command:
    """A txn: the decoded request plus what only the leader knows.

    ``request`` is the request record (``CreateRequest``, ``SetDataRequest``, ...), a list
    of ``(opcode, record)`` for MULTI, ``CreateSessionTxn`` for CREATE_SESSION,
    ``DeleteContainerRequest`` for DELETE_CONTAINER and None for CLOSE_SESSION.

    Wire form (``to_bytes``): ``TxnHeader{clientId=session_id, cxid, zxid, time, type=op}``
    + ``vector<Id>`` auth ids + the request body (multi: the multi request encoding);
    ``wire`` holds it already when it was known at creation (else None).
    """

    __slots__ = ("zxid", "session_id", "cxid", "time_ms", "op", "request", "auth_ids", "wire")

    def __init__(self, zxid: int, session_id: int, cxid: int, time_ms: int, op: int,
                 request: Record | SubOps | None, auth_ids: list[r.Id] | None = None) -> None:
        self.zxid = zxid
        self.session_id = session_id
        self.cxid = cxid
        self.time_ms = time_ms
        self.op = op
        self.request = request
        self.auth_ids: list[r.Id] = auth_ids if auth_ids is not None else []
        # The wire form when it is known up front: StateMachine.command sets it for a
        # client's write, whose request is logged with its bytes exactly as received.
        self.wire: bytes | None = None

    def to_bytes(self) -> bytes:
        if self.wire is not None:
            return self.wire
        out = bytearray(TXN_HEADER.pack(self.session_id, self.cxid, self.zxid, self.time_ms,
                                         self.op))
        write_vector(out, self.auth_ids, _write_id)
        req = self.request
        if self.op == OpCode.MULTI:
            encode_multi(out, req if isinstance(req, list) else [])
        elif isinstance(req, Record):
            req.encode(out)
        return bytes(out)

    @classmethod
    def from_bytes(cls, buf: bytes | bytearray | memoryview) -> Command:
        try:
            client_id, cxid, zxid, time_ms, op = TXN_HEADER.unpack_from(buf, 0)
            ids, off = _read_ids(buf, TXN_HEADER.size)
            request: Record | SubOps | None
            if op == _MULTI:
                request, off = decode_multi(buf, off, MULTI_WRITE_OPS)
            elif op == _CREATE_SESSION:
                request, off = r.CreateSessionTxn.decode(buf, off)
            else:
                rec_cls = REQUEST_RECORDS.get(op)
                if rec_cls is None or off == len(buf):
                    request = None
                else:
                    request, off = rec_cls.decode(buf, off)
        except (IndexError, ValueError, struct.error) as e:
            if isinstance(e, MalformedRecord):
                raise
            raise MalformedRecord(f"Command: {e}") from None
        if off != len(buf):
            raise MalformedRecord(f"Command: {len(buf) - off} trailing bytes")
        return cls(zxid, client_id, cxid, time_ms, op, request, ids or [])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Command):
            return NotImplemented
        return (self.zxid, self.session_id, self.cxid, self.time_ms, self.op, self.request,
                self.auth_ids) == (other.zxid, other.session_id, other.cxid, other.time_ms,
                                   other.op, other.request, other.auth_ids)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"Command(zxid={self.zxid:#x}, session_id={self.session_id:#x}, cxid={self.cxid},"
                f" op={self.op}, request={self.request!r})")


class MultiResponse:
    """Body of a multi / multiRead reply: ``results`` = ``[(type, err, record|None)]``.

    Error results have type -1 and an ``ErrorResponse{err}`` record."""

    __slots__ = ("results",)

    def __init__(self, results: list[MultiResult]) -> None:
        self.results = results

    def encode(self, out: bytearray) -> None:
        encode_multi_results(out, self.results)

    def to_bytes(self) -> bytes:
        out = bytearray()
        self.encode(out)
        return bytes(out)

    def errors(self) -> list[int]:
        return [err for _, err, _ in self.results]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MultiResponse):
            return NotImplemented
        return self.results == other.results

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"MultiResponse({self.results!r})"


Response = Record | WireRecord | MultiResponse | None
Event = tuple[Hashable, r.WatcherEvent]


class Applied:
    """What ``StateMachine.apply`` returns for one Command.

    ``err`` is the ReplyHeader err (0 for multi even when it failed); ``response`` has
    ``.encode(out)`` (None = no body); ``events`` are ``(watcher, WatcherEvent)`` in
    delivery order (send them before the reply); ``session_id``/``cxid`` identify who
    asked; ``new_session`` = ``(session_id, timeout_ms, passwd)`` for CREATE_SESSION;
    ``closed_session`` = the session removed by CLOSE_SESSION.
    """

    __slots__ = ("zxid", "err", "response", "events", "session_id", "cxid", "new_session",
                 "closed_session")

    def __init__(self, zxid: int, err: int, response: Response, events: list[Event],
                 session_id: int, cxid: int,
                 new_session: tuple[int, int, bytes] | None = None,
                 closed_session: int | None = None) -> None:
        self.zxid = zxid
        self.err = err
        self.response = response
        self.events = events
        self.session_id = session_id
        self.cxid = cxid
        self.new_session = new_session
        self.closed_session = closed_session

    def __repr__(self) -> str:
        return (f"Applied(zxid={self.zxid:#x}, err={self.err}, response={self.response!r},"
                f" events={len(self.events)}, new_session={self.new_session!r},"
                f" closed_session={self.closed_session!r})")
