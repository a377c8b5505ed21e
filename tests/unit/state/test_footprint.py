"""Memory per znode stays small (slotted nodes, shared ACL lists, children keyed by the
nodes' own path strings)."""

from __future__ import annotations

import gc
import tracemalloc

from zkpy.proto import records as r
from zkpy.proto.opcodes import OpCode
from zkpy.state import Conn, StateMachine

from .harness import OPEN


def test_bytes_per_100_byte_znode() -> None:
    sm = StateMachine()
    c = Conn("127.0.0.1", watcher="w")
    c.session_id = sm.apply(sm.create_session_command(10000, 1)).new_session[0]
    sm.apply(sm.command(c, OpCode.CREATE, r.CreateRequest("/d", b"", OPEN, 0), 1, 2))
    n = 4000
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for i in range(n):
            # a fresh data buffer and ACL list per request, as decoding produces them
            req = r.CreateRequest(f"/d/n{i:06d}", b"x" * 99 + bytes([i & 0xFF]),
                                  [r.ACL(31, r.Id("world", "anyone"))], 0)
            sm.apply(sm.command(c, OpCode.CREATE, req, 1, 2))
        del req
        gc.collect()
        used = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    per_node = used / n
    # node object + data bytes + path + a slot in `nodes` and in the parent's children
    # (~386 B here; a child-name string per node would add ~56 B, cver+pzxid slots 16 B)
    assert per_node < 420, per_node
    assert len(sm.acls) == 2  # OPEN and the config node's READ list, shared by all nodes
