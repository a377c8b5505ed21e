"""Which record follows the RequestHeader for each opcode, and the multi encodings.

Multi on the wire (reference section 9): a run of ``MultiHeader{type, done=false,
err=-1} + op record`` closed by ``MultiHeader{-1, true, -1}``; the response has the
same shape with one result record per op.
"""

from __future__ import annotations

from typing import Any

from . import records as r
from .jute import MalformedRecord, Record, WireRecord
from .opcodes import OpCode

REQUEST_RECORDS: dict[int, type[Record] | None] = {
    OpCode.CREATE: r.CreateRequest,
    OpCode.CREATE2: r.CreateRequest,
    OpCode.CREATE_CONTAINER: r.CreateRequest,
    OpCode.CREATE_TTL: r.CreateTTLRequest,
    OpCode.DELETE: r.DeleteRequest,
    OpCode.EXISTS: r.ExistsRequest,
    OpCode.GET_DATA: r.GetDataRequest,
    OpCode.SET_DATA: r.SetDataRequest,
    OpCode.GET_ACL: r.GetACLRequest,
    OpCode.SET_ACL: r.SetACLRequest,
    OpCode.GET_CHILDREN: r.GetChildrenRequest,
    OpCode.GET_CHILDREN2: r.GetChildren2Request,
    OpCode.SYNC: r.SyncRequest,
    OpCode.CHECK: r.CheckVersionRequest,
    OpCode.RECONFIG: r.ReconfigRequest,
    OpCode.CHECK_WATCHES: r.CheckWatchesRequest,
    OpCode.REMOVE_WATCHES: r.RemoveWatchesRequest,
    OpCode.DELETE_CONTAINER: r.DeleteContainerRequest,
    OpCode.AUTH: r.AuthPacket,
    OpCode.SET_WATCHES: r.SetWatches,
    OpCode.SET_WATCHES2: r.SetWatches2,
    OpCode.SASL: r.GetSASLRequest,
    OpCode.GET_EPHEMERALS: r.GetEphemeralsRequest,
    OpCode.GET_ALL_CHILDREN_NUMBER: r.GetAllChildrenNumberRequest,
    OpCode.ADD_WATCH: r.AddWatchRequest,
    OpCode.PING: None,
    OpCode.CLOSE_SESSION: None,
    OpCode.WHO_AM_I: None,
}

# Sub-operations allowed in a multi (writes) and in a multiRead (reads).
MULTI_WRITE_OPS = frozenset({OpCode.CREATE, OpCode.CREATE2, OpCode.CREATE_CONTAINER,
                             OpCode.CREATE_TTL, OpCode.DELETE, OpCode.SET_DATA, OpCode.CHECK})
MULTI_READ_OPS = frozenset({OpCode.GET_CHILDREN, OpCode.GET_DATA})

# Opcodes that change state (go through the write pipeline and consume a zxid).
WRITE_OPS = frozenset({OpCode.CREATE, OpCode.CREATE2, OpCode.CREATE_CONTAINER,
                       OpCode.CREATE_TTL, OpCode.DELETE, OpCode.SET_DATA, OpCode.SET_ACL,
                       OpCode.MULTI, OpCode.RECONFIG, OpCode.DELETE_CONTAINER,
                       OpCode.CLOSE_SESSION, OpCode.CREATE_SESSION, OpCode.CHECK})

_END = r.MultiHeader(-1, True, -1)


def decode_multi(buf: Any, off: int, allowed: frozenset[int]) -> tuple[list[tuple[int, Record]], int]:
    """Decode multi / multiRead sub-ops. An opcode outside ``allowed`` is malformed
    (ZooKeeper fails the decode, which answers MARSHALLINGERROR)."""
    ops: list[tuple[int, Record]] = []
    while True:
        hdr, off = r.MultiHeader.decode(buf, off)
        if hdr.done:
            return ops, off
        if hdr.type not in allowed:
            raise MalformedRecord(f"opcode {hdr.type} not allowed in this multi")
        rec_cls = REQUEST_RECORDS[hdr.type]
        assert rec_cls is not None
        rec, off = rec_cls.decode(buf, off)
        ops.append((hdr.type, rec))


def encode_multi(out: bytearray, ops: list[tuple[int, Record]]) -> None:
    """Encode multi request sub-ops (used by the client)."""
    for op, rec in ops:
        r.MultiHeader(op, False, -1).encode(out)
        rec.encode(out)
    _END.encode(out)


# One multi / multiRead result: (op type or -1, err, the op's response record or None).
MultiResult = tuple[int, int, Record | WireRecord | None]


def encode_multi_results(out: bytearray, results: list[MultiResult]) -> None:
    """Encode multi results: each is ``(type, err, record-or-None)``.

    Error results use ``type = -1`` and carry ``ErrorResponse{err}``."""
    for typ, err, rec in results:
        r.MultiHeader(typ, False, err).encode(out)
        if rec is not None:
            rec.encode(out)
    _END.encode(out)


MULTI_RESULT_RECORDS: dict[int, type[Record] | type[WireRecord] | None] = {
    OpCode.CREATE: r.CreateResponse,
    OpCode.CREATE2: r.Create2Response,
    OpCode.DELETE: None,
    OpCode.CHECK: None,
    OpCode.SET_DATA: r.SetDataResponse,
    OpCode.GET_CHILDREN: r.GetChildrenResponse,
    OpCode.GET_DATA: r.GetDataResponse,
    OpCode.ERROR: r.ErrorResponse,
}


def decode_multi_results(buf: Any, off: int) -> tuple[list[MultiResult], int]:
    """Decode a multi / multiRead response body (used by the client)."""
    results: list[MultiResult] = []
    while True:
        hdr, off = r.MultiHeader.decode(buf, off)
        if hdr.done:
            return results, off
        if hdr.type not in MULTI_RESULT_RECORDS:
            raise MalformedRecord(f"unknown multi result type {hdr.type}")
        rec_cls = MULTI_RESULT_RECORDS[hdr.type]
        rec: Record | WireRecord | None = None
        if rec_cls is not None:
            rec, off = rec_cls.decode(buf, off)
        results.append((hdr.type, hdr.err, rec))
