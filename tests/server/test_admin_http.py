"""The admin HTTP server over real sockets on 127.0.0.1 (free port), with a fake member.

The server runs on its own event loop in a thread; every socket and wait in here has
a timeout, and the fixture stops the server and joins the thread.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import random
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import unavailable
from tests.unit.server.fake_status import FakeStatus, standalone_config
from zkpy.server.admin import MAX_HEADER_BYTES, AdminServer

TIMEOUT_S = 5.0


class Running:
    def __init__(self, status: FakeStatus, **kw: object) -> None:
        self.status = status
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = AdminServer(status, host="127.0.0.1", port=0, **kw)  # type: ignore[arg-type]
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(TIMEOUT_S)
        self.port = self.server.port

    def stop(self) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(TIMEOUT_S)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(TIMEOUT_S)
            assert not self.thread.is_alive()
            self.loop.close()

    def get(self, path: str, method: str = "GET",
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT_S)
        try:
            conn.request(method, path, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def raw(self, data: bytes, *, shutdown: bool = True) -> bytes:
        """Send raw bytes, read until the server closes (bounded)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT_S) as s:
            try:
                s.sendall(data)
                if shutdown:
                    s.shutdown(socket.SHUT_WR)
            except OSError:  # the server may already have answered and closed
                pass
            out = b""
            deadline = time.monotonic() + TIMEOUT_S
            while time.monotonic() < deadline:
                try:
                    chunk = s.recv(65536)
                except OSError:  # reset after the server closed with our bytes unread
                    break
                if not chunk:
                    break
                out += chunk
            return out

    def assert_alive(self) -> None:
        status, _, body = self.get("/commands/ruok")
        assert status == 200 and json.loads(body) == {"command": "ruok", "error": None}


@pytest.fixture
def admin() -> Iterator[Running]:
    st = FakeStatus(standalone_config(), last_zxid=0x10, node_count=7)
    st.add_connection("127.0.0.1", 40000).stats.packets_received = 3
    r = Running(st)
    try:
        yield r
    finally:
        r.stop()


def status_of(response: bytes) -> int:
    line = response.split(b"\r\n", 1)[0]
    assert line.startswith(b"HTTP/1.1 "), response[:80]
    return int(line.split(b" ")[1])


# ------------------------------------------------------------------ normal requests


def test_index(admin: Running) -> None:
    for path in ("/commands", "/commands/"):
        status, headers, body = admin.get(path)
        assert status == 200 and headers["content-type"].startswith("text/html")
        assert body.startswith(b'<a href="/commands/configuration">configuration</a>\n<br/>\n')


def test_command_json(admin: Running) -> None:
    status, headers, body = admin.get("/commands/srvr")
    assert status == 200 and headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    doc = json.loads(body)
    assert doc["command"] == "server_stats" and doc["error"] is None
    assert doc["node_count"] == 7 and doc["server_stats"]["last_processed_zxid"] == 16
    assert body.startswith(b'{\n  "version" : ') and not body.endswith(b"\n")


def test_unknown_command_is_200_with_error(admin: Running) -> None:
    status, _, body = admin.get("/commands/nosuch")
    assert status == 200
    assert json.loads(body) == {"command": "nosuch", "error": "Unknown command: nosuch"}


def test_query_arguments_and_percent_decoding(admin: Running) -> None:
    _, _, body = admin.get("/commands/stmk?traceMask=5")
    assert json.loads(body)["tracemask"] == 5
    _, _, body = admin.get("/commands/%67tmk")
    assert json.loads(body) == {"tracemask": 5, "command": "get_trace_mask", "error": None}


def test_metrics(admin: Running) -> None:
    status, headers, body = admin.get("/metrics")
    assert status == 200
    assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = body.decode()
    assert "# TYPE znode_count gauge\nznode_count 7\n" in text
    assert "num_alive_connections 1\n" in text


