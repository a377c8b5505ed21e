"""Write appliers: one handler per opcode, checks in ZooKeeper's order.

Each handler runs against the live tree; a failed check raises ``Fail(code)`` before
anything changed (multi undoes earlier sub-ops through the tree's undo log). Watch
triggers are queued in ``triggers`` and fired by the machine only when the whole
command succeeded. Check order per op: reference section 7 / PrepRequestProcessor.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..paths import validate_path
from ..proto import records as r
from ..proto.jute import Record, WireRecord, as_wire
from ..proto.opcodes import (
    CONTAINER_EPHEMERAL_OWNER,
    TTL_MAX_MS,
    CreateMode,
    Err,
    OpCode,
)
from .acl import ADMIN, CREATE, DELETE, READ, WRITE, AclCache, AclPolicy
from .quota import QuotaTracker
from .sessions import SessionTracker
from .tree import SPECIAL_PATHS, DataTree, Node, parent_of, ttl_owner, wrap32
from .types import MultiResponse, MultiResult, StateConfig

OK = 0
MARSHALLINGERROR = int(Err.MARSHALLINGERROR)
BADARGUMENTS = int(Err.BADARGUMENTS)
UNIMPLEMENTED = int(Err.UNIMPLEMENTED)
RUNTIMEINCONSISTENCY = int(Err.RUNTIMEINCONSISTENCY)
# Plain ints for the create path: an IntEnum attribute lookup costs ~100 ns on CPython 3.11.
OP_CREATE = int(OpCode.CREATE)
OP_CREATE_TTL = int(OpCode.CREATE_TTL)
OP_CREATE_CONTAINER = int(OpCode.CREATE_CONTAINER)

# Trigger kinds queued by the handlers.
T_CREATED = 0
T_DELETED = 1
T_DATA = 2

Trigger = tuple[Any, ...]


class Fail(Exception):
    """A check failed: the command's (or sub-op's) error code."""

    __slots__ = ("code",)

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = int(code)


_FLAGS = {int(m): m for m in CreateMode}

# A path that matches this is valid (PathUtils.validatePath); anything else is checked
# by zkpy.paths.validate_path (the slow, exact one).
_VALID_FAST = re.compile(
    "(?:/(?!\\.\\.?(?:/|\\Z))[^/\x00-\x1f\x7f-\x9f\ud800-\uf8ff\ufff0-\uffff]+)+\\Z")


def valid_path(path: str) -> bool:
    """PathUtils.validatePath as a bool, with a regex fast path for the common case."""
    if _VALID_FAST.match(path) is not None:
        return True
    return validate_path(path) is None


class Applier:
    """Applies write Commands to the tree (no watches, no I/O)."""

    def __init__(self, config: StateConfig, tree: DataTree, acls: AclCache, policy: AclPolicy,
                 quota: QuotaTracker, sessions: SessionTracker) -> None:
        self.config = config
        self.tree = tree
        self.nodes = tree.nodes
        self.acls = acls
        self.policy = policy
        self.quota = quota
        self.sessions = sessions
        self.triggers: list[Trigger] = []
        # False while replaying the log: nobody waits for those replies, so their Stats
        # are not built (the state change is the same).
        self.replies = True
        # per-command context: StateMachine.apply sets it for each Command
        self.zxid = 0
        self.time = 0
        self.sid = 0
        self.ids: list[r.Id] = []
        self.handlers: dict[int, Callable[[int, Any], Record | WireRecord | None]] = {
            OpCode.CREATE: self.create,
            OpCode.CREATE2: self.create,
            OpCode.CREATE_CONTAINER: self.create,
            OpCode.CREATE_TTL: self.create,
            OpCode.DELETE: self.delete,
            OpCode.SET_DATA: self.set_data,
            OpCode.SET_ACL: self.set_acl,
            OpCode.CHECK: self.check,
            OpCode.DELETE_CONTAINER: self.delete_container,
            OpCode.RECONFIG: self.reconfig,
        }
        self.multi_ops = frozenset({OpCode.CREATE, OpCode.CREATE2, OpCode.CREATE_CONTAINER,
                                    OpCode.CREATE_TTL, OpCode.DELETE, OpCode.SET_DATA,
                                    OpCode.CHECK})

    # ---------------------------------------------------------------- helpers

    def _session(self) -> None:
        if self.sid not in self.sessions.sessions:
            raise Fail(Err.SESSIONEXPIRED)

    def _allowed(self, node: Node, perm: int) -> bool:
        acl = node.acl
        return bool(acl.world & perm) or self.policy.allowed(acl, perm, self.ids)

    def _node(self, path: str) -> Node:
        n = self.nodes.get(path)
        if n is None:
            raise Fail(Err.NONODE)
        return n

    def _valid_node(self, path: str) -> Node | None:
        """The node at a client-given ``path`` (None: none there); BADARGUMENTS for an
        invalid path. Only a missing node needs the check: every path in the tree was
        validated when it was created."""
        n = self.nodes.get(path)
        if n is None:
            self._valid(path)
        return n

    @staticmethod
    def _path(req: Any) -> str:
        path = req.path
        if path is None:
            raise Fail(MARSHALLINGERROR)
        return path

    @staticmethod
    def _valid(path: str) -> None:
        if not valid_path(path):
            raise Fail(BADARGUMENTS)

    # --------------------------------------------------------------- handlers

    def create(self, op: int, req: Any) -> Record | None:
        mode = _FLAGS.get(req.flags)
        if mode is None:
            raise Fail(BADARGUMENTS)
        ttl = req.ttl if op == OP_CREATE_TTL else -1
        if mode.is_ttl:
            if not self.config.extended_types_enabled:
                raise Fail(UNIMPLEMENTED)
            if ttl <= 0 or ttl > TTL_MAX_MS:
                raise Fail(BADARGUMENTS)
        elif op == OP_CREATE_TTL:
            # ZooKeeper rejects ttl >= 0 here and crashes on apply for ttl < 0.
            raise Fail(BADARGUMENTS)
        self._session()
        path = self._path(req)
        slash = path.rfind("/")
        if slash == -1 or "\0" in path:
            raise Fail(BADARGUMENTS)
        acl = self.policy.fixup(req.acl, self.ids)
        if acl is None:
            raise Fail(Err.INVALIDACL)
        parent_path = path[:slash]
        parent = self._node(parent_path)
        if not self._allowed(parent, CREATE):
            raise Fail(Err.NOAUTH)
        if mode.is_sequential:
            path = f"{path}{parent.cver:010d}"
        self._valid(path)
        if path in self.nodes:
            raise Fail(Err.NODEEXISTS)
        tree = self.tree
        if tree.is_normal_ephemeral(parent.owner):
            raise Fail(Err.NOCHILDRENFOREPHEMERALS)
        data = req.data
        if self.config.enforce_quota and self.quota.exceeds_hard(
                path, len(data) if data else 0, 1):
            raise Fail(Err.QUOTAEXCEEDED)
        if op == OP_CREATE_CONTAINER:
            owner = CONTAINER_EPHEMERAL_OWNER
        elif op == OP_CREATE_TTL:
            owner = ttl_owner(ttl)
        elif mode.is_ephemeral:
            owner = self.sid
        else:
            owner = 0
        node = tree.create(path, parent, data, self.acls.intern(acl), self.zxid, self.time, owner)
        self.triggers.append((T_CREATED, path, node.acl, parent_path or "/", parent.acl))
        if op == OP_CREATE:
            return r.CreateResponse(path)
        return r.Create2Response(path, tree.stat(node)) if self.replies else None

    def delete(self, op: int, req: Any) -> None:
        self._session()
        path = self._path(req)
        slash = path.rfind("/")
        if slash == -1 or "\0" in path or path in SPECIAL_PATHS:
            raise Fail(BADARGUMENTS)
        parent = self._node(path[:slash])
        if not self._allowed(parent, DELETE):
            raise Fail(Err.NOAUTH)
        node = self._node(path)
        if req.version != -1 and req.version != node.version:
            raise Fail(Err.BADVERSION)
        if node.children:
            raise Fail(Err.NOTEMPTY)
        self.remove_node(path, node, parent)
        return None

    def remove_node(self, path: str, node: Node, parent: Node) -> None:
        """Delete a checked node and queue its triggers (delete, reap, session close)."""
        self.tree.delete(path, self.zxid)
        self.triggers.append((T_DELETED, path, node.acl, parent_of(path), parent.acl))

    def delete_container(self, op: int, req: Any) -> None:
        raw = req.path
        if raw is None:
            raise Fail(MARSHALLINGERROR)
        path = bytes(raw).decode("utf-8", "replace")
        slash = path.rfind("/")
        if slash == -1 or "\0" in path or path in SPECIAL_PATHS:
            raise Fail(BADARGUMENTS)
        node = self._node(path)
        if node.children:
            raise Fail(Err.NOTEMPTY)
        if self.tree.is_normal_ephemeral(node.owner):
            raise Fail(Err.BADVERSION)
        parent = self._node(path[:slash])
        self.remove_node(path, node, parent)
        return None

    def set_data(self, op: int, req: Any) -> WireRecord | None:
        # The most frequent write: _session, _path, _valid_node and _allowed written out.
        if self.sid not in self.sessions.sessions:
            raise Fail(Err.SESSIONEXPIRED)
        path = req.path
        if path is None:
            raise Fail(MARSHALLINGERROR)
        node = self.nodes.get(path)
        if node is None:
            self._valid(path)
            raise Fail(Err.NONODE)
        acl = node.acl
        if not (acl.world & WRITE or self.policy.allowed(acl, WRITE, self.ids)):
            raise Fail(Err.NOAUTH)
        data = req.data
        if self.config.enforce_quota:
            old = node.data
            diff = (len(data) if data else 0) - (len(old) if old else 0)
            if self.quota.exceeds_hard(path, diff, 0):
                raise Fail(Err.QUOTAEXCEEDED)
        if req.version != -1 and req.version != node.version:
            raise Fail(Err.BADVERSION)
        version = node.version + 1
        if version > 0x7FFFFFFF:  # wraps as Java's int does (wrap32, without the call)
            version = -0x80000000
        tree = self.tree
        tree.set_data(node, path, data, version, self.zxid, self.time)
        self.triggers.append((T_DATA, path, node.acl))
        return as_wire(r.SetDataResponse, tree.stat_bytes(node)) if self.replies else None

    def set_acl(self, op: int, req: Any) -> WireRecord | None:
        self._session()
        path = self._path(req)
        node = self._valid_node(path)
        acl = self.policy.fixup(req.acl, self.ids)
        if acl is None:
            raise Fail(Err.INVALIDACL)
        if node is None:
            raise Fail(Err.NONODE)
        if not self._allowed(node, ADMIN):
            raise Fail(Err.NOAUTH)
        if req.version != -1 and req.version != node.aversion:
            raise Fail(Err.BADVERSION)
        self.tree.set_acl(node, self.acls.intern(acl), wrap32(node.aversion + 1))
        return as_wire(r.SetACLResponse, self.tree.stat_bytes(node)) if self.replies else None

    def check(self, op: int, req: Any) -> None:
        self._session()
        path = self._path(req)
        node = self._valid_node(path)
        if node is None:
            raise Fail(Err.NONODE)
        if not self._allowed(node, READ):
            raise Fail(Err.NOAUTH)
        if req.version != -1 and req.version != node.version:
            raise Fail(Err.BADVERSION)
        return None

    def reconfig(self, op: int, req: Any) -> None:
        raise Fail(Err.RECONFIGDISABLED)

    # ------------------------------------------------------------------ multi

    def multi(self, ops: list[tuple[int, Any]]) -> MultiResponse:
        """All-or-nothing; on failure: OK before, the code at, RUNTIMEINCONSISTENCY after."""
        tree = self.tree
        tree.begin()
        results: list[MultiResult] = []
        failed: int | None = None
        handlers = self.handlers
        for op, req in ops:
            if op not in self.multi_ops:
                failed = MARSHALLINGERROR
                break
            try:
                rec = handlers[op](op, req)
            except Fail as f:
                failed = f.code
                break
            except (AttributeError, TypeError, ValueError):
                failed = MARSHALLINGERROR  # a record of the wrong shape
                break
            if op == OpCode.CREATE:
                results.append((OpCode.CREATE, OK, rec))
            elif op in (OpCode.CREATE2, OpCode.CREATE_CONTAINER, OpCode.CREATE_TTL):
                results.append((OpCode.CREATE2, OK, rec))
            else:
                results.append((op, OK, rec))
        if failed is None:
            tree.commit()
            return MultiResponse(results)
        tree.rollback()
        self.triggers = []
        n_ok = len(results)
        out: list[MultiResult] = []
        for i in range(len(ops)):
            code = OK if i < n_ok else failed if i == n_ok else RUNTIMEINCONSISTENCY
            out.append((-1, code, r.ErrorResponse(code)))
        return MultiResponse(out)
