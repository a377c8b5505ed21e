"""Every jute record of zookeeper.jute that zkpy speaks, in wire field order.

Requests, responses, txns and quorum packets are separate classes so each side can
decode and encode both directions (kazoo's records only go one way).
Field names follow zookeeper.jute so they can be checked against it by eye.
"""

from __future__ import annotations

import struct
from typing import Any

from .jute import BOOL, BUFFER, INT, LONG, USTRING, Record, Vector, WireRecord

# --------------------------------------------------------------------------- data


class Id(Record):
    FIELDS = (("scheme", USTRING), ("id", USTRING))


class ACL(Record):
    FIELDS = (("perms", INT), ("id", Id))


class Stat(Record):
    FIELDS = (
        ("czxid", LONG), ("mzxid", LONG), ("ctime", LONG), ("mtime", LONG),
        ("version", INT), ("cversion", INT), ("aversion", INT), ("ephemeralOwner", LONG),
        ("dataLength", INT), ("numChildren", INT), ("pzxid", LONG),
    )


_STAT = struct.Struct("!qqqqiiiqiiq")
pack_stat = _STAT.pack  # the 11 Stat fields -> their 68 wire bytes
_STAT_FIELDS = tuple(n for n, _ in Stat.FIELDS)


def _stat_field(i: int) -> property:
    return property(lambda self: _STAT.unpack(self.raw)[i])


class PackedStat(Stat):
    """A Stat held as its 68 wire bytes, packed once from a znode's fields: a reply
    appends them as they are (most Stats the server builds are only ever encoded, and
    building the record field by field cost about as much as the rest of a getData).
    Fields decode on access; it compares equal to a Stat with the same fields."""

    __slots__ = ("raw",)

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def encode(self, out: bytearray) -> None:
        out += self.raw

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Stat):
            return NotImplemented
        return self.astuple() == other.astuple()

    def __hash__(self) -> int:
        return hash(self.astuple())

    def __repr__(self) -> str:
        return "Stat(" + ", ".join(f"{n}={v!r}" for n, v in zip(
            _STAT_FIELDS, _STAT.unpack(self.raw), strict=True)) + ")"

    def astuple(self) -> tuple[Any, ...]:
        return _STAT.unpack(self.raw)


for _i, _name in enumerate(_STAT_FIELDS):
    setattr(PackedStat, _name, _stat_field(_i))
del _i, _name


class StatPersisted(Record):
    FIELDS = (
        ("czxid", LONG), ("mzxid", LONG), ("ctime", LONG), ("mtime", LONG),
        ("version", INT), ("cversion", INT), ("aversion", INT), ("ephemeralOwner", LONG),
        ("pzxid", LONG),
    )


ACL_VECTOR = Vector(ACL)
STRING_VECTOR = Vector(USTRING)

# ------------------------------------------------------------------ connection


class ConnectRequest(Record):
    """First frame from a client. The trailing readOnly byte is optional on the wire:
    decode it with ``decode_connect_request``."""

    FIELDS = (("protocolVersion", INT), ("lastZxidSeen", LONG), ("timeOut", INT),
              ("sessionId", LONG), ("passwd", BUFFER))


class ConnectResponse(Record):
    FIELDS = (("protocolVersion", INT), ("timeOut", INT), ("sessionId", LONG),
              ("passwd", BUFFER))


class RequestHeader(Record):
    FIELDS = (("xid", INT), ("type", INT))


class ReplyHeader(Record):
    FIELDS = (("xid", INT), ("zxid", LONG), ("err", INT))


class WatcherEvent(Record):
    FIELDS = (("type", INT), ("state", INT), ("path", USTRING))


class AuthPacket(Record):
    FIELDS = (("type", INT), ("scheme", USTRING), ("auth", BUFFER))


class SetWatches(Record):
    FIELDS = (("relativeZxid", LONG), ("dataWatches", STRING_VECTOR),
              ("existWatches", STRING_VECTOR), ("childWatches", STRING_VECTOR))


class SetWatches2(Record):
    FIELDS = (("relativeZxid", LONG), ("dataWatches", STRING_VECTOR),
              ("existWatches", STRING_VECTOR), ("childWatches", STRING_VECTOR),
              ("persistentWatches", STRING_VECTOR),
              ("persistentRecursiveWatches", STRING_VECTOR))


class GetSASLRequest(Record):
    FIELDS = (("token", BUFFER),)


class SetSASLResponse(Record):
    FIELDS = (("token", BUFFER),)


# ------------------------------------------------------------------- requests


class CreateRequest(Record):
    FIELDS = (("path", USTRING), ("data", BUFFER), ("acl", ACL_VECTOR), ("flags", INT))


class CreateTTLRequest(Record):
    FIELDS = (("path", USTRING), ("data", BUFFER), ("acl", ACL_VECTOR), ("flags", INT),
              ("ttl", LONG))


class DeleteRequest(Record):
    FIELDS = (("path", USTRING), ("version", INT))


class ExistsRequest(Record):
    FIELDS = (("path", USTRING), ("watch", BOOL))


class GetDataRequest(Record):
    FIELDS = (("path", USTRING), ("watch", BOOL))


class SetDataRequest(Record):
    FIELDS = (("path", USTRING), ("data", BUFFER), ("version", INT))


class GetACLRequest(Record):
    FIELDS = (("path", USTRING),)


class SetACLRequest(Record):
    FIELDS = (("path", USTRING), ("acl", ACL_VECTOR), ("version", INT))


class GetChildrenRequest(Record):
    FIELDS = (("path", USTRING), ("watch", BOOL))


class GetChildren2Request(Record):
    FIELDS = (("path", USTRING), ("watch", BOOL))


class SyncRequest(Record):
    FIELDS = (("path", USTRING),)


