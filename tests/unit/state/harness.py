"""Test harness: a StateMachine plus helpers to run writes and reads like the runtime."""

from __future__ import annotations

from typing import Any

from zkpy.proto import records as r
from zkpy.proto.opcodes import OpCode
from zkpy.state import Applied, Conn, StateConfig, StateMachine

OPEN = [r.ACL(31, r.Id("world", "anyone"))]
READ_ONLY = [r.ACL(1, r.Id("world", "anyone"))]
CREATOR_ALL = [r.ACL(31, r.Id("auth", ""))]
T0 = 1_700_000_000_000


class Z:
    """One machine, a clock, and connections with sessions."""

    def __init__(self, config: StateConfig | None = None, **kw: Any) -> None:
        self.sm = StateMachine(config or StateConfig(**kw))
        self.now = T0
        self.applied: list[Applied] = []
        self.commands: list[Any] = []

    def connect(self, ip: str = "127.0.0.1", timeout: int = 10000) -> Conn:
        conn = Conn(ip)
        a = self.run(self.sm.create_session_command(timeout, self.now))
        assert a.new_session is not None
        conn.session_id = a.new_session[0]
        return conn

    def run(self, cmd: Any) -> Applied:
        self.commands.append(cmd)
        a = self.sm.apply(cmd)
        self.applied.append(a)
        return a

    def w(self, conn: Conn, op: int, req: Any, cxid: int = 1) -> Applied:
        return self.run(self.sm.command(conn, op, req, cxid, self.now))

    def create(self, conn: Conn, path: str, data: bytes | None = b"", acl: Any = OPEN,
               flags: int = 0, op: int = OpCode.CREATE) -> Applied:
        return self.w(conn, op, r.CreateRequest(path, data, acl, flags))

    def create_ttl(self, conn: Conn, path: str, ttl: int, flags: int = 5,
                   data: bytes = b"") -> Applied:
        return self.w(conn, OpCode.CREATE_TTL, r.CreateTTLRequest(path, data, OPEN, flags, ttl))

    def delete(self, conn: Conn, path: str, version: int = -1) -> Applied:
        return self.w(conn, OpCode.DELETE, r.DeleteRequest(path, version))

    def set(self, conn: Conn, path: str, data: bytes | None, version: int = -1) -> Applied:
        return self.w(conn, OpCode.SET_DATA, r.SetDataRequest(path, data, version))

    def set_acl(self, conn: Conn, path: str, acl: Any, version: int = -1) -> Applied:
        return self.w(conn, OpCode.SET_ACL, r.SetACLRequest(path, acl, version))

    def multi(self, conn: Conn, ops: list[tuple[int, Any]]) -> Applied:
        return self.w(conn, OpCode.MULTI, ops)

    def close(self, conn: Conn) -> Applied:
        return self.run(self.sm.close_session_command(conn.session_id, self.now))

    # reads
    def get(self, conn: Conn, path: str, watch: bool = False) -> tuple[int, Any]:
        return self.sm.read(conn, OpCode.GET_DATA, r.GetDataRequest(path, watch))

    def exists(self, conn: Conn, path: str, watch: bool = False) -> tuple[int, Any]:
        return self.sm.read(conn, OpCode.EXISTS, r.ExistsRequest(path, watch))

    def stat(self, path: str) -> r.Stat:
        conn = Conn("127.0.0.1", auth_ids=[r.Id("super", "")])
        n = self.sm.tree.get(path)
        assert n is not None, path
        del conn
        return self.sm.tree.stat(n)

    def children(self, conn: Conn, path: str, watch: bool = False) -> tuple[int, Any]:
        return self.sm.read(conn, OpCode.GET_CHILDREN, r.GetChildrenRequest(path, watch))

    def children2(self, conn: Conn, path: str, watch: bool = False) -> tuple[int, Any]:
        return self.sm.read(conn, OpCode.GET_CHILDREN2, r.GetChildren2Request(path, watch))

    def get_acl(self, conn: Conn, path: str) -> tuple[int, Any]:
        return self.sm.read(conn, OpCode.GET_ACL, r.GetACLRequest(path))

    def add_watch(self, conn: Conn, path: str, mode: int) -> tuple[int, Any]:
        return self.sm.read(conn, OpCode.ADD_WATCH, r.AddWatchRequest(path, mode))


def events_of(a: Applied, conn: Conn | None = None) -> list[tuple[int, str]]:
    return [(e.type, e.path) for w, e in a.events if conn is None or w is conn.watcher]


def digest_user(user: str, pw: str) -> r.Id:
    from zkpy.state.acl import generate_digest
    return r.Id("digest", generate_digest(f"{user}:{pw}"))
