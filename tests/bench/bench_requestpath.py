"""CPU per request through the server's own code, without sockets or fsync.

Drives ClientConnection + Member + StateMachine in one process with fake transports
and a txn log that is durable at once: 8 sessions, each fed 32 pipelined requests per
data_received, as zkload's 8x32 shape does. What it prints is the Python cost of the
request path alone (decode, command, log payload, apply, reply), the part of the server
that profiling can shrink; the real server adds socket I/O and the fsync thread.

    python -m tests.bench.bench_requestpath [--op set|get|create] [--rounds N] [--log]
    python -m tests.bench.bench_requestpath --instructions [--op ...] [--log]
    pytest -m bench tests/bench/bench_requestpath.py -s

``--instructions`` counts instructions per request instead, under valgrind's callgrind
(two runs of 10 and 40 rounds, the difference divided by the extra requests, so start-up
drops out). CPU time on this shared machine moves by 10-40 % between runs; the
instruction count repeats to 0.2 %, so it shows a change of 1 % in the request path.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from typing import Any

import pytest

from tests.support.member_fakes import new_member, request_frame
from zkpy.proto import records as rec
from zkpy.server.connection import ClientConnection
from zkpy.state.types import StateConfig
from zkpy.storage.stateimage import open_member_storage

OPEN = [rec.ACL(31, rec.Id("world", "anyone"))]
SESSIONS = 8
WINDOW = 32


class _Transport:
    def __init__(self, port: int) -> None:
        self.port = port

    def write(self, data: bytes) -> None:
        pass

    def is_closing(self) -> bool:
        return False

    def is_reading(self) -> bool:
        return True

    def get_extra_info(self, key: str) -> Any:
        return ("127.0.0.1", self.port)

    def close(self) -> None:
        pass

    abort = close
    pause_reading = close
    resume_reading = close


def measure(op: str = "set", rounds: int = 800, repeats: int = 7, real_log: bool = False) -> float:
    """Best (lowest) CPU microseconds per request over ``repeats`` runs. ``real_log``:
    the member's own txn log in a temporary dir with forceSync=no (records encoded and
    written, no fdatasync) instead of a log that is durable at once."""
    loop = asyncio.new_event_loop()
    tmp = tempfile.TemporaryDirectory(prefix="zkpy-bench-")
    storage = None
    try:
        if real_log:
            storage, state, _ = open_member_storage(
                StateConfig(secret=1), tmp.name, rng=random.Random(1), now_ms=0, loop=loop,
                force_sync=False, snap_count_txns=10**9)
            m = new_member(loop, state=state, txn_log=storage)
        else:
            m = new_member(loop)
        conns = []
        for i in range(SESSIONS):
            c = ClientConnection(m)
            c.connection_made(_Transport(5000 + i))  # type: ignore[arg-type]
            body = rec.ConnectRequest(0, 0, 30000, 0, b"\0" * 16).to_bytes()
            c.data_received(struct.pack("!i", len(body)) + body)
            conns.append(c)
        loop.run_until_complete(asyncio.sleep(0.01))
        conns[0].data_received(request_frame(1, 1, rec.CreateRequest("/k", b"x" * 100, OPEN, 0)
                                          .to_bytes()))
        loop.run_until_complete(asyncio.sleep(0.01))
        if op == "set":
            code, body = 5, rec.SetDataRequest("/k", b"y" * 100, -1).to_bytes()
        elif op == "get":
            code, body = 4, rec.GetDataRequest("/k", False).to_bytes()
        else:  # persistent sequential creates
            code, body = 1, rec.CreateRequest("/k/n-", b"y" * 100, OPEN, 2).to_bytes()
        chunk = b"".join(request_frame(10 + i, code, body) for i in range(WINDOW))

        async def run() -> None:
            for _ in range(rounds):
                for c in conns:
                    c.data_received(chunk)
                await asyncio.sleep(0)

        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            loop.run_until_complete(run())
            best = min(best, time.perf_counter() - t0)
        return best / (rounds * SESSIONS * WINDOW) * 1e6
    finally:
        if storage is not None:
            loop.run_until_complete(storage.close())
        loop.close()
        tmp.cleanup()


@pytest.mark.bench
def test_bench_request_path() -> None:
    for op in ("get", "set", "create"):
        print(f"\nrequest path, {op}: {measure(op, rounds=300, repeats=5):.2f} us CPU per request "
              f"({SESSIONS}x{WINDOW} pipelined, no socket, no fsync; best of 5)")


def count_instructions(op: str, real_log: bool) -> float:
    """Instructions per request (callgrind; see the module docstring)."""
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (Debian: apt-get install valgrind)")

    def collected(rounds: int) -> int:
        cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
               sys.executable, "-m", "tests.bench.bench_requestpath", "--op", op,
               "--rounds", str(rounds), "--repeats", "1"] + (["--log"] if real_log else [])
        err = subprocess.run(cmd, capture_output=True, text=True, check=True,
                             timeout=900).stderr
        m = re.search(r"Collected : (\d+)", err)
        if m is None:
            raise RuntimeError(f"no callgrind total in:\n{err[-2000:]}")
        return int(m.group(1))
    return (collected(40) - collected(10)) / (30 * SESSIONS * WINDOW)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--op", choices=["set", "get", "create"], default="set")
    ap.add_argument("--rounds", type=int, default=800)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--log", action="store_true",
                    help="write a real txn log (forceSync=no) instead of a fake one")
    ap.add_argument("--instructions", action="store_true",
                    help="instructions per request under callgrind instead of CPU time")
    a = ap.parse_args()
    what = f"{a.op}{' (txn log)' if a.log else ''}"
    if a.instructions:
        print(f"{what}: {count_instructions(a.op, a.log):.0f} instructions per request")
        return
    us = measure(a.op, a.rounds, a.repeats, real_log=a.log)
    print(f"{what}: {us:.2f} us CPU per request")


if __name__ == "__main__":
    main()
