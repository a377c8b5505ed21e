"""Capture golden wire vectors from a live Apache ZooKeeper 3.8 with raw-socket probes.

    python tests/compat/capture_vectors.py                 # starts its own ZooKeeper 3.8
    python tests/compat/capture_vectors.py --server 127.0.0.1:2181   # an existing one

Each scenario below is a scripted conversation over one or more raw connections
(``tests/compat/rawzk.py``, built on zkpy.proto only). Every frame sent and received is
written, as hex of the frame payload (without the 4-byte length prefix), to
``tests/compat/vectors/<scenario>.json``, together with the masks explained in
``tests/compat/vectors/README.md`` (byte ranges holding absolute zxids, times, session
ids and passwords, which differ from run to run and server to server).

Scenarios use disjoint top-level paths (``/gv_<name>``) so they can be replayed in any
order against one server, and keep every returned vector (children, ephemerals) at
most one item long: ZooKeeper returns those in hash-set order, which is not part of
the protocol.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.compat.rawzk import (  # noqa: E402
    MULTI_OPS,
    OPEN_ACL,
    STAT_SIZE,
    RawConnection,
    decode_reply,
    encode_request,
)
from zkpy.proto import records as r  # noqa: E402
from zkpy.proto.jute import Record  # noqa: E402
from zkpy.proto.opcodes import XID_AUTH, XID_PING, XID_SET_WATCHES, OpCode  # noqa: E402

VECTORS_DIR = Path(__file__).resolve().parent / "vectors"
ZK_VERSION_NOTE = "Apache ZooKeeper 3.8.0 (Debian bookworm 3.8.0-11+deb12u2), standalone, tickTime=2000"

Body = Record | list[tuple[int, Record]] | None

# ------------------------------------------------------------------------ masks


def _stat_masks(off: int, stat: r.Stat) -> list[list[Any]]:
    """Mask the absolute fields of a Stat that starts at ``off``."""
    m: list[list[Any]] = []
    layout = (("czxid", 0, 8), ("mzxid", 8, 8), ("ctime", 16, 8), ("mtime", 24, 8),
              ("ephemeralOwner", 44, 8), ("pzxid", 60, 8))
    for name, rel, size in layout:
        if getattr(stat, name) != 0:
            m.append([off + rel, off + rel + size, f"stat.{name}"])
    return m


def _record_stat_masks(off: int, rec: Record | None) -> list[list[Any]]:
    """Masks for a response record encoded at ``off`` whose Stat (if any) is its last field."""
    if rec is None:
        return []
    stat = getattr(rec, "stat", None)
    if not isinstance(stat, r.Stat):
        return []
    end = off + len(rec.to_bytes())
    return _stat_masks(end - STAT_SIZE, stat)


def masks_for_reply(payload: bytes, op: int | None) -> list[list[Any]]:
    """Byte ranges [start, end, label] of ``payload`` that hold run-specific values."""
    rep = decode_reply(payload, op)
    masks: list[list[Any]] = []
    if rep.zxid > 0:
        masks.append([4, 12, "header.zxid"])
    if rep.is_event or rep.err != 0 or rep.body is None:
        return masks
    if op in MULTI_OPS:
        off = 16
        for typ, err, rec in rep.body:
            off += 9                                   # MultiHeader{type, done, err}
            masks += _record_stat_masks(off, rec)
            off += len(rec.to_bytes()) if rec is not None else 0
            del typ, err
        return masks
    masks += _record_stat_masks(16, rep.body)
    return masks


def masks_for_connect_response(payload: bytes) -> list[list[Any]]:
    resp, _ = r.decode_connect_response(payload)
    masks: list[list[Any]] = []
    if resp.sessionId != 0:
        masks.append([8, 16, "connect.sessionId"])
    if resp.passwd and any(resp.passwd):
        masks.append([20, 20 + len(resp.passwd), "connect.passwd"])
    return masks


def apply_masks(payload: bytes, masks: list[list[Any]]) -> bytes:
    b = bytearray(payload)
    for start, end, _label in masks:
        b[start:end] = b"\xee" * (end - start)
    return bytes(b)


# -------------------------------------------------------------------- recording


@dataclass
class Recorder:
    """Runs a scenario against a server and records every frame."""

    host: str
    port: int
    conns: dict[str, RawConnection] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
    pending: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # conn -> [(xid, op)]

    def open(self, name: str, read_only: bool | None = False, timeout_ms: int = 30000) -> None:
        c = RawConnection(self.host, self.port)
        self.conns[name] = c
        req = r.ConnectRequest(0, 0, timeout_ms, 0, b"\0" * 16)
        payload = r.encode_connect_request(req, read_only)
        c.send_frame(payload)
        self.steps.append({"conn": name, "dir": "send", "kind": "connect", "hex": payload.hex()})
        got = c.recv_frame()
        assert got is not None, "server closed the connection at connect"
        self.steps.append({"conn": name, "dir": "recv", "kind": "connect", "hex": got.hex(),
                           "masks": masks_for_connect_response(got)})

    def send(self, name: str, op: int, body: Body = None, xid: int | None = None) -> None:
        c = self.conns[name]
        if xid is None:
            xid = c.next_xid()
        payload = encode_request(xid, op, body)
        c.send_frame(payload)
        self.steps.append({"conn": name, "dir": "send", "kind": "request", "op": int(op),
                           "hex": payload.hex()})
        self.pending.setdefault(name, []).append((xid, int(op)))

    def send_raw(self, name: str, payload: bytes, op: int) -> None:
        """A hand-made request frame (``op`` says how to decode its reply)."""
        c = self.conns[name]
        c.send_frame(payload)
        self.steps.append({"conn": name, "dir": "send", "kind": "request", "op": int(op),
                           "hex": payload.hex()})
        xid = int.from_bytes(payload[:4], "big", signed=True)
        self.pending.setdefault(name, []).append((xid, int(op)))

    def recv(self, name: str) -> Any:
        """Read one frame: a notification, or the reply to the oldest pending request."""
        c = self.conns[name]
        got = c.recv_frame()
        assert got is not None, f"{name}: server closed the connection"
        xid = int.from_bytes(got[:4], "big", signed=True)
        if xid == -1:
            op = None
            kind = "event"
        else:
            pxid, op = self.pending[name].pop(0)
            assert pxid == xid, f"reply xid {xid}, expected {pxid}"
            kind = "reply"
        step = {"conn": name, "dir": "recv", "kind": kind, "hex": got.hex(),
                "masks": masks_for_reply(got, op)}
        if op is not None:
            step["op"] = op
        self.steps.append(step)
        return decode_reply(got, op)

    def call(self, name: str, op: int, body: Body = None, xid: int | None = None) -> Any:
        self.send(name, op, body, xid)
        return self.recv(name)

    def eof(self, name: str) -> None:
        assert self.conns[name].wait_eof(10.0), f"{name}: server did not close"
        self.steps.append({"conn": name, "dir": "eof"})

    def close_all(self) -> None:
        for c in self.conns.values():
            c.close()


# -------------------------------------------------------------------- scenarios


def _create(path: str, data: bytes | None = b"", flags: int = 0,
            acl: list[r.ACL] | None = None) -> r.CreateRequest:
    return r.CreateRequest(path, data, OPEN_ACL if acl is None else acl, flags)


def sc_connect_readonly_byte(t: Recorder) -> None:
    """ConnectRequest with the trailing readOnly byte -> 37-byte response; closeSession."""
    t.open("a", read_only=False)
    t.call("a", OpCode.CLOSE_SESSION)
    t.eof("a")


def sc_connect_no_readonly_byte(t: Recorder) -> None:
    """Old-style ConnectRequest without readOnly -> 36-byte response without it."""
    t.open("a", read_only=None)
    t.call("a", OpCode.PING, None, xid=XID_PING)
    t.call("a", OpCode.CLOSE_SESSION)
    t.eof("a")


def sc_connect_timeout_clamped(t: Recorder) -> None:
    """Requested session timeouts clamped to [2, 20] x tickTime (4000..40000 ms)."""
    t.open("lo", timeout_ms=1000)
    t.open("hi", timeout_ms=100000)
    t.call("lo", OpCode.CLOSE_SESSION)
    t.call("hi", OpCode.CLOSE_SESSION)


def sc_crud(t: Recorder) -> None:
    """create / create2 / getData / exists (missing) / setData / getChildren(2) / getACL /
    sync / delete, with their error replies."""
    t.open("a")
    t.call("a", OpCode.CREATE, _create("/gv_crud", b"hello"))
    t.call("a", OpCode.CREATE2, _create("/gv_crud/c", None))
    t.call("a", OpCode.GET_DATA, r.GetDataRequest("/gv_crud", False))
    t.call("a", OpCode.GET_DATA, r.GetDataRequest("/gv_crud/c", False))   # null data
    t.call("a", OpCode.EXISTS, r.ExistsRequest("/gv_crud", False))
    t.call("a", OpCode.EXISTS, r.ExistsRequest("/gv_crud/missing", False))
    t.call("a", OpCode.SET_DATA, r.SetDataRequest("/gv_crud", b"world", 0))
    t.call("a", OpCode.SET_DATA, r.SetDataRequest("/gv_crud", b"x", 7))    # BADVERSION
    t.call("a", OpCode.SET_DATA, r.SetDataRequest("/gv_crud", b"", -1))    # empty, any version
    t.call("a", OpCode.GET_CHILDREN2, r.GetChildren2Request("/gv_crud", False))
    t.call("a", OpCode.GET_CHILDREN, r.GetChildrenRequest("/gv_crud", False))
    t.call("a", OpCode.GET_ACL, r.GetACLRequest("/gv_crud"))
    t.call("a", OpCode.SYNC, r.SyncRequest("/gv_crud"))
    t.call("a", OpCode.CREATE, _create("/gv_crud"))                         # NODEEXISTS
    t.call("a", OpCode.DELETE, r.DeleteRequest("/gv_crud", -1))             # NOTEMPTY
    t.call("a", OpCode.DELETE, r.DeleteRequest("/gv_crud/c", 3))            # BADVERSION
    t.call("a", OpCode.DELETE, r.DeleteRequest("/gv_crud/c", 0))
    t.call("a", OpCode.CREATE, _create("/gv_crud/s-", b"q", flags=2))       # sequential
    t.call("a", OpCode.GET_CHILDREN2, r.GetChildren2Request("/gv_crud", False))
    t.call("a", OpCode.GET_ALL_CHILDREN_NUMBER, r.GetAllChildrenNumberRequest("/gv_crud"))
    t.call("a", OpCode.CLOSE_SESSION)
    t.eof("a")


def sc_errors(t: Recorder) -> None:
    """Error replies: NONODE, BADARGUMENTS (bad flags, bad path), INVALIDACL,
    NOCHILDRENFOREPHEMERALS; the header carries the current zxid and no body."""
    t.open("a")
    t.call("a", OpCode.GET_DATA, r.GetDataRequest("/gv_err_missing", False))
    t.call("a", OpCode.SET_DATA, r.SetDataRequest("/gv_err_missing", b"", -1))
    t.call("a", OpCode.DELETE, r.DeleteRequest("/gv_err_missing", -1))
    t.call("a", OpCode.CREATE, _create("/gv_err_missing/child"))             # NONODE parent
    t.call("a", OpCode.CREATE, _create("/gv_err", flags=9))                  # bad flags
    t.call("a", OpCode.CREATE, _create("gv_err_relative"))                   # bad path
    t.call("a", OpCode.CREATE, _create("/gv_err/"))                          # trailing slash
    t.call("a", OpCode.CREATE, _create("/gv_err", acl=[]))                   # INVALIDACL
    t.call("a", OpCode.CREATE, _create("/gv_err", flags=1))                  # ephemeral
    t.call("a", OpCode.CREATE, _create("/gv_err/kid"))                       # under ephemeral
    t.call("a", OpCode.GET_CHILDREN2, r.GetChildren2Request("/gv_err_missing", False))
    t.call("a", OpCode.CHECK_WATCHES, r.CheckWatchesRequest("/gv_err", 3))   # NOWATCHER
    t.call("a", OpCode.CLOSE_SESSION)
    t.eof("a")


def sc_multi_success(t: Recorder) -> None:
    """multi: create, setData, check, delete all succeed; multiRead getData."""
    t.open("a")
    t.call("a", OpCode.CREATE, _create("/gv_multi", b"m"))
    t.call("a", OpCode.MULTI, [
        (OpCode.CREATE, _create("/gv_multi/a", b"1")),
        (OpCode.SET_DATA, r.SetDataRequest("/gv_multi", b"m2", 0)),
        (OpCode.CHECK, r.CheckVersionRequest("/gv_multi", 1)),
        (OpCode.CREATE, _create("/gv_multi/b", b"2")),
        (OpCode.DELETE, r.DeleteRequest("/gv_multi/a", 0)),
    ])
    t.call("a", OpCode.MULTI, [])                                              # empty multi
    t.call("a", OpCode.MULTI_READ, [
        (OpCode.GET_DATA, r.GetDataRequest("/gv_multi", False)),
        (OpCode.GET_CHILDREN, r.GetChildrenRequest("/gv_multi", False)),
        (OpCode.GET_DATA, r.GetDataRequest("/gv_multi/missing", False)),
    ])
    t.call("a", OpCode.CLOSE_SESSION)
    t.eof("a")


def sc_multi_failure(t: Recorder) -> None:
    """A failing multi: results [0, 0, -103, -2, -2], nothing applied."""
    t.open("a")
    t.call("a", OpCode.CREATE, _create("/gv_mfail", b"m"))
    t.call("a", OpCode.MULTI, [
        (OpCode.CREATE, _create("/gv_mfail/a")),
        (OpCode.CREATE, _create("/gv_mfail/b")),
        (OpCode.SET_DATA, r.SetDataRequest("/gv_mfail", b"x", 5)),
        (OpCode.DELETE, r.DeleteRequest("/gv_mfail/a", -1)),
        (OpCode.CREATE, _create("/gv_mfail/c")),
    ])
    t.call("a", OpCode.MULTI, [
        (OpCode.CHECK, r.CheckVersionRequest("/gv_mfail_missing", 0)),
        (OpCode.CREATE, _create("/gv_mfail/d")),
    ])
    t.call("a", OpCode.GET_CHILDREN2, r.GetChildren2Request("/gv_mfail", False))
    t.call("a", OpCode.CLOSE_SESSION)
    t.eof("a")


def sc_watches(t: Recorder) -> None:
    """One-shot data/child/exist watches of one session fired by another's writes."""
    t.open("a")
    t.open("b")
    t.call("a", OpCode.CREATE, _create("/gv_watch", b"w"))
    t.call("b", OpCode.GET_DATA, r.GetDataRequest("/gv_watch", True))
    t.call("b", OpCode.GET_CHILDREN, r.GetChildrenRequest("/gv_watch", True))
    t.call("b", OpCode.EXISTS, r.ExistsRequest("/gv_watch/new", True))
    t.call("a", OpCode.SET_DATA, r.SetDataRequest("/gv_watch", b"w2", -1))
    t.recv("b")                                             # NodeDataChanged /gv_watch
    t.call("a", OpCode.CREATE, _create("/gv_watch/new"))
    t.recv("b")                                             # NodeCreated /gv_watch/new
    t.recv("b")                                             # NodeChildrenChanged /gv_watch
    t.call("b", OpCode.EXISTS, r.ExistsRequest("/gv_watch/new", True))
    t.call("a", OpCode.DELETE, r.DeleteRequest("/gv_watch/new", -1))
    t.recv("b")                                             # NodeDeleted /gv_watch/new
    # a session's own write: the event comes before the reply
    t.call("a", OpCode.GET_DATA, r.GetDataRequest("/gv_watch", True))
    t.send("a", OpCode.SET_DATA, r.SetDataRequest("/gv_watch", b"w3", -1))
    t.recv("a")                                             # event
    t.recv("a")                                             # reply
    t.call("a", OpCode.CLOSE_SESSION)
    t.eof("a")
    t.call("b", OpCode.CLOSE_SESSION)
    t.eof("b")


