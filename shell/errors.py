"""Map failures to one line of text (zkCli's wording) and an exit code (one table).

Exit codes (anchors C8; documented in man/zkpy-shell.1 EXIT STATUS):

====  ==================================================================
0     success
1     operation failed: a ZooKeeper error reply (no node, bad version, ...)
2     usage error: unknown option, missing argument, bad number, bad ACL,
      bad path, unbalanced quote, a confirmation that could not be asked
3     unavailable: cannot connect, connection lost, session expired, not
      connected
4     permission: NoAuth / AuthFailed
127   unknown command (as zkCli)
130   interrupted by Ctrl-C
====  ==================================================================

zkCli exits 1 for every CliException; we keep its message text (scripts grep it)
but give the cause its own code.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from zkpy.errors import ZkError
from zkpy.proto.opcodes import ERR_TEXT, Err


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    UNAVAILABLE = 3
    PERMISSION = 4
    UNKNOWN_COMMAND = 127
    INTERRUPTED = 130


EXIT_CODE_DOC: tuple[tuple[int, str], ...] = (
    (ExitCode.OK, "success"),
    (ExitCode.FAILED, "the operation failed: a ZooKeeper error reply such as no node, "
                      "node exists, bad version, not empty"),
    (ExitCode.USAGE, "usage error: unknown option, missing argument, bad number, bad ACL, "
                     "bad path, unbalanced quote, or a confirmation that could not be asked"),
    (ExitCode.UNAVAILABLE, "unavailable: cannot connect, connection lost, session expired, "
                           "not connected"),
    (ExitCode.PERMISSION, "permission: insufficient permission (NoAuth) or authentication "
                          "failed (AuthFailed)"),
    (ExitCode.UNKNOWN_COMMAND, "unknown command (as zkCli)"),
    (ExitCode.INTERRUPTED, "interrupted by Ctrl-C"),
)


class ShellError(Exception):
    """A failure the shell reports as one line (+ optional hint) and an exit code."""

    exit_code: int = ExitCode.FAILED

    def __init__(self, message: str, *, hint: str | None = None,
                 exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(ShellError):
    exit_code = ExitCode.USAGE


class UnknownCommandError(ShellError):
    exit_code = ExitCode.UNKNOWN_COMMAND


class NotConnectedError(ShellError):
    exit_code = ExitCode.UNAVAILABLE

    def __init__(self) -> None:
        super().__init__("Not connected", hint="use 'connect host:port' to open a session")


# CliWrapperException.getMessage wording, by error code. None -> the Java exception text.
_ZKCLI_WORDING: dict[int, str] = {
    Err.NONODE: "Node does not exist: {path}",
    Err.NODEEXISTS: "Node already exists: {path}",
    Err.NOTEMPTY: "Node not empty: {path}",
    Err.BADVERSION: "version No is not valid : {path}",
    Err.NOCHILDRENFOREPHEMERALS: "Ephemerals cannot have children: {path}",
    Err.NOAUTH: "Insufficient permission : {path}",
    Err.INVALIDACL: "Acl is not valid : {path}",
    Err.BADARGUMENTS: "Arguments are not valid : {path}",
    Err.NOTREADONLY: "Not a read-only call: {path}",
    Err.QUOTAEXCEEDED: "Quota has exceeded : {path}",
    Err.RECONFIGINPROGRESS: "Another reconfiguration is in progress -- concurrent reconfigs "
                            "not supported (yet)",
    Err.NEWCONFIGNOQUORUM: "No quorum of new config is connected and up-to-date with the "
                           "leader of last commmitted config - try invoking reconfiguration "
                           "after new servers are connected and synced",
}

_UNAVAILABLE = {Err.CONNECTIONLOSS, Err.SESSIONEXPIRED, Err.OPERATIONTIMEOUT,
                Err.REQUESTTIMEOUT, Err.SESSIONMOVED, Err.THROTTLEDOP}
_PERMISSION = {Err.NOAUTH, Err.AUTHFAILED, Err.SESSIONCLOSEDREQUIRESASLAUTH}

_HINTS: dict[int, str] = {
    Err.CONNECTIONLOSS: "is the server up? check -server HOST:PORT",
    Err.SESSIONEXPIRED: "the session expired; 'connect' opens a new one",
    Err.NOAUTH: "'addauth digest user:password' adds credentials",
    Err.AUTHFAILED: "the server rejected the credentials; 'connect' opens a fresh session",
    Err.NOTEMPTY: "'deleteall' removes a node with its children",
    Err.NOCHILDRENFOREPHEMERALS: "ephemeral nodes cannot have children",
}


@dataclass(frozen=True, slots=True)
class Failure:
    message: str
    exit_code: int
    hint: str | None = None


def exit_code_for(code: int) -> int:
    if code in _UNAVAILABLE:
        return ExitCode.UNAVAILABLE
    if code in _PERMISSION:
        return ExitCode.PERMISSION
    return ExitCode.FAILED


def zk_message(code: int, path: str | None) -> str:
    """The line zkCli prints for a KeeperException with ``code`` on ``path``."""
    wording = _ZKCLI_WORDING.get(code)
    if wording is not None:
        return wording.format(path=path if path is not None else "null")
    text = ERR_TEXT.get(code, f"Unknown error {code}")
    return f"KeeperErrorCode = {text}" + (f" for {path}" if path else "")


def describe_zk_error(exc: ZkError, path: str | None = None) -> Failure:
    """``path``: the path as the user sees it (falls back to the exception's own)."""
    code = int(exc.code)
    shown = path if path is not None else exc.path
    hint = _HINTS.get(code)
    if code == Err.NONODE and path is not None and path.count("/") > 1:
        hint = None  # the message already says which node; parent hint added by commands
    return Failure(zk_message(code, shown), exit_code_for(code), hint)


def describe(exc: BaseException, path: str | None = None) -> Failure:
    """Any exception a command raised -> Failure (unexpected ones are exit 1)."""
    if isinstance(exc, ShellError):
        return Failure(exc.message, exc.exit_code, exc.hint)
    if isinstance(exc, ZkError):
        return describe_zk_error(exc, path)
    if isinstance(exc, TimeoutError):
        return Failure(zk_message(Err.CONNECTIONLOSS, path), ExitCode.UNAVAILABLE,
                       _HINTS[Err.CONNECTIONLOSS])
    if isinstance(exc, (ConnectionError, OSError)):
        return Failure(f"{type(exc).__name__}: {exc}", ExitCode.UNAVAILABLE,
                       _HINTS[Err.CONNECTIONLOSS])
    return Failure(f"{type(exc).__name__}: {exc}", ExitCode.FAILED,
                   "run with --debug for a traceback")
