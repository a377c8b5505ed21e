"""The ceiling probe (tests/bench/probe_server.py) answers what zkload sends it: a
session handshake, then every request with a reply carrying its xid, only after the
request bytes are in its file; and srvr, so the bench helpers see it serving."""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
from pathlib import Path

from tests.support.servers import ServerHandle, free_port

ROOT = Path(__file__).resolve().parents[2]


def _frame(body: bytes) -> bytes:
    return struct.pack("!i", len(body)) + body


def _read_frame(s: socket.socket) -> bytes:
    def exactly(n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            assert chunk, "probe closed the connection"
            buf += chunk
        return buf
    (n,) = struct.unpack("!i", exactly(4))
    return exactly(n)


def test_probe_replies_after_logging(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "data"
    log = tmp_path / "probe.out"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.bench.probe_server", "--port", str(port),
             "--data-dir", str(data)], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        ServerHandle("probe", "127.0.0.1", port, proc, data, log).wait_serving(30)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            connect = struct.pack("!iqiq", 0, 0, 30000, 0) + struct.pack("!i", 16) + bytes(16)
            s.sendall(_frame(connect))
            assert len(_read_frame(s)) == 36  # ConnectResponse with a 16-byte password
            def set_data(xid: int) -> bytes:  # header (xid, op 5) + SetDataRequest
                return _frame(struct.pack("!iii", xid, 5, 2) + b"/k" + struct.pack("!i", 3)
                              + b"abc" + struct.pack("!i", -1))
            s.sendall(set_data(7) + set_data(8))
            replies = [_read_frame(s), _read_frame(s)]
        assert [struct.unpack_from("!iqi", r) for r in replies] == [(7, 1, 0), (8, 2, 0)]
        assert all(len(r) == 16 + 68 for r in replies)
        logged = (data / "probe.log").read_bytes()
        assert logged.count(b"/k") == 2 and logged.count(b"abc") == 2
    finally:
        proc.kill()
        proc.wait(timeout=10)