def sc_add_watch(t: Recorder) -> None:
    """addWatch (4-byte ErrorResponse body), persistent and recursive events, removeWatches."""
    t.open("a")
    t.call("a", OpCode.ADD_WATCH, r.AddWatchRequest("/gv_aw", 1))       # PERSISTENT_RECURSIVE
    t.send("a", OpCode.CREATE, _create("/gv_aw", b""))
    t.recv("a")                                                        # NodeCreated /gv_aw
    t.recv("a")
    t.send("a", OpCode.CREATE, _create("/gv_aw/x", b""))
    t.recv("a")                                                        # NodeCreated /gv_aw/x
    t.recv("a")
    t.send("a", OpCode.SET_DATA, r.SetDataRequest("/gv_aw/x", b"d", -1))
    t.recv("a")                                                        # NodeDataChanged
    t.recv("a")
    t.call("a", OpCode.ADD_WATCH, r.AddWatchRequest("/gv_aw/p", 0))     # PERSISTENT
    t.call("a", OpCode.CHECK_WATCHES, r.CheckWatchesRequest("/gv_aw/p", 3))
    t.call("a", OpCode.REMOVE_WATCHES, r.RemoveWatchesRequest("/gv_aw/p", 3))
    t.call("a", OpCode.REMOVE_WATCHES, r.RemoveWatchesRequest("/gv_aw/p", 3))   # NOWATCHER
    t.call("a", OpCode.CLOSE_SESSION)
    t.eof("a")