def test_not_found_head_and_methods(admin: Running) -> None:
    assert admin.get("/nope")[0] == 404
    status, headers, body = admin.get("/commands/ruok", method="HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0
    status, headers, _ = admin.get("/commands/ruok", method="POST")
    assert status == 405 and headers["allow"] == "GET, HEAD"
    assert admin.get("/commands/ruok", method="TRACE")[0] == 405


def test_keep_alive_serves_several_requests(admin: Running) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", admin.port, timeout=TIMEOUT_S)
    try:
        for name in ("ruok", "conf", "wchs", "dirs"):
            conn.request("GET", f"/commands/{name}")
            r = conn.getresponse()
            assert r.status == 200 and r.getheader("Connection") == "keep-alive"
            json.loads(r.read())
    finally:
        conn.close()


def test_http10_closes_and_absolute_form(admin: Running) -> None:
    out = admin.raw(b"GET /commands/ruok HTTP/1.0\r\n\r\n")
    assert status_of(out) == 200 and b"Connection: close" in out
    out = admin.raw(b"GET http://127.0.0.1/commands/isro HTTP/1.1\r\nHost: x\r\n"
                    b"Connection: close\r\n\r\n")
    assert status_of(out) == 200 and b'"read_only" : false' in out


def test_bare_lf_line_endings_accepted(admin: Running) -> None:
    out = admin.raw(b"GET /commands/ruok HTTP/1.1\nHost: x\nConnection: close\n\n")
    assert status_of(out) == 200


def test_crst_over_http_resets_connection_stats(admin: Running) -> None:
    admin.get("/commands/crst")
    assert admin.status.conns[0].stats.packets_received == 0


def test_not_serving(admin: Running) -> None:
    admin.status.serving = False
    _, _, body = admin.get("/commands/stat")
    assert json.loads(body) == {
        "command": "stat", "error": "This ZooKeeper instance is not currently serving requests"}


# ------------------------------------------------------------------ malformed input

MALFORMED = [
    (b"garbage\r\n\r\n", 400),
    (b"GET /commands/ruok\r\n\r\n", 400),
    (b"GET  /commands/ruok HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"get /commands/ruok HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /commands/ruok HTTP/9.9\r\nHost: x\r\n\r\n", 505),
    (b"GET /commands/ruok HTTP/1.1\r\n\r\n", 400),  # no Host
    (b"GET /commands/ruok HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", 400),
    (b"GET /commands/ruok HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n", 400),
    (b"GET /commands/ruok HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400),
    (b"GET /commands/ruok HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
    (b"GET /commands/ruok HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
     b"Content-Length: 2\r\n\r\n", 400),
    (b"GET /commands/ruok HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n", 413),
    (b"GET /commands/ruok HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
    (b"GET /commands/ruok HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc", 400),
    (b"GET commands HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"\x00\xff\xfe\x01binary\r\n\r\n", 400),
    (b"GET /commands/ruok HTTP/1.1\r\nHost: x\r\n" + b"X: " + b"a" * (MAX_HEADER_BYTES + 10)
     + b"\r\n\r\n", 431),
    (b"GET /commands/ruok HTTP/1.1\r\nHost: x\r\n" + b"".join(
        b"H%d: v\r\n" % i for i in range(200)) + b"\r\n", 431),
]


@pytest.mark.parametrize(("data", "expected"), MALFORMED,
                         ids=[f"case{i}" for i in range(len(MALFORMED))])
def test_malformed_requests_get_4xx_and_close(admin: Running, data: bytes, expected: int) -> None:
    out = admin.raw(data)
    assert status_of(out) == expected
    assert b"Connection: close" in out
    admin.assert_alive()


def test_truncated_and_empty_connections(admin: Running) -> None:
    assert admin.raw(b"") == b""
    assert admin.raw(b"GET /commands/ru") == b"" or status_of(admin.raw(b"GET /commands/ru")) == 400
    with socket.create_connection(("127.0.0.1", admin.port), timeout=TIMEOUT_S) as s:
        s.sendall(b"GET /commands/ruok HTTP/1.1\r\nHo")
    admin.assert_alive()


def test_idle_connection_is_closed() -> None:
    r = Running(FakeStatus(standalone_config()), idle_timeout_s=0.3)
    try:
        with socket.create_connection(("127.0.0.1", r.port), timeout=TIMEOUT_S) as s:
            t0 = time.monotonic()
            assert s.recv(1024) == b""  # server closed it
            assert time.monotonic() - t0 < TIMEOUT_S
        r.assert_alive()
    finally:
        r.stop()


def test_connection_limit() -> None:
    r = Running(FakeStatus(standalone_config()), max_connections=2)
    socks: list[socket.socket] = []
    try:
        for _ in range(2):
            socks.append(socket.create_connection(("127.0.0.1", r.port), timeout=TIMEOUT_S))
        deadline = time.monotonic() + TIMEOUT_S
        out = b""
        while time.monotonic() < deadline:  # accept of the first two may lag a little
            out = r.raw(b"GET /commands/ruok HTTP/1.1\r\nHost: x\r\n\r\n")
            if out.startswith(b"HTTP/1.1 503 "):
                break
            time.sleep(0.02)
        assert status_of(out) == 503
        for s in socks:
            s.close()
        socks.clear()
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            try:
                r.assert_alive()
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
    finally:
        for s in socks:
            s.close()
        r.stop()


def test_random_bytes_never_kill_the_server(admin: Running) -> None:
    rng = random.Random(20261121)
    pieces = [b"GET ", b"/commands/", b"srvr", b" HTTP/1.1", b"\r\n", b"Host: x", b":", b" ",
              b"\x00", b"\xff", b"Content-Length: 3", b"?a=%zz", b"\n", b"%", b"HEAD "]
    for _ in range(60):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        if rng.random() < 0.3:
            data += bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
        out = admin.raw(data)
        assert out == b"" or out.startswith(b"HTTP/1.1 ")
    admin.assert_alive()


def test_port_in_use_raises_oserror() -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    loop = asyncio.new_event_loop()
    try:
        server = AdminServer(FakeStatus(standalone_config()), host="127.0.0.1", port=port)
        with pytest.raises(OSError):
            loop.run_until_complete(asyncio.wait_for(server.start(), TIMEOUT_S))
    finally:
        loop.close()
        holder.close()


# ------------------------------------------------------------------ real ZooKeeper tools

ZK_SERVER_SH = "/usr/share/zookeeper/bin/zkServer.sh"


class FourLetterServer:
    """A bare 4lw listener over FourLetterWords (what the runtime does before framing)."""

    def __init__(self, status: FakeStatus) -> None:
        from zkpy.server.fourlw import FourLetterWords

        self.words = FourLetterWords(status)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self.loop).result(TIMEOUT_S)
        self.port = int(self.server.sockets[0].getsockname()[1])

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            data = await asyncio.wait_for(reader.readexactly(4), TIMEOUT_S)
            answer = self.words.answer(data.decode("latin-1"))
            if answer is not None:
                writer.write(answer.encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    def stop(self) -> None:
        async def _close() -> None:
            self.server.close()
            await self.server.wait_closed()

        try:
            asyncio.run_coroutine_threadsafe(_close(), self.loop).result(TIMEOUT_S)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(TIMEOUT_S)
            self.loop.close()


@pytest.mark.interop
def test_zkserver_sh_status_reads_our_srvr(tmp_path: Path) -> None:
    """ZooKeeper's own `zkServer.sh status` (FourLetterWordMain srvr | grep Mode)."""
    import os
    import shutil
    import signal
    import subprocess

    if shutil.which("java") is None or not os.path.exists(ZK_SERVER_SH):
        unavailable("Apache ZooKeeper 3.8 not installed (apt-get install zookeeper)")
    st = FakeStatus(standalone_config(), mode="follower")
    srv = FourLetterServer(st)
    try:
        (tmp_path / "data").mkdir()
        (tmp_path / "zoo.cfg").write_text(
            f"dataDir={tmp_path / 'data'}\nclientPort={srv.port}\nclientPortAddress=127.0.0.1\n")
        proc = subprocess.Popen(
            [ZK_SERVER_SH, "status", str(tmp_path / "zoo.cfg")],
            env={**os.environ, "ZOOCFGDIR": str(tmp_path), "ZOO_LOG_DIR": str(tmp_path)},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(TIMEOUT_S)
        text = out.decode(errors="replace")
        assert proc.returncode == 0, text
        assert "Mode: follower" in text, text
    finally:
        srv.stop()
