"""multi (transactions) and multiRead: sub-op encoding and kazoo-style results.

A committed transaction yields one result per op: the created path (str), True for
delete/check, the Stat for set_data. When the multi failed, every entry is a ZkError
instance: ``RolledBackError`` for ops before the failing one (err 0), the real error
for the failing op, RuntimeInconsistencyError for the ops after it (reference §9).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import ZkError, error_for
from ..paths import validate_path
from ..proto import records as rec
from ..proto.jute import Record
from ..proto.opcodes import CreateMode, Err, OpCode
from ..proto.ops import decode_multi_results, encode_multi
from .hosts import add_chroot, strip_chroot


class RolledBackError(ZkError):
    """A transaction op that would have succeeded but was rolled back (kazoo's name)."""

    code = Err.OK


def create_flags(*, ephemeral: bool, sequence: bool, container: bool, ttl_ms: int) -> tuple[int, int]:
    """(opcode, CreateMode flags) for create's keyword arguments."""
    if container:
        if ephemeral or sequence or ttl_ms:
            raise ValueError("a container node cannot be ephemeral, sequential or have a TTL")
        return OpCode.CREATE_CONTAINER, CreateMode.CONTAINER
    if ttl_ms:
        if ephemeral:
            raise ValueError("an ephemeral node cannot have a TTL")
        if ttl_ms < 0:
            raise ValueError("ttl_ms must be positive")
        mode = CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL if sequence else CreateMode.PERSISTENT_WITH_TTL
        return OpCode.CREATE_TTL, mode
    flags = (1 if ephemeral else 0) | (2 if sequence else 0)
    return OpCode.CREATE, flags


def check_path(path: str, sequential: bool = False) -> None:
    reason = validate_path(path, sequential=sequential)
    if reason is not None:
        raise ValueError(reason)


def create_record(op: int, server_path: str, data: bytes | None, acl: list[rec.ACL],
                  flags: int, ttl_ms: int) -> Record:
    if op == OpCode.CREATE_TTL:
        return rec.CreateTTLRequest(server_path, data, acl, int(flags), ttl_ms)
    return rec.CreateRequest(server_path, data, acl, int(flags))


class Transaction:
    """Collects ops; ``await commit()`` sends one multi (kazoo's TransactionRequest)."""

    def __init__(self, chroot: str, default_acl: list[rec.ACL],
                 send: Callable[[bytes, Callable[[bytes, int], Any]], Awaitable[Any]]) -> None:
        self._chroot = chroot
        self._default_acl = default_acl
        self._send = send
        self._ops: list[tuple[int, Record]] = []
        self.committed = False

    def __len__(self) -> int:
        return len(self._ops)

    def create(self, path: str, data: bytes | None = b"", acl: list[rec.ACL] | None = None, *,
               ephemeral: bool = False, sequence: bool = False, container: bool = False,
               ttl_ms: int = 0) -> Transaction:
        check_path(path, sequence)
        op, flags = create_flags(ephemeral=ephemeral, sequence=sequence, container=container,
                                 ttl_ms=ttl_ms)
        acl = self._default_acl if acl is None else acl
        self._ops.append((op, create_record(op, add_chroot(self._chroot, path), data, acl,
                                            flags, ttl_ms)))
        return self

    def delete(self, path: str, version: int = -1) -> Transaction:
        check_path(path)
        self._ops.append((OpCode.DELETE, rec.DeleteRequest(add_chroot(self._chroot, path),
                                                           version)))
        return self

    def set_data(self, path: str, data: bytes | None, version: int = -1) -> Transaction:
        check_path(path)
        self._ops.append((OpCode.SET_DATA, rec.SetDataRequest(add_chroot(self._chroot, path),
                                                              data, version)))
        return self

    def check(self, path: str, version: int) -> Transaction:
        check_path(path)
        self._ops.append((OpCode.CHECK, rec.CheckVersionRequest(add_chroot(self._chroot, path),
                                                                version)))
        return self

    async def commit(self) -> list[Any]:
        if self.committed:
            raise ValueError("transaction already committed")
        self.committed = True
        if not self._ops:
            return []  # the Java client never sends an empty multi
        body = bytearray()
        encode_multi(body, self._ops)
        chroot = self._chroot
        paths = [getattr(r, "path", None) for _, r in self._ops]

        def read(fr: bytes, off: int) -> list[Any]:
            results, _ = decode_multi_results(fr, off)
            return write_results(results, chroot, paths)

        result: list[Any] = await self._send(bytes(body), read)
        return result


def write_results(results: list[tuple[int, int, Record | None]], chroot: str,
                  paths: list[str | None]) -> list[Any]:
    failed = any(typ == OpCode.ERROR and err != 0 for typ, err, _ in results)
    out: list[Any] = []
    for i, (typ, err, r) in enumerate(results):
        cpath = strip_chroot(chroot, paths[i]) if i < len(paths) and paths[i] else None
        if failed or typ == OpCode.ERROR:
            if err == 0:
                out.append(RolledBackError(cpath))
            else:
                out.append(error_for(err, cpath))
        elif typ in (OpCode.CREATE, OpCode.CREATE2):
            out.append(strip_chroot(chroot, r.path))  # type: ignore[union-attr]
        elif typ in (OpCode.DELETE, OpCode.CHECK):
            out.append(True)
        elif typ == OpCode.SET_DATA:
            out.append(r.stat)  # type: ignore[union-attr]
        else:
            out.append(r)
    return out


def read_results(results: list[tuple[int, int, Record | None]], chroot: str,
                 paths: list[str]) -> list[Any]:
    """multiRead: (data, stat) for get, list of names for get_children, ZkError on error."""
    out: list[Any] = []
    for i, (typ, err, r) in enumerate(results):
        if typ == OpCode.ERROR or err:
            out.append(error_for(err, strip_chroot(chroot, paths[i]) if i < len(paths) else None))
        elif typ == OpCode.GET_DATA:
            out.append((r.data, r.stat))  # type: ignore[union-attr]
        elif typ == OpCode.GET_CHILDREN:
            out.append(list(r.children or []))  # type: ignore[union-attr]
        else:
            out.append(r)
    return out