def sc_whoami_auth(t: Recorder) -> None:
    """whoAmI before and after addauth digest (auth reply: xid -4, zxid 0)."""
    t.open("a")
    t.call("a", OpCode.WHO_AM_I)
    t.call("a", OpCode.AUTH, r.AuthPacket(0, "digest", b"alice:secret"), xid=XID_AUTH)
    t.call("a", OpCode.WHO_AM_I)
    t.call("a", OpCode.CLOSE_SESSION)
    t.eof("a")


def sc_ephemerals(t: Recorder) -> None:
    """getEphemerals (prefix match) and getAllChildrenNumber; ephemeralOwner masked."""
    t.open("a")
    t.call("a", OpCode.CREATE, _create("/gv_eph"))
    t.call("a", OpCode.CREATE2, _create("/gv_eph/e", b"e", flags=1))
    t.call("a", OpCode.CREATE2, _create("/gv_eph/x-", b"e", flags=3))
    t.call("a", OpCode.GET_EPHEMERALS, r.GetEphemeralsRequest("/gv_eph/e"))
    t.call("a", OpCode.GET_EPHEMERALS, r.GetEphemeralsRequest("/gv_eph_none"))
    t.call("a", OpCode.GET_ALL_CHILDREN_NUMBER, r.GetAllChildrenNumberRequest("/gv_eph"))
    t.call("a", OpCode.EXISTS, r.ExistsRequest("/gv_eph/e", False))
    t.call("a", OpCode.CLOSE_SESSION)
    t.eof("a")
    t.open("b")
    t.call("b", OpCode.GET_ALL_CHILDREN_NUMBER, r.GetAllChildrenNumberRequest("/gv_eph"))
    t.call("b", OpCode.GET_CHILDREN2, r.GetChildren2Request("/gv_eph", False))
    t.call("b", OpCode.CLOSE_SESSION)
    t.eof("b")


