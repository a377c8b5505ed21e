"""multi (atomic, one zxid, error results) and multiRead (independent)."""

from __future__ import annotations

from zkpy.proto import records as r
from zkpy.proto.opcodes import Err, OpCode
from zkpy.proto.ops import decode_multi_results
from zkpy.state import MultiResponse

from .harness import OPEN, Z


def cr(path: str, flags: int = 0, data: bytes = b"") -> r.CreateRequest:
    return r.CreateRequest(path, data, OPEN, flags)


def test_multi_success_one_zxid_and_result_types() -> None:
    z = Z()
    c = z.connect()
    a = z.multi(c, [
        (OpCode.CREATE, cr("/a")),
        (OpCode.CREATE2, cr("/a/b")),
        (OpCode.SET_DATA, r.SetDataRequest("/a", b"x", 0)),
        (OpCode.CHECK, r.CheckVersionRequest("/a", 1)),
        (OpCode.CREATE_CONTAINER, cr("/a/c", 4)),
        (OpCode.DELETE, r.DeleteRequest("/a/b", 0)),
    ])
    assert a.err == 0
    res = a.response.results
    assert [t for t, _, _ in res] == [1, 15, 5, 13, 15, 2]
    assert all(e == 0 for _, e, _ in res)
    assert res[0][2] == r.CreateResponse("/a")
    assert res[1][2].path == "/a/b" and res[1][2].stat.czxid == a.zxid
    assert res[2][2].stat.version == 1
    assert res[3][2] is None and res[5][2] is None
    st = z.stat("/a")
    assert st.czxid == st.mzxid == st.pzxid == a.zxid
    assert st.numChildren == 1 and st.cversion == 3  # C=2 creates, 1 child left
    # encoding round trip through the wire decoder
    buf = a.response.to_bytes()
    dec, off = decode_multi_results(buf, 0)
    assert off == len(buf) and [(t, e) for t, e, _ in dec] == [(t, e) for t, e, _ in res]


def test_multi_failure_results_and_rollback() -> None:
    z = Z()
    c = z.connect()
    z.create(c, "/a", b"v")
    z.create(c, "/s")
    before = z.sm.digest()
    size_before = z.sm.approximate_data_size()
    w = z.connect()
    z.get(w, "/a", watch=True)
    z.children(w, "/s", watch=True)
    a = z.multi(c, [
        (OpCode.CREATE, cr("/s/q-", 2)),
        (OpCode.SET_DATA, r.SetDataRequest("/a", b"new", -1)),
        (OpCode.CHECK, r.CheckVersionRequest("/a", 0)),  # version is now 1 in the multi
        (OpCode.CREATE, cr("/b")),
        (OpCode.DELETE, r.DeleteRequest("/a", -1)),
    ])
    assert a.err == 0
    assert a.response.errors() == [0, 0, -103, -2, -2]
    assert all(t == -1 for t, _, _ in a.response.results)
    assert a.response.results[2][2] == r.ErrorResponse(-103)
    assert a.events == []
    assert z.sm.digest() == before
    assert z.sm.approximate_data_size() == size_before
    assert z.sm.last_zxid == a.zxid  # consumed
    assert z.get(c, "/a")[1].data == b"v"
    # the sequence counter was rolled back
    assert z.create(c, "/s/q-", flags=2).response.path == "/s/q-0000000000"
    # the watches were not consumed by the failed multi
    ev = z.set(c, "/a", b"z").events
    assert [(e.type, e.path) for _, e in ev] == [(3, "/a")]


def test_multi_failure_encoding_bytes() -> None:
    resp = MultiResponse([(-1, 0, r.ErrorResponse(0)), (-1, -101, r.ErrorResponse(-101))])
    want = (r.MultiHeader(-1, False, 0).to_bytes() + r.ErrorResponse(0).to_bytes()
            + r.MultiHeader(-1, False, -101).to_bytes() + r.ErrorResponse(-101).to_bytes()
            + r.MultiHeader(-1, True, -1).to_bytes())
    assert resp.to_bytes() == want


