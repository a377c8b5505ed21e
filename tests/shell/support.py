"""Helpers for the shell's end-to-end tests: run zkpy shell and the Java zkCli, mask
the parts that differ run to run, pick a live server (skipping zkpy until it answers)."""

from __future__ import annotations

import asyncio
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.support.servers import ZKCLI, ServerHandle

ROOT = Path(__file__).resolve().parents[2]
SHELL_CMD = [sys.executable, "-m", "zkpy", "shell"]


def shell_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    env.pop("ZKPY_HOSTS", None)
    env.update(extra or {})
    return env


def run_shell(args: Sequence[str], stdin: str | bytes | None = None,
              timeout_s: float = 60.0) -> subprocess.CompletedProcess[bytes]:
    data = stdin.encode() if isinstance(stdin, str) else stdin
    return subprocess.run([*SHELL_CMD, *args], input=data, capture_output=True,
                          timeout=timeout_s, env=shell_env(), cwd=ROOT,
                          stdin=None if data is not None else subprocess.DEVNULL)


def run_zkcli(hosts: str, script: str, timeout_s: float = 90.0) -> tuple[str, str, int]:
    """The real Java zkCli with ``script`` on stdin (one JVM for many commands)."""
    p = subprocess.run([ZKCLI, "-server", hosts], input=script.encode(), capture_output=True,
                       timeout=timeout_s)
    return p.stdout.decode(), p.stderr.decode(), p.returncode


_NOISE = re.compile(r"^(Connecting to .*|Welcome to ZooKeeper!|JLine support is .*|SLF4J: .*)$")


def strip_zkcli_noise(text: str) -> str:
    """Drop zkCli's banner, SLF4J chatter and connection-state WATCHER blocks."""
    text = re.sub(r"\nWATCHER::\n\nWatchedEvent state:\w+ type:None path:null( zxid: -?\d+)?\n",
                  "", "\n" + text)[1:]
    lines = [ln for ln in text.splitlines() if not _NOISE.match(ln)]
    return "\n".join(lines) + ("\n" if lines else "")


def strip_hints(text: str) -> str:
    return "".join(ln for ln in text.splitlines(keepends=True) if not ln.startswith("Hint: "))


def mask(text: str, prefix: str) -> str:
    """Mask what differs between runs: our unique path, zxids, dates, session ids."""
    text = text.replace(prefix, "/P")
    text = re.sub(r"^(cZxid|mZxid|pZxid) = 0x[0-9a-f]+$", r"\1 = 0xZ", text, flags=re.M)
    text = re.sub(r"^(ctime|mtime) = .*$", r"\1 = DATE", text, flags=re.M)
    text = re.sub(r"^ephemeralOwner = 0x[0-9a-f]+$", "ephemeralOwner = 0xS", text, flags=re.M)
    return text


def probe_zkpy(h: ServerHandle) -> str | None:
    """None if the zkpy server answers a create/get/delete round trip, else why not."""
    async def go() -> None:
        from zkpy.client import ZkClient
        c = ZkClient(h.hosts, connect_timeout_s=5.0)
        await c.start()
        try:
            path = f"/probe-{os.getpid()}-{time.monotonic_ns()}"
            await c.create(path, b"x")
            data, _ = await c.get(path)
            assert data == b"x", data
            await c.delete(path)
        finally:
            await c.close()
    try:
        asyncio.run(asyncio.wait_for(go(), 20))
    except Exception as e:  # noqa: BLE001 - the reason is reported in the failure
        return f"{type(e).__name__}: {e}"
    return None


def live_server(request: pytest.FixtureRequest, kind: str) -> ServerHandle:
    """The one place that decides whether a server kind can be tested now."""
    if kind == "zookeeper":
        return request.getfixturevalue("apache_zk")  # type: ignore[no-any-return]
    h: ServerHandle = request.getfixturevalue("zkpy_server")
    why = probe_zkpy(h)
    if why is not None:
        pytest.fail(f"zkpy server does not answer the client protocol: {why[:200]}")
    return h


class LineReader:
    """Lines of a child's pipe collected by a thread; wait for a pattern with a deadline."""

    def __init__(self, stream: object, name: str) -> None:
        self.name = name
        self.lines: list[str] = []
        self._q: queue.Queue[str | None] = queue.Queue()
        self._t = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._t.start()
        self._seen = 0
        self._eof = False

    def _pump(self, stream: object) -> None:
        for raw in iter(stream.readline, b""):  # type: ignore[attr-defined]
            self._q.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self._q.put(None)

    def wait_for(self, pattern: str, timeout_s: float) -> re.Match[str]:
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout_s
        while True:
            while self._seen < len(self.lines):
                m = rx.search(self.lines[self._seen])
                self._seen += 1
                if m:
                    return m
            if self._eof:
                raise EOFError(f"{self.name} closed; got {self.lines[-20:]!r}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.name}: no line matching {pattern!r} within "
                                   f"{timeout_s}s; got {self.lines[-20:]!r}")
            try:
                item = self._q.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if item is None:
                self._eof = True
                continue
            self.lines.append(item)
