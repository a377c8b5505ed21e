"""Exceptions for ZooKeeper error codes, one class per code (as kazoo and the Java client).

``error_for(code, path)`` builds the right subclass; its message is the Java client's
``KeeperErrorCode = <text> [for <path>]`` so tools can print it as users know it.
"""

from __future__ import annotations

from .proto.opcodes import ERR_TEXT, Err


class ZkError(Exception):
    """A ZooKeeper error code returned by a server (or raised client-side)."""

    code: Err = Err.SYSTEMERROR

    def __init__(self, path: str | None = None, code: int | None = None) -> None:
        if code is not None:
            self.code = Err(code) if code in Err._value2member_map_ else code  # type: ignore[assignment]
        self.path = path
        text = ERR_TEXT.get(int(self.code), f"Unknown error {int(self.code)}")
        msg = f"KeeperErrorCode = {text}" + (f" for {path}" if path else "")
        super().__init__(msg)


_BY_CODE: dict[int, type[ZkError]] = {}


def _register(code: Err, name: str) -> type[ZkError]:
    cls = type(name, (ZkError,), {"code": code, "__doc__": f"{code.name} ({int(code)})"})
    _BY_CODE[int(code)] = cls
    return cls


SystemZkError = _register(Err.SYSTEMERROR, "SystemZkError")
RuntimeInconsistencyError = _register(Err.RUNTIMEINCONSISTENCY, "RuntimeInconsistencyError")
DataInconsistencyError = _register(Err.DATAINCONSISTENCY, "DataInconsistencyError")
ConnectionLossError = _register(Err.CONNECTIONLOSS, "ConnectionLossError")
MarshallingError = _register(Err.MARSHALLINGERROR, "MarshallingError")
UnimplementedError = _register(Err.UNIMPLEMENTED, "UnimplementedError")
OperationTimeoutError = _register(Err.OPERATIONTIMEOUT, "OperationTimeoutError")
BadArgumentsError = _register(Err.BADARGUMENTS, "BadArgumentsError")
NewConfigNoQuorumError = _register(Err.NEWCONFIGNOQUORUM, "NewConfigNoQuorumError")
ReconfigInProgressError = _register(Err.RECONFIGINPROGRESS, "ReconfigInProgressError")
APIError = _register(Err.APIERROR, "APIError")
NoNodeError = _register(Err.NONODE, "NoNodeError")
NoAuthError = _register(Err.NOAUTH, "NoAuthError")
BadVersionError = _register(Err.BADVERSION, "BadVersionError")
NoChildrenForEphemeralsError = _register(Err.NOCHILDRENFOREPHEMERALS,
                                         "NoChildrenForEphemeralsError")
NodeExistsError = _register(Err.NODEEXISTS, "NodeExistsError")
NotEmptyError = _register(Err.NOTEMPTY, "NotEmptyError")
SessionExpiredError = _register(Err.SESSIONEXPIRED, "SessionExpiredError")
InvalidCallbackError = _register(Err.INVALIDCALLBACK, "InvalidCallbackError")
InvalidACLError = _register(Err.INVALIDACL, "InvalidACLError")
AuthFailedError = _register(Err.AUTHFAILED, "AuthFailedError")
SessionMovedError = _register(Err.SESSIONMOVED, "SessionMovedError")
NotReadOnlyCallError = _register(Err.NOTREADONLY, "NotReadOnlyCallError")
EphemeralOnLocalSessionError = _register(Err.EPHEMERALONLOCALSESSION,
                                         "EphemeralOnLocalSessionError")
NoWatcherError = _register(Err.NOWATCHER, "NoWatcherError")
RequestTimeoutError = _register(Err.REQUESTTIMEOUT, "RequestTimeoutError")
ReconfigDisabledError = _register(Err.RECONFIGDISABLED, "ReconfigDisabledError")
SessionClosedRequireSaslError = _register(Err.SESSIONCLOSEDREQUIRESASLAUTH,
                                          "SessionClosedRequireSaslError")
QuotaExceededError = _register(Err.QUOTAEXCEEDED, "QuotaExceededError")
ThrottledOpError = _register(Err.THROTTLEDOP, "ThrottledOpError")


def error_for(code: int, path: str | None = None) -> ZkError:
    cls = _BY_CODE.get(code)
    if cls is None:
        return ZkError(path, code)
    return cls(path)


class RemoteProtocolError(Exception):
    """The peer sent bytes that break the protocol (h11's naming)."""


class LocalProtocolError(Exception):
    """We were asked to do something the protocol does not allow."""
