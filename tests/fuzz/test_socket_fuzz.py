"""Socket fuzz: seeded random frames and random operation sequences thrown at a live
server; it must stay up and keep answering a well-behaved client.

Runs against Apache ZooKeeper 3.8 (proving the fuzzer itself is sane: the oracle
survives it) and against zkpy.
Each server kind gets its own dedicated process, so a crash cannot hurt other tests.

Known Apache ZooKeeper 3.8.0 defects are not thrown at Apache (they are at zkpy):
``check`` (13) outside a multi corrupts its txn log and ``createTTL`` (21) with a
non-TTL mode crashes it (reference/zookeeper-protocol.md section 3).

Reproduce a failure with the seed printed in its message:
    ZKPY_FUZZ_SEED=<seed> python -m pytest -q tests/fuzz -k <kind>
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compat.rawzk import (
    OPEN_ACL,
    ConnectionClosed,
    RawConnection,
    encode_request,
    open_session,
)
from tests.support.servers import (
    ServerHandle,
    apache_zk_available,
    start_apache_zk,
    start_zkpy,
    unavailable,
)
from zkpy.proto import records as r
from zkpy.proto.framing import frame
from zkpy.proto.jute import Record
from zkpy.proto.opcodes import OpCode

pytestmark = [pytest.mark.interop, pytest.mark.timeout(600)]

APACHE_KNOWN_CRASHERS = frozenset({OpCode.CHECK, OpCode.CREATE_TTL})
ALL_OPCODES = [int(o) for o in OpCode] + [10, 23, 99, 108, 500, -2, -100, 0x7FFFFFFF,
                                          -0x80000000]
SUPER_CREDENTIAL = b"super:fuzz-liveness"
SUPER_DIGEST = "super:" + base64.b64encode(hashlib.sha1(SUPER_CREDENTIAL).digest()).decode()
DEFAULT_ROUNDS = 400
SLOW_ROUNDS = 10000


@pytest.fixture(scope="module", params=["zookeeper", "zkpy"])
def target(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    tmp = Path(tmp_path_factory.mktemp(f"fuzz-{request.param}"))
    # The fuzzer may setACL "/" (or anything) to lock everyone out, as a client may: the
    # well-behaved client checks liveness as the super user.
    cfg = {"DigestAuthenticationProvider.superDigest": SUPER_DIGEST}
    if request.param == "zookeeper":
        if not apache_zk_available():
            unavailable("Apache ZooKeeper 3.8 not installed (apt-get install zookeeper)")
        h = start_apache_zk(tmp, cfg=cfg)
    else:
        h = start_zkpy(tmp, cfg=cfg)
    try:
        yield h
    finally:
        h.stop()


def _seed() -> int:
    env = os.environ.get("ZKPY_FUZZ_SEED")
    return int(env) if env else random.SystemRandom().randrange(1 << 32)


# ---------------------------------------------------------------- random material


def rand_path(rng: random.Random) -> str | None:
    return rng.choice([
        "/", "/fz", "/fz/a", "/fz/a/b", "/fz/e", "/fz/q-", f"/fz/{rng.randrange(100)}",
        "", "fz", "//", "/fz/", "/fz/./a", "/fz/../a", "/zookeeper", "/zookeeper/quota",
        "/fz/\u00e9\u4e2d", "/fz/\x00", "/" + "x" * rng.randrange(1, 5000), None,
    ])


def rand_bytes(rng: random.Random, n: int) -> bytes:
    return rng.randbytes(n)


def rand_data(rng: random.Random) -> bytes | None:
    return rng.choice([None, b"", b"d", rand_bytes(rng, rng.randrange(1, 64)),
                       rand_bytes(rng, rng.randrange(1000, 200_000))])


def rand_acl(rng: random.Random) -> list[r.ACL] | None:
    return rng.choice([
        OPEN_ACL, [], None,
        [r.ACL(rng.randrange(-5, 64), r.Id(rng.choice(["world", "digest", "ip", "auth", "x",
                                                         "", None]),
                                           rng.choice(["anyone", "u:p", "127.0.0.1", "1.2.3.4/99",
                                                       "", None])))],
    ])


def rand_record(rng: random.Random, op: int) -> Record | list[tuple[int, Record]] | None:
    p = rand_path(rng)
    v = rng.choice([-1, 0, 1, 2, 1 << 30, -7])
    w = rng.random() < 0.5
    if op in (OpCode.CREATE, OpCode.CREATE2, OpCode.CREATE_CONTAINER):
        return r.CreateRequest(p, rand_data(rng), rand_acl(rng), rng.randrange(-2, 10))
    if op == OpCode.CREATE_TTL:
        return r.CreateTTLRequest(p, rand_data(rng), rand_acl(rng), rng.randrange(-2, 10),
                                  rng.choice([-1, 0, 1, 1000, 1 << 41]))
    if op == OpCode.DELETE:
        return r.DeleteRequest(p, v)
    if op in (OpCode.EXISTS, OpCode.GET_DATA, OpCode.GET_CHILDREN, OpCode.GET_CHILDREN2):
        return r.GetDataRequest(p, w)                   # same layout: path, watch
    if op == OpCode.SET_DATA:
        return r.SetDataRequest(p, rand_data(rng), v)
    if op in (OpCode.GET_ACL, OpCode.SYNC, OpCode.GET_ALL_CHILDREN_NUMBER,
              OpCode.GET_EPHEMERALS):
        return r.SyncRequest(p)                         # same layout: path
    if op == OpCode.SET_ACL:
        return r.SetACLRequest(p, rand_acl(rng), v)
    if op == OpCode.CHECK:
        return r.CheckVersionRequest(p, v)
    if op in (OpCode.CHECK_WATCHES, OpCode.REMOVE_WATCHES):
        return r.CheckWatchesRequest(p, rng.randrange(-1, 7))
    if op == OpCode.ADD_WATCH:
        return r.AddWatchRequest(p, rng.randrange(-1, 4))
    if op == OpCode.SET_WATCHES:
        return r.SetWatches(rng.choice([0, -1, 1 << 62]), [p or "/"], [], [p or "/"])
    if op == OpCode.AUTH:
        return r.AuthPacket(0, rng.choice(["digest", "ip", "world", "sasl", "x"]),
                            rand_bytes(rng, rng.randrange(0, 40)))
    if op == OpCode.RECONFIG:
        return r.ReconfigRequest(None, None, None, -1)
    if op in (OpCode.MULTI, OpCode.MULTI_READ):
        subs: list[tuple[int, Record]] = []
        for _ in range(rng.randrange(0, 5)):
            sop = rng.choice([OpCode.CREATE, OpCode.DELETE, OpCode.SET_DATA, OpCode.CHECK,
                              OpCode.GET_DATA, OpCode.GET_CHILDREN])
            rec = rand_record(rng, sop)
            assert isinstance(rec, Record)
            subs.append((sop, rec))
        return subs
    return None


# ------------------------------------------------------------------ fuzz actions


def _settle(c: RawConnection, budget_s: float = 5.0) -> None:
    """Ping and read until its reply or until the server closes the connection."""
    try:
        c.send_request(OpCode.PING, None, xid=-2)
        deadline = time.monotonic() + budget_s
        while time.monotonic() < deadline:
            f = c.recv_frame(max(0.05, deadline - time.monotonic()))
            if f is None or f[:4] == b"\xff\xff\xff\xfe":
                return
    except (ConnectionClosed, TimeoutError, OSError):
        return


def garbage_before_handshake(h: ServerHandle, rng: random.Random) -> None:
    with socket.create_connection((h.host, h.port), timeout=5) as s:
        try:
            s.sendall(rand_bytes(rng, rng.randrange(0, 300)))
            s.settimeout(0.2)
            s.recv(4096)
        except OSError:
            pass


def bad_connect(h: ServerHandle, rng: random.Random) -> None:
    req = r.ConnectRequest(rng.choice([0, 1, -1]), rng.choice([0, 1 << 40, -1]),
                           rng.choice([0, -1, 1, 30000, 1 << 31 - 1]),
                           rng.choice([0, rng.getrandbits(63)]),
                           rng.choice([b"\0" * 16, b"", None, rand_bytes(rng, 40)]))
    payload = r.encode_connect_request(req, rng.choice([None, False, True]))
    if rng.random() < 0.3:
        payload = payload[:rng.randrange(len(payload))]
    c = RawConnection(h.host, h.port, timeout_s=3.0)
    try:
        c.send_frame(payload)
        _settle(c, 2.0)
    except (ConnectionClosed, OSError):
        pass
    finally:
        c.close()


def bad_frames(h: ServerHandle, rng: random.Random) -> None:
    """A valid session, then frames with lying lengths, truncated or random bodies."""
    try:
        c = open_session(h.host, h.port, timeout_ms=4000)
    except (ConnectionClosed, OSError):
        return
    try:
        for _ in range(rng.randrange(1, 6)):
            kind = rng.randrange(4)
            if kind == 0:           # random payload in a correct frame
                c.send_raw(frame(rand_bytes(rng, rng.randrange(0, 200))))
            elif kind == 1:         # header with a random opcode, random body
                hdr = r.RequestHeader(rng.randrange(1, 1000), rng.choice(ALL_OPCODES))
                if h.kind == "zookeeper" and hdr.type in APACHE_KNOWN_CRASHERS:
                    continue
                c.send_raw(frame(hdr.to_bytes() + rand_bytes(rng, rng.randrange(0, 64))))
            elif kind == 2:         # length that lies (too big, negative), then hang up
                n = rng.choice([-1, -1000, 0xFFFFF + 1, 1 << 30, 50])
                c.send_raw(n.to_bytes(4, "big", signed=True) + rand_bytes(rng, 10))
                return
            else:                   # truncated frame, then hang up
                body = rand_bytes(rng, 100)
                c.send_raw(frame(body)[:rng.randrange(1, 100)])
                return
        _settle(c, 2.0)
    except (ConnectionClosed, OSError):
        pass
    finally:
        c.close()


def random_ops(h: ServerHandle, rng: random.Random) -> None:
    """Well-framed requests with random fields (bad paths, flags, ACLs, versions...)."""
    try:
        c = open_session(h.host, h.port, timeout_ms=4000)
    except (ConnectionClosed, OSError):
        return
    try:
        for _ in range(rng.randrange(1, 12)):
            op = rng.choice(ALL_OPCODES)
            if op in (OpCode.CLOSE_SESSION, OpCode.NOTIFICATION, OpCode.DELETE_CONTAINER):
                continue
            if h.kind == "zookeeper" and op in APACHE_KNOWN_CRASHERS:
                continue
            body = rand_record(rng, op)
            if h.kind == "zookeeper" and isinstance(body, list):
                body = [(o, b) for o, b in body if o not in APACHE_KNOWN_CRASHERS or
                        op == OpCode.MULTI]
            xid = rng.choice([c.next_xid(), -2, -4, -8, 0, rng.randrange(-100, 100)])
            try:
                payload = encode_request(xid, op, body)
            except Exception:       # noqa: BLE001 - a record our encoder refuses: skip it
                continue
            c.send_raw(frame(payload))
        _settle(c, 5.0)
        if not c.closed and rng.random() < 0.5:
            c.send_request(OpCode.CLOSE_SESSION)
            _settle(c, 2.0)
    except (ConnectionClosed, OSError):
        pass
    finally:
        c.close()


ACTIONS = [garbage_before_handshake, bad_connect, bad_frames, random_ops, random_ops]


def well_behaved_client_works(h: ServerHandle, tag: str) -> None:
    with open_session(h.host, h.port) as c:
        rep = c.auth("digest", SUPER_CREDENTIAL)
        assert rep is not None and rep.err == 0, rep
        p = f"/fuzz-ok-{tag}"
        rep = c.call(OpCode.CREATE, r.CreateRequest(p, b"ok", OPEN_ACL, 0))
        assert rep is not None and rep.err in (0, -110), rep
        rep = c.call(OpCode.GET_DATA, r.GetDataRequest(p, False))
        assert rep is not None and rep.err == 0 and rep.body.data == b"ok", rep
        rep = c.call(OpCode.DELETE, r.DeleteRequest(p, -1))
        assert rep is not None and rep.err == 0, rep
        c.close_session()


def fuzz(h: ServerHandle, rounds: int, budget_s: float) -> None:
    """Run up to ``rounds`` random actions, starting none after ``budget_s``."""
    seed = _seed()
    rng = random.Random(seed)
    deadline = time.monotonic() + budget_s
    done = 0
    for i in range(rounds):
        if time.monotonic() > deadline:
            break
        action = rng.choice(ACTIONS)
        action(h, rng)
        done += 1
        if i % 25 == 24:
            assert h.alive(), f"{h.kind} died (seed {seed}, round {i}):\n{h.log_tail()}"
            well_behaved_client_works(h, f"{seed}-{i}")
    assert h.alive(), f"{h.kind} died (seed {seed}):\n{h.log_tail()}"
    try:
        well_behaved_client_works(h, f"{seed}-end")
    except Exception as e:
        raise AssertionError(f"{h.kind} stopped answering after fuzz seed {seed}: {e!r}") from e
    assert done >= min(rounds, 20), f"only {done} rounds ran in the time budget"


def test_server_survives_fuzz(target: ServerHandle) -> None:
    fuzz(target, DEFAULT_ROUNDS, budget_s=60.0)


@pytest.mark.slow
def test_server_survives_long_fuzz(target: ServerHandle) -> None:
    fuzz(target, SLOW_ROUNDS, budget_s=480.0)


def test_client_ahead_of_the_server_is_refused(target: ServerHandle) -> None:
    """A ConnectRequest whose lastZxidSeen is ahead of the server's history: no session,
    the connection is closed (the client must try another member), others unaffected."""
    with RawConnection(target.host, target.port) as c:
        assert c.connect(last_zxid=0x7FFF_FFFF_0000_0000) is None
    well_behaved_client_works(target, "ahead")
