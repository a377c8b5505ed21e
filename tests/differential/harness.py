"""Differential harness: run one generated program of ZooKeeper operations against a
server over the raw protocol (tests/compat/rawzk.py, zkpy.proto only) and produce a
normalised trace; two servers agree when their traces are equal.

A program works under a fresh root path with a few sessions ("slots"). After every
step each live session does a ping round trip, so every watch event that step fired
has arrived; events are recorded per session, in order, with the step that fired them
(and, for the acting session, whether they came before its reply).

Normalisation (only what may legitimately differ between servers):
- zxids become deltas from the zxid of the root's create (both servers consume one
  zxid per write, failed writes, createSession and closeSession included, so the
  deltas must agree); 0 and -1 stay as they are; older zxids become "old";
- ctime/mtime are dropped;
- session ids (ephemeralOwner) become the slot and generation that owns them;
- the root path prefix is removed; children lists are sorted (ZooKeeper returns
  them in hash order, which is not part of the protocol).

One answer is translated, not normalised: exists on a node the session may not READ.
Apache ZooKeeper 3.8.0 (the oracle) answers it; 3.8.4 and later, and zkpy, answer
NOAUTH (see Run._exists).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.compat.rawzk import RawConnection, Reply, open_session
from zkpy.proto import records as r
from zkpy.proto.jute import Record, WireRecord
from zkpy.proto.opcodes import Err, OpCode, WatcherType

N_SLOTS = 3
USERS = ("alice", "bob")


def digest_id(user: str, password: str) -> str:
    h = base64.b64encode(hashlib.sha1(f"{user}:{password}".encode()).digest()).decode()
    return f"{user}:{h}"


ACLS: dict[str, list[r.ACL]] = {
    "open": [r.ACL(31, r.Id("world", "anyone"))],
    "read_only": [r.ACL(1, r.Id("world", "anyone"))],
    "alice_all": [r.ACL(31, r.Id("digest", digest_id("alice", "pw-alice")))],
    "alice_rw_world_r": [r.ACL(3 | 4 | 8, r.Id("digest", digest_id("alice", "pw-alice"))),
                         r.ACL(1, r.Id("world", "anyone"))],
    "creator": [r.ACL(31, r.Id("auth", ""))],
    "bad_scheme": [r.ACL(31, r.Id("nosuchscheme", "x"))],
    "empty": [],
}

# ----------------------------------------------------------------- program model
# An op is a plain tuple so hypothesis can shrink it:
#   ("create", slot, rel, data, mode, acl, opcode)     mode 0..4 (4 = container, opcode 19)
#   ("delete", slot, rel, version)
#   ("set", slot, rel, data, version)
#   ("get", slot, rel, watch)
#   ("exists", slot, rel, watch)
#   ("children", slot, rel, watch)
#   ("get_acl", slot, rel)
#   ("set_acl", slot, rel, acl, version)
#   ("auth", slot, user)
#   ("add_watch", slot, rel, mode)                      0 persistent, 1 recursive
#   ("multi", slot, [subop, ...])                       subops: create/delete/set/check
#   ("close", slot)                                     closeSession, then a new session
Op = tuple[Any, ...]


def _path(root: str, rel: str) -> str:
    return root if rel == "" else f"{root}/{rel}"


def _create_record(root: str, op: Op) -> tuple[int, Record]:
    _, _slot, rel, data, mode, acl, opcode = op
    if mode == 4:
        opcode = OpCode.CREATE_CONTAINER
    return opcode, r.CreateRequest(_path(root, rel), data, ACLS[acl], mode)


def _sub_request(root: str, sub: Op) -> tuple[int, Record]:
    kind = sub[0]
    if kind == "create":
        return _create_record(root, sub)       # containers as createContainer, as Java does
    if kind == "delete":
        return OpCode.DELETE, r.DeleteRequest(_path(root, sub[2]), sub[3])
    if kind == "set":
        return OpCode.SET_DATA, r.SetDataRequest(_path(root, sub[2]), sub[3], sub[4])
    if kind == "check":
        return OpCode.CHECK, r.CheckVersionRequest(_path(root, sub[2]), sub[3])
    raise ValueError(sub)


def request_for(root: str, op: Op) -> tuple[int, Any]:
    kind = op[0]
    if kind == "create":
        return _create_record(root, op)
    if kind == "delete":
        return OpCode.DELETE, r.DeleteRequest(_path(root, op[2]), op[3])
    if kind == "set":
        return OpCode.SET_DATA, r.SetDataRequest(_path(root, op[2]), op[3], op[4])
    if kind == "get":
        return OpCode.GET_DATA, r.GetDataRequest(_path(root, op[2]), op[3])
    if kind == "exists":
        return OpCode.EXISTS, r.ExistsRequest(_path(root, op[2]), op[3])
    if kind == "children":
        return OpCode.GET_CHILDREN2, r.GetChildren2Request(_path(root, op[2]), op[3])
    if kind == "get_acl":
        return OpCode.GET_ACL, r.GetACLRequest(_path(root, op[2]))
    if kind == "set_acl":
        return OpCode.SET_ACL, r.SetACLRequest(_path(root, op[2]), ACLS[op[3]], op[4])
    if kind == "add_watch":
        return OpCode.ADD_WATCH, r.AddWatchRequest(_path(root, op[2]), op[3])
    if kind == "multi":
        return OpCode.MULTI, [_sub_request(root, s) for s in op[2]]
    raise ValueError(op)


# ------------------------------------------------------------------ normalisation


@dataclass
class Normaliser:
    root: str
    base_zxid: int = 0
    owners: dict[int, str] = field(default_factory=dict)     # session id -> "s<slot>g<gen>"

    def zxid(self, z: int) -> Any:
        if z in (0, -1):
            return z
        if z < self.base_zxid:
            return "old"
        return z - self.base_zxid

    def path(self, p: str | None) -> str | None:
        if p is None:
            return None
        if p == self.root:
            return "<root>"
        if p.startswith(self.root + "/"):
            return p[len(self.root) + 1:]
        return p

    def stat(self, s: r.Stat) -> dict[str, Any]:
        return {
            "czxid": self.zxid(s.czxid), "mzxid": self.zxid(s.mzxid),
            "pzxid": self.zxid(s.pzxid), "version": s.version, "cversion": s.cversion,
            "aversion": s.aversion, "dataLength": s.dataLength,
            "numChildren": s.numChildren,
            "ephemeralOwner": (0 if s.ephemeralOwner == 0
                               else self.owners.get(s.ephemeralOwner, "unknown-session")),
        }

    def record(self, rec: Any) -> Any:
        if rec is None:
            return None
        if isinstance(rec, WireRecord):
            rec = rec.record()
        if isinstance(rec, r.Stat):
            return self.stat(rec)
        if isinstance(rec, r.Create2Response | r.CreateResponse):
            out: dict[str, Any] = {"path": self.path(rec.path)}
            if isinstance(rec, r.Create2Response):
                out["stat"] = self.stat(rec.stat)
            return out
        if isinstance(rec, r.GetChildren2Response | r.GetChildrenResponse):
            out = {"children": sorted(rec.children or [])}
            if isinstance(rec, r.GetChildren2Response):
                out["stat"] = self.stat(rec.stat)
            return out
        if isinstance(rec, r.GetACLResponse):
            return {"acl": [(a.perms, a.id.scheme, a.id.id) for a in rec.acl or []],
                    "stat": self.stat(rec.stat)}
        if isinstance(rec, Record):
            return {name: self.record(getattr(rec, name)) for name, _t in rec.FIELDS}
        if isinstance(rec, list):
            return [self.record(x) for x in rec]
        if isinstance(rec, tuple):
            return tuple(self.record(x) for x in rec)
        return rec

    def reply(self, rep: Reply | None) -> Any:
        if rep is None:
            return "connection closed"
        return {"err": rep.err, "zxid": self.zxid(rep.zxid), "body": self.record(rep.body)}

    def event(self, ev: Reply) -> tuple[int, int, str | None, Any]:
        e = ev.body
        return (e.type, e.state, self.path(e.path), self.zxid(ev.zxid))


# ------------------------------------------------------------------------ runner


@dataclass
class Run:
    host: str
    port: int
    root: str = field(default_factory=lambda: f"/diff-{uuid.uuid4().hex[:12]}")
    slots: list[RawConnection] = field(default_factory=list)
    gens: list[int] = field(default_factory=list)
    trace: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.norm = Normaliser(self.root)

    def _open(self, slot: int) -> RawConnection:
        c = open_session(self.host, self.port)
        self.norm.owners[c.session_id] = f"s{slot}g{self.gens[slot]}"
        return c

    def start(self) -> None:
        for i in range(N_SLOTS):
            self.gens.append(0)
            self.slots.append(self._open(i))
        rep = self.slots[0].call(OpCode.CREATE, r.CreateRequest(self.root, b"", ACLS["open"], 0))
        assert rep is not None and rep.err == 0, f"cannot create root {self.root}: {rep}"
        self.norm.base_zxid = rep.zxid
        self.trace.append(("root", self.norm.reply(rep)))

    def step(self, i: int, op: Op) -> None:
        slot = op[1]
        c = self.slots[slot]
        if op[0] == "close":
            rep = c.close_session()
            entry: Any = ("close", slot, self.norm.reply(rep))
            self.gens[slot] += 1
            self.slots[slot] = self._open(slot)
        elif op[0] == "auth":
            user = op[2]
            rep = c.auth("digest", f"{user}:pw-{user}".encode())
            entry = ("auth", slot, user, self.norm.reply(rep))
        else:
            if op[0] == "exists":
                rep = self._exists(c, op)
            else:
                opcode, body = request_for(self.root, op)
                rep = c.call(opcode, body)
            before = [self.norm.event(e) for e in c.events]
            c.events.clear()
            entry = (op[0], slot, self.norm.reply(rep), before)
        # every watch this step fired has reached its session after a ping round trip
        fired = {}
        for s, conn in enumerate(self.slots):
            evs = conn.drain_events()
            if evs:
                fired[s] = [self.norm.event(e) for e in evs]
        self.trace.append((i, entry, fired))

    def _exists(self, c: RawConnection, op: Op) -> Reply | None:
        """exists as ZooKeeper 3.8.4+ (and zkpy) answer it: NOAUTH, and no watch set, when
        the node exists and the session may not READ it. The oracle, 3.8.0, checks no ACL
        on exists: a getData probe (no watch) tells whether READ is denied, and an answer
        given anyway becomes NOAUTH, with the watch it set removed again unless the
        session held that watch already. Both servers get the same probes."""
        path = _path(self.root, op[2])
        watch = bool(op[3])
        probe = c.call(OpCode.GET_DATA, r.GetDataRequest(path, False))
        denied = probe is not None and probe.err == Err.NOAUTH
        held = False
        if denied and watch:
            check = c.call(OpCode.CHECK_WATCHES, r.CheckWatchesRequest(path, WatcherType.DATA))
            held = check is not None and check.err == 0
        rep = c.call(OpCode.EXISTS, r.ExistsRequest(path, watch))
        if not (denied and rep is not None and rep.err == 0):
            return rep
        if watch and not held:
            c.call(OpCode.REMOVE_WATCHES, r.RemoveWatchesRequest(path, WatcherType.DATA))
        return Reply(rep.raw, r.ReplyHeader(rep.xid, rep.zxid, Err.NOAUTH), rep.op)

    def finish(self) -> None:
        for c in self.slots:
            if not c.closed:
                c.close_session()

    def abort(self) -> None:
        for c in self.slots:
            c.close()


def run_program(host: str, port: int, program: list[Op]) -> list[Any]:
    run = Run(host, port)
    run.start()
    try:
        for i, op in enumerate(program):
            run.step(i, op)
        run.finish()
    except BaseException:
        run.abort()
        raise
    return run.trace


def first_difference(a: list[Any], b: list[Any]) -> str | None:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"entry {i}:\n  left : {x!r}\n  right: {y!r}"
    if len(a) != len(b):
        return f"trace lengths differ: {len(a)} vs {len(b)}"
    return None
