"""SIGKILL a writer process at random moments; every acknowledged zxid must survive."""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zkpy.storage.recovery import recover

from .toy import Toy, cmd

ROOT = Path(__file__).resolve().parents[2]
KILLS = 20


def _run_until_killed(d: Path, strategy: str, rng: random.Random) -> tuple[int, int]:
    """(zxid at start, last acknowledged zxid)."""
    p = subprocess.Popen(
        [sys.executable, "-m", "tests.storage.crash_writer", str(d), strategy],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert p.stdout is not None
    start = acked = -1
    deadline = None
    buf = b""
    try:
        t_end = time.monotonic() + 30
        while time.monotonic() < t_end:
            r, _, _ = select.select([p.stdout], [], [], 0.5)
            if r:
                chunk = os.read(p.stdout.fileno(), 65536)
                if not chunk:
                    break
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    kind, val = line.split()
                    if kind == b"start":
                        start = acked = int(val)
                        deadline = time.monotonic() + rng.uniform(0.02, 0.4)
                    else:
                        acked = int(val)
            if deadline is not None and time.monotonic() >= deadline:
                break
        else:
            pytest.fail("writer did not start")
        assert deadline is not None, p.stderr.read().decode() if p.stderr else ""
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)  # the writer and any forked snapshot child
        except ProcessLookupError:
            pass
        p.wait(10)
    # acknowledgements already in the pipe were sent before the kill: count them too
    rest = buf + p.stdout.read()
    for line in rest.split(b"\n"):
        if line.startswith(b"durable "):
            acked = int(line.split()[1])
    return start, acked


@pytest.mark.parametrize("strategy", ["process", "thread", "inline"])
def test_sigkill_never_loses_acknowledged_writes(tmp_path: Path, strategy: str) -> None:
    rng = random.Random(1234)
    acked_max = 0
    for i in range(KILLS // 2):
        start, acked = _run_until_killed(tmp_path, strategy, rng)
        assert start >= acked_max, f"kill {i}: restarted at {start:#x}, acked {acked_max:#x}"
        acked_max = max(acked_max, acked)
    toy = Toy()
    seen: list[int] = []

    def apply(z: int, p: bytes) -> None:
        assert p == cmd(z)
        seen.append(z)
        toy.apply(z, p)

    res = recover(tmp_path, load_snapshot=toy.load, apply=apply, tree_digest=toy.digest)
    assert res.last_zxid >= acked_max
    ref = Toy()
    for z in range(1, res.last_zxid + 1):
        ref.apply(z, cmd(z))
    assert toy.digest() == ref.digest()