def sc_unknown_opcode(t: Recorder) -> None:
    """Unknown opcode: {xid, zxid -1, UNIMPLEMENTED} and the connection is closed."""
    t.open("a")
    t.send_raw("a", r.RequestHeader(1, 999).to_bytes() + b"\x00\x00\x00\x00", op=999)
    t.recv("a")
    t.eof("a")


def sc_ping(t: Recorder) -> None:
    """Ping (xid -2) answered with xid -2 and the last zxid."""
    t.open("a")
    t.call("a", OpCode.PING, None, xid=XID_PING)
    t.call("a", OpCode.EXISTS, r.ExistsRequest("/zookeeper", False))     # all-zero stat
    t.call("a", OpCode.PING, None, xid=XID_PING)
    t.call("a", OpCode.CLOSE_SESSION)
    t.eof("a")


def sc_set_watches(t: Recorder) -> None:
    """SetWatches (xid -8): catch-up events for changes after relativeZxid (0 here),
    plain registration when nothing changed (relativeZxid = Long.MAX), then firing."""
    t.open("a")
    t.call("a", OpCode.CREATE, _create("/gv_sw", b"d"))
    t.call("a", OpCode.CREATE, _create("/gv_sw/c", b"d"))
    t.send("a", OpCode.SET_WATCHES, r.SetWatches(
        0, ["/gv_sw", "/gv_sw/gone"], ["/gv_sw/c", "/gv_sw/later"], ["/gv_sw"]),
        xid=XID_SET_WATCHES)
    t.recv("a")                        # NodeDataChanged /gv_sw
    t.recv("a")                        # NodeDeleted /gv_sw/gone
    t.recv("a")                        # NodeCreated /gv_sw/c
    t.recv("a")                        # NodeChildrenChanged /gv_sw
    t.recv("a")                        # reply
    t.send("a", OpCode.CREATE, _create("/gv_sw/later"))
    t.recv("a")                        # NodeCreated /gv_sw/later (registered exist watch)
    t.recv("a")
    t.call("a", OpCode.SET_WATCHES, r.SetWatches(
        0x7FFFFFFFFFFFFFFF, ["/gv_sw/c"], [], []), xid=XID_SET_WATCHES)
    t.send("a", OpCode.SET_DATA, r.SetDataRequest("/gv_sw/c", b"e", -1))
    t.recv("a")                        # NodeDataChanged /gv_sw/c
    t.recv("a")
    t.call("a", OpCode.CLOSE_SESSION)
    t.eof("a")