class CheckVersionRequest(Record):
    FIELDS = (("path", USTRING), ("version", INT))


class ReconfigRequest(Record):
    FIELDS = (("joiningServers", USTRING), ("leavingServers", USTRING),
              ("newMembers", USTRING), ("curConfigId", LONG))


class CheckWatchesRequest(Record):
    FIELDS = (("path", USTRING), ("type", INT))


class RemoveWatchesRequest(Record):
    FIELDS = (("path", USTRING), ("type", INT))


class DeleteContainerRequest(Record):
    FIELDS = (("path", BUFFER),)


class GetEphemeralsRequest(Record):
    FIELDS = (("prefixPath", USTRING),)


class GetAllChildrenNumberRequest(Record):
    FIELDS = (("path", USTRING),)


class AddWatchRequest(Record):
    FIELDS = (("path", USTRING), ("mode", INT))


class MultiHeader(Record):
    FIELDS = (("type", INT), ("done", BOOL), ("err", INT))


# ------------------------------------------------------------------ responses


class CreateResponse(Record):
    FIELDS = (("path", USTRING),)


class Create2Response(Record):
    FIELDS = (("path", USTRING), ("stat", Stat))


class ExistsResponse(WireRecord):
    FIELDS = (("stat", Stat),)


class GetDataResponse(WireRecord):
    FIELDS = (("data", BUFFER), ("stat", Stat))


class SetDataResponse(WireRecord):
    FIELDS = (("stat", Stat),)


class GetACLResponse(Record):
    FIELDS = (("acl", ACL_VECTOR), ("stat", Stat))


class SetACLResponse(WireRecord):
    FIELDS = (("stat", Stat),)


class GetChildrenResponse(Record):
    FIELDS = (("children", STRING_VECTOR),)


class GetChildren2Response(Record):
    FIELDS = (("children", STRING_VECTOR), ("stat", Stat))


class SyncResponse(Record):
    FIELDS = (("path", USTRING),)


class ErrorResponse(Record):
    FIELDS = (("err", INT),)


class GetEphemeralsResponse(Record):
    FIELDS = (("ephemerals", STRING_VECTOR),)


class GetAllChildrenNumberResponse(Record):
    FIELDS = (("totalNumber", INT),)


class ClientInfo(Record):
    FIELDS = (("authScheme", USTRING), ("user", USTRING))


class WhoAmIResponse(Record):
    FIELDS = (("clientInfo", Vector(ClientInfo)),)


# ----------------------------------------------------------------------- txns


class TxnHeader(Record):
    FIELDS = (("clientId", LONG), ("cxid", INT), ("zxid", LONG), ("time", LONG), ("type", INT))


class CreateTxn(Record):
    FIELDS = (("path", USTRING), ("data", BUFFER), ("acl", ACL_VECTOR), ("ephemeral", BOOL),
              ("parentCVersion", INT))


class CreateTTLTxn(Record):
    FIELDS = (("path", USTRING), ("data", BUFFER), ("acl", ACL_VECTOR),
              ("parentCVersion", INT), ("ttl", LONG))


class CreateContainerTxn(Record):
    FIELDS = (("path", USTRING), ("data", BUFFER), ("acl", ACL_VECTOR),
              ("parentCVersion", INT))


class DeleteTxn(Record):
    FIELDS = (("path", USTRING),)


class SetDataTxn(Record):
    FIELDS = (("path", USTRING), ("data", BUFFER), ("version", INT))


class CheckVersionTxn(Record):
    FIELDS = (("path", USTRING), ("version", INT))


class SetACLTxn(Record):
    FIELDS = (("path", USTRING), ("acl", ACL_VECTOR), ("version", INT))


class CreateSessionTxn(Record):
    FIELDS = (("timeOut", INT),)


class CloseSessionTxn(Record):
    FIELDS = (("paths2Delete", STRING_VECTOR),)


class ErrorTxn(Record):
    FIELDS = (("err", INT),)


class Txn(Record):
    FIELDS = (("type", INT), ("data", BUFFER))


class MultiTxn(Record):
    FIELDS = (("txns", Vector(Txn)),)


class TxnDigest(Record):
    FIELDS = (("version", INT), ("treeDigest", LONG))


# --------------------------------------------------------------------- quorum


class QuorumPacket(Record):
    FIELDS = (("type", INT), ("zxid", LONG), ("data", BUFFER), ("authinfo", Vector(Id)))


class LearnerInfo(Record):
    FIELDS = (("serverid", LONG), ("protocolVersion", INT), ("configVersion", LONG))


# -------------------------------------------------------- optional trailing byte


def decode_connect_request(buf: bytes | memoryview) -> tuple[ConnectRequest, bool | None]:
    """Decode a ConnectRequest frame; the second value is the readOnly flag, or None
    when the client did not send the optional trailing byte (old clients)."""
    req, off = ConnectRequest.decode(buf, 0)
    if off < len(buf):
        return req, buf[off] != 0
    return req, None


def encode_connect_response(resp: ConnectResponse, read_only: bool | None) -> bytes:
    """ConnectResponse with the readOnly byte only when the request carried one."""
    out = bytearray()
    resp.encode(out)
    if read_only is not None:
        out.append(1 if read_only else 0)
    return bytes(out)


def decode_connect_response(buf: bytes | memoryview) -> tuple[ConnectResponse, bool | None]:
    resp, off = ConnectResponse.decode(buf, 0)
    if off < len(buf):
        return resp, buf[off] != 0
    return resp, None


def encode_connect_request(req: ConnectRequest, read_only: bool | None = False) -> bytes:
    out = bytearray()
    req.encode(out)
    if read_only is not None:
        out.append(1 if read_only else 0)
    return bytes(out)
