"""The ceiling probe: the least work a Python server can do per write, for scale.

Not ZooKeeper: it frames requests, appends each loop turn's batch of request bytes to one
file, fdatasyncs it in a thread (one fsync in flight, the rest of the writes wait for the
next), then answers every request of the batch with a SetData-shaped reply (a zero Stat;
the C client reads it as an empty path for a create). No tree, no sessions, no log
records. Whatever zkpy spends beyond this on the same load is ZooKeeper's semantics in
Python; what this spends is asyncio, uvloop and the kernel.

    python -m tests.bench.ab_servers probe .      (alternated with zkpy under zkload)
    python -m tests.bench.probe_server --port P --data-dir D

It answers ``srvr`` with a ``Mode:`` line, so the test helpers see it serving.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import struct
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from zkpy.proto.framing import FrameReader

_LEN = struct.Struct("!i")
_XID = struct.Struct("!i")
_REPLY_HDR = struct.Struct("!iiqi")  # frame length, xid, zxid, err
_STAT = bytes(68)
# ConnectResponse: protocol version, timeout, session id, a 16-byte password.
_CONNECT_BODY = struct.pack("!iiqi", 0, 30000, 1, 16) + bytes(16)


class Probe:
    def __init__(self, loop: asyncio.AbstractEventLoop, fd: int) -> None:
        self.loop = loop
        self.fd = fd
        self.pool = ThreadPoolExecutor(1)
        self.pending: list[tuple[ProbeConnection, int, bytes]] = []
        self.syncing = False
        self.scheduled = False
        self.zxid = 0

    def kick(self) -> None:
        if not self.scheduled and not self.syncing:
            self.scheduled = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        self.scheduled = False
        if self.syncing or not self.pending:
            return
        batch, self.pending = self.pending, []
        os.write(self.fd, b"".join(fr for _, _, fr in batch))
        self.syncing = True
        fut = self.loop.run_in_executor(self.pool, os.fdatasync, self.fd)
        fut.add_done_callback(lambda _: self.durable(batch))

    def durable(self, batch: list[tuple[ProbeConnection, int, bytes]]) -> None:
        replies: dict[ProbeConnection, list[bytes]] = {}
        for conn, xid, _ in batch:
            self.zxid += 1
            replies.setdefault(conn, []).append(
                _REPLY_HDR.pack(16 + len(_STAT), xid, self.zxid, 0) + _STAT)
        for conn, out in replies.items():
            conn.send(b"".join(out))
        self.syncing = False
        self.kick()


class ProbeConnection(asyncio.Protocol):
    def __init__(self, probe: Probe) -> None:
        self.probe = probe
        self.transport: Any = None
        self.reader = FrameReader()  # the server's own framing
        self.connected = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def send(self, data: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        if not self.connected and data[:4] == b"srvr":
            self.transport.write(b"Zookeeper version: probe\nMode: standalone\n")
            self.transport.close()
            return
        for frame in self.reader.feed(data):
            if not self.connected:
                self.connected = True
                self.send(_LEN.pack(len(_CONNECT_BODY)) + _CONNECT_BODY)
                continue
            self.probe.pending.append((self, _XID.unpack_from(frame, 0)[0], frame))
        self.probe.kick()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--data-dir", required=True)
    a = ap.parse_args()
    os.makedirs(a.data_dir, exist_ok=True)
    fd = os.open(os.path.join(a.data_dir, "probe.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                 0o644)
    try:
        import uvloop  # the server's own loop when installed (the speed extra)
        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    probe = Probe(loop, fd)
    loop.run_until_complete(loop.create_server(lambda: ProbeConnection(probe), a.host, a.port))
    try:
        loop.run_forever()
    finally:
        os.close(fd)


if __name__ == "__main__":
    main()