def sc_notification_on_close(t: Recorder) -> None:
    """Ephemeral removed at closeSession fires the other session's watches."""
    t.open("a")
    t.open("b")
    t.call("a", OpCode.CREATE, _create("/gv_close"))
    t.call("a", OpCode.CREATE, _create("/gv_close/e", b"", flags=1))
    t.call("b", OpCode.EXISTS, r.ExistsRequest("/gv_close/e", True))
    t.call("b", OpCode.GET_CHILDREN, r.GetChildrenRequest("/gv_close", True))
    t.call("a", OpCode.CLOSE_SESSION)
    t.eof("a")
    t.recv("b")                        # NodeDeleted /gv_close/e
    t.recv("b")                        # NodeChildrenChanged /gv_close
    t.call("b", OpCode.CLOSE_SESSION)
    t.eof("b")


SCENARIOS: dict[str, Callable[[Recorder], None]] = {
    name[3:]: fn for name, fn in globals().items() if name.startswith("sc_") and callable(fn)
}


def capture(host: str, port: int, names: list[str] | None = None) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, fn in SCENARIOS.items():
        if names and name not in names:
            continue
        t = Recorder(host, port)
        try:
            fn(t)
        finally:
            t.close_all()
        out[name] = {
            "scenario": name,
            "description": " ".join((fn.__doc__ or "").split()),
            "captured_from": ZK_VERSION_NOTE,
            "steps": t.steps,
        }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", help="host:port of a running Apache ZooKeeper 3.8 "
                    "(default: start one on a free 127.0.0.1 port)")
    ap.add_argument("--out", type=Path, default=VECTORS_DIR)
    ap.add_argument("scenarios", nargs="*")
    a = ap.parse_args(argv)
    handle = None
    if a.server:
        host, _, port = a.server.rpartition(":")
    else:
        from tests.support.servers import start_apache_zk
        handle = start_apache_zk(Path(tempfile.mkdtemp(prefix="zkpy-capture-")))
        host, port = handle.host, str(handle.port)
    try:
        vectors = capture(host, int(port), a.scenarios)
    finally:
        if handle is not None:
            handle.stop()
    a.out.mkdir(parents=True, exist_ok=True)
    for name, v in vectors.items():
        (a.out / f"{name}.json").write_text(json.dumps(v, indent=1) + "\n")
        print(f"{name}: {len(v['steps'])} steps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