def test_multi_sub_ops_see_earlier_ones() -> None:
    z = Z()
    c = z.connect()
    a = z.multi(c, [
        (OpCode.CREATE, cr("/x")),
        (OpCode.CREATE, cr("/x/y")),
        (OpCode.DELETE, r.DeleteRequest("/x/y", -1)),
        (OpCode.CREATE, cr("/x/y", data=b"2")),
        (OpCode.CREATE, cr("/x/s-", 2)),
        (OpCode.CREATE, cr("/x/s-", 2)),
    ])
    assert a.response.errors() == [0] * 6
    assert a.response.results[4][2].path == "/x/s-0000000002"
    assert a.response.results[5][2].path == "/x/s-0000000003"
    assert z.get(c, "/x/y")[1].data == b"2"


def test_multi_rollback_delete_restores_node_and_ephemerals() -> None:
    z = Z()
    c = z.connect()
    z.create(c, "/p")
    z.create(c, "/p/e", b"data", flags=1)
    before = z.sm.digest()
    a = z.multi(c, [(OpCode.DELETE, r.DeleteRequest("/p/e", -1)),
                    (OpCode.DELETE, r.DeleteRequest("/p", 5))])
    assert a.response.errors() == [0, -103]
    assert z.sm.digest() == before
    assert z.sm.ephemerals_by_session()[c.session_id] == ["/p/e"]
    assert z.get(c, "/p/e")[1].data == b"data"


def test_multi_events_on_success() -> None:
    z = Z()
    c = z.connect()
    w = z.connect()
    z.create(c, "/a")
    z.exists(w, "/a/b", watch=True)
    z.children(w, "/a", watch=True)
    a = z.multi(c, [(OpCode.CREATE, cr("/a/b")), (OpCode.CREATE, cr("/a/c"))])
    got = [(e.type, e.path) for _, e in a.events]
    assert got == [(1, "/a/b"), (4, "/a")]  # child watch is one-shot


def test_empty_multi_consumes_zxid() -> None:
    z = Z()
    c = z.connect()
    zx = z.sm.last_zxid
    a = z.multi(c, [])
    assert a.err == 0 and a.response.results == [] and a.zxid == zx + 1
    assert a.response.to_bytes() == r.MultiHeader(-1, True, -1).to_bytes()


def test_multi_on_expired_session() -> None:
    z = Z()
    c = z.connect()
    z.close(c)
    a = z.multi(c, [(OpCode.CREATE, cr("/a")), (OpCode.CREATE, cr("/b"))])
    assert a.response.errors() == [Err.SESSIONEXPIRED, -2]


def test_multi_bad_sub_op_is_marshalling_error() -> None:
    z = Z()
    c = z.connect()
    a = z.multi(c, [(OpCode.SET_ACL, r.SetACLRequest("/", OPEN, -1))])
    assert a.response.errors() == [Err.MARSHALLINGERROR]


def test_multi_read_independent() -> None:
    z = Z()
    c = z.connect()
    z.create(c, "/a", b"1")
    z.create(c, "/a/k")
    err, rsp = z.sm.read(c, OpCode.MULTI_READ, [
        (OpCode.GET_DATA, r.GetDataRequest("/a", False)),
        (OpCode.GET_CHILDREN, r.GetChildrenRequest("/missing", False)),
        (OpCode.GET_CHILDREN, r.GetChildrenRequest("/a", False)),
    ])
    assert err == 0
    assert rsp.results[0] == (4, 0, r.GetDataResponse(b"1", z.stat("/a")))
    assert rsp.results[1] == (-1, -101, r.ErrorResponse(-101))
    assert rsp.results[2] == (8, 0, r.GetChildrenResponse(["k"]))
    zx = z.sm.last_zxid
    assert z.sm.last_zxid == zx
    err, _ = z.sm.read(c, OpCode.MULTI_READ, [(OpCode.EXISTS, r.ExistsRequest("/a", False))])
    assert err == Err.MARSHALLINGERROR


def test_wrong_record_shapes_are_marshalling_errors() -> None:
    z = Z()
    c = z.connect()
    before = z.sm.digest()
    a = z.w(c, OpCode.CREATE_TTL, r.CreateRequest("/x", b"", OPEN, 5))  # no ttl field
    assert a.err == Err.MARSHALLINGERROR
    a = z.multi(c, [(OpCode.CREATE, cr("/ok")), (OpCode.SET_DATA, r.DeleteRequest("/ok", -1))])
    assert a.response.errors() == [0, Err.MARSHALLINGERROR]
    assert z.sm.digest() == before
