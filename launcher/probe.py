"""Readiness and liveness of members through four-letter words; never by grepping logs.

Ready means ``ruok`` answers ``imok`` and ``srvr`` reports a ``Mode:`` (standalone, leader,
follower, observer). A member of an ensemble without quorum answers ``ruok`` but not a
mode ("This ZooKeeper instance is not currently serving requests"), so it is not ready.
A wait stops at once when a member's process dies (cassandra-ccm PR#724, PR#625).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["Probe", "ReadyResult", "four_letter", "parse_srvr", "probe", "wait_ready"]


def four_letter(host: str, port: int, word: str, timeout_s: float = 1.0) -> str:
    """Send a four-letter word and read the whole answer (the server closes the socket)."""
    deadline = time.monotonic() + timeout_s
    with socket.create_connection((host, port), timeout=timeout_s) as s:
        s.sendall(word.encode("ascii"))
        chunks: list[bytes] = []
        while True:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    return b"".join(chunks).decode("utf-8", "replace")


def parse_srvr(text: str) -> dict[str, str]:
    """``Key: value`` lines of a srvr/stat answer (first colon splits)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out


@dataclass(frozen=True, slots=True)
class Probe:
    """What one member answered."""

    reachable: bool  # the client port accepted a connection
    ok: bool  # ruok -> imok
    mode: str | None  # standalone | leader | follower | observer | None (not serving)
    zxid: str | None
    error: str | None = None

    @property
    def ready(self) -> bool:
        return self.ok and self.mode is not None


def probe(host: str, port: int, timeout_s: float = 1.0) -> Probe:
    try:
        ok = four_letter(host, port, "ruok", timeout_s).strip() == "imok"
        fields = parse_srvr(four_letter(host, port, "srvr", timeout_s))
    except OSError as e:
        reachable = not isinstance(e, ConnectionRefusedError)
        return Probe(reachable, False, None, None, f"{type(e).__name__}: {e}")
    mode = fields.get("Mode") or None
    return Probe(True, ok, mode, fields.get("Zxid"))


@dataclass(frozen=True, slots=True)
class ReadyResult:
    ready: dict[str, Probe]
    dead: str | None = None  # the member whose process died during the wait
    timed_out: tuple[str, ...] = ()
    last: dict[str, Probe | None] | None = None


def wait_ready(
    targets: Sequence[tuple[str, str, int]],
    is_alive: Callable[[str], bool],
    wait_timeout_s: float,
    *,
    on_ready: Callable[[str, Probe], None] | None = None,
    interval_s: float = 0.1,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    probe_fn: Callable[[str, int, float], Probe] = probe,
) -> ReadyResult:
    """Poll every (name, host, client_port) until all are ready, one dies, or time runs out."""
    deadline = clock() + wait_timeout_s
    pending = {name: (host, port) for name, host, port in targets}
    ready: dict[str, Probe] = {}
    last: dict[str, Probe | None] = {name: None for name in pending}
    while True:
        for name, (host, port) in list(pending.items()):
            if not is_alive(name):
                return ReadyResult(ready, dead=name, last=last)
            p = probe_fn(host, port, min(1.0, max(0.05, deadline - clock())))
            last[name] = p
            if p.ready:
                ready[name] = p
                del pending[name]
                if on_ready is not None:
                    on_ready(name, p)
        if not pending:
            return ReadyResult(ready, last=last)
        if clock() >= deadline:
            return ReadyResult(ready, timed_out=tuple(pending), last=last)
        sleep(interval_s)
