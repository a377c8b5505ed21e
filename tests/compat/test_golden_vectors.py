"""Golden wire vectors captured from Apache ZooKeeper 3.8 (tests/compat/vectors/).

(a) every captured frame decodes with zkpy.proto and re-encodes to the same bytes;
(b) every scenario replayed against a live server (Apache ZooKeeper, and zkpy once
    it serves) gets the same reply bytes, modulo the documented masks
    (tests/compat/vectors/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.compat.capture_vectors import SCENARIOS, apply_masks
from tests.compat.rawzk import (
    RawConnection,
    decode_reply,
    decode_request,
    reencode_reply,
    reencode_request,
)
from tests.support.servers import ServerHandle
from zkpy.proto import records as r
from zkpy.proto.opcodes import Err, OpCode

VECTORS = Path(__file__).resolve().parent / "vectors"
FILES = sorted(VECTORS.glob("*.json"))
NONZERO_LABELS = ("header.zxid", "stat.czxid", "stat.mzxid", "stat.pzxid",
                  "stat.ephemeralOwner", "connect.sessionId")


def _load(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / f"{name}.json").read_text())


def test_every_scenario_has_a_vector() -> None:
    assert sorted(p.stem for p in FILES) == sorted(SCENARIOS)


# ----------------------------------------------------------------- (a) round trip


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_decode_reencode_identical(path: Path) -> None:
    vec = json.loads(path.read_text())
    for i, step in enumerate(vec["steps"]):
        if step["dir"] == "eof":
            continue
        raw = bytes.fromhex(step["hex"])
        where = f"{path.stem} step {i}"
        if step["kind"] == "connect" and step["dir"] == "send":
            req, ro = r.decode_connect_request(raw)
            assert r.encode_connect_request(req, ro) == raw, where
        elif step["kind"] == "connect":
            resp, ro = r.decode_connect_response(raw)
            assert len(resp.passwd) == 16, where
            assert r.encode_connect_response(resp, ro) == raw, where
        elif step["dir"] == "send":
            hdr, decoded = decode_request(raw)
            if hdr.type in OpCode._value2member_map_:
                assert decoded[1] == b"", f"{where}: trailing request bytes"
            assert reencode_request(hdr, decoded) == raw, where
        else:
            rep = decode_reply(raw, step.get("op"))
            assert rep.trailing == b"", f"{where}: undecoded reply bytes {rep.trailing.hex()}"
            assert reencode_reply(rep) == raw, where


def _replies(name: str) -> list[Any]:
    out = []
    for s in _load(name)["steps"]:
        if s["dir"] == "recv" and s["kind"] != "connect":
            out.append(decode_reply(bytes.fromhex(s["hex"]), s.get("op")))
    return out


def test_vector_facts() -> None:
    """A few protocol facts the vectors must show (guards against a bad re-capture)."""
    steps = _load("connect_readonly_byte")["steps"]
    assert len(bytes.fromhex(steps[1]["hex"])) == 37
    steps = _load("connect_no_readonly_byte")["steps"]
    assert len(bytes.fromhex(steps[1]["hex"])) == 36
    timeouts = [r.decode_connect_response(bytes.fromhex(s["hex"]))[0].timeOut
                for s in _load("connect_timeout_clamped")["steps"]
                if s["dir"] == "recv" and s["kind"] == "connect"]
    assert timeouts == [4000, 40000]

    multi = [x for x in _replies("multi_failure") if x.op == OpCode.MULTI][0]
    assert [err for _t, err, _rec in multi.body] == [0, 0, -103, -2, -2]
    assert all(t == -1 for t, _e, _rec in multi.body)

    aw = [x for x in _replies("add_watch") if x.op == OpCode.ADD_WATCH][0]
    assert len(aw.raw) == 16 + 4 and aw.body == r.ErrorResponse(0)

    unk = _replies("unknown_opcode")[0]
    assert (unk.zxid, unk.err) == (-1, Err.UNIMPLEMENTED)
    assert _load("unknown_opcode")["steps"][-1]["dir"] == "eof"

    events = [x for x in _replies("watches") if x.is_event]
    assert events and all(e.zxid == -1 for e in events)
    assert [(e.body.type, e.body.path) for e in events] == [
        (3, "/gv_watch"), (1, "/gv_watch/new"), (4, "/gv_watch"), (2, "/gv_watch/new"),
        (3, "/gv_watch")]

    auth = [x for x in _replies("whoami_auth") if x.xid == -4][0]
    assert (auth.zxid, auth.err, len(auth.raw)) == (0, 0, 16)

    crud = _replies("crud")
    null_data = [x for x in crud if x.op == OpCode.GET_DATA][1]
    assert null_data.body.data is None
    seq = [x for x in crud if x.op == OpCode.CREATE and x.err == 0][-1]
    assert seq.body.path == "/gv_crud/s-0000000001"


# --------------------------------------------------------------------- (b) replay


def replay(vec: dict[str, Any], host: str, port: int) -> None:
    conns: dict[str, RawConnection] = {}
    try:
        for i, step in enumerate(vec["steps"]):
            name = step["conn"]
            where = f"{vec['scenario']} step {i} ({step['dir']} on {name})"
            if step["dir"] == "send":
                if name not in conns:
                    conns[name] = RawConnection(host, port)
                conns[name].send_frame(bytes.fromhex(step["hex"]))
            elif step["dir"] == "recv":
                got = conns[name].recv_frame(10.0)
                want = bytes.fromhex(step["hex"])
                assert got is not None, f"{where}: server closed, expected {want.hex()}"
                masks = step.get("masks", [])
                assert len(got) == len(want) and apply_masks(got, masks) == apply_masks(
                    want, masks), f"{where}:\n got {got.hex()}\nwant {want.hex()}\nmasks {masks}"
                for start, end, label in masks:
                    if label in NONZERO_LABELS:
                        assert any(got[start:end]), f"{where}: {label} is zero"
            else:
                assert conns[name].wait_eof(10.0), f"{where}: server did not close"
    finally:
        for c in conns.values():
            c.close()


@pytest.mark.interop
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_replay_matches_apache_bytes(path: Path, zk_server: ServerHandle) -> None:
    replay(json.loads(path.read_text()), zk_server.host, zk_server.port)
