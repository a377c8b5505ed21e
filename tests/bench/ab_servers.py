"""A/B of zkpy servers under zkload: alternate them, print writes/s and CPU per op.

Each SERVER is ``[PYTHON@]SRC``: the interpreter (default: this one) and the source tree
whose ``zkpy`` package it runs (``python -m zkpy server`` with SRC as working dir), e.g.
``.`` against a ``git worktree`` of another commit, or ``/usr/bin/python3@.`` against
``.`` to compare interpreters. SRC ``probe`` runs tests/bench/probe_server.py instead:
the least a Python server can do per write, the ceiling to read zkpy's figures against.
Every round starts each server fresh on a free port of 127.0.0.1, warms it up for 1 s,
measures ``--seconds`` and kills it (by PID). The machine's load drifts over minutes, so
only alternated rounds are comparable; the medians at the end are what to read.

    python -m tests.bench.ab_servers [--op set] [--rounds 5] [--seconds 5] SERVER SERVER...

Columns: ops/s, server CPU per op (the event-loop process, all threads), the fsync
helper's CPU per op, p99 latency. zkload comes from ../shared/bench (built if missing).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support.servers import ServerHandle, free_port

ROOT = Path(__file__).resolve().parents[2]
BENCH = Path(os.environ.get("BENCH_DIR", ROOT.parent / "shared" / "bench"))
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    ops_per_s: float
    cpu_us_per_op: float
    helper_us_per_op: float
    p99_us: int


def zkload() -> Path:
    exe = BENCH / "zkload"
    if not exe.exists():
        subprocess.run(["bash", str(BENCH / "build.sh")], check=True)
    return exe


def cpu_s(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def one_run(spec: str, op: str, seconds: int, conns: int, window: int) -> Run:
    python, _, src = spec.rpartition("@")
    port = free_port()
    data = Path(tempfile.mkdtemp(prefix="zkpy-ab-"))
    log_path = data.with_suffix(".log")
    log = open(log_path, "w")  # noqa: SIM115 - closed in finally
    module, cwd = ("tests.bench.probe_server", ROOT) if src == "probe" else ("zkpy", Path(src))
    cmd = [python or sys.executable, "-m", module] + ([] if src == "probe" else ["server"])
    srv = subprocess.Popen(
        cmd + ["--port", str(port), "--data-dir", str(data)],
        cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    ok = False
    try:
        ServerHandle("zkpy", "127.0.0.1", port, srv, data, log_path).wait_serving(30)
        base = [str(zkload()), "-s", f"127.0.0.1:{port}", "-c", str(conns), "-w", str(window),
                "-o", op]
        subprocess.run(base + ["-d", "1"], capture_output=True, check=True, timeout=60)
        helpers = children(srv.pid)
        c0, h0 = cpu_s(srv.pid), sum(cpu_s(p) for p in helpers)
        out = subprocess.run(base + ["-d", str(seconds), "--no-setup"], capture_output=True,
                             text=True, check=True, timeout=seconds + 60).stdout
        helpers = children(srv.pid) or helpers
        c1, h1 = cpu_s(srv.pid), sum(cpu_s(p) for p in helpers)
        r = json.loads(out.strip().splitlines()[-1])
        ops = max(1, int(r["ops"]))
        ok = True
        return Run(float(r["ops_per_s"]), (c1 - c0) * 1e6 / ops, (h1 - h0) * 1e6 / ops,
                   int(r["lat_us"]["p99"]))
    finally:
        with contextlib.suppress(ProcessLookupError):  # it may have exited by itself
            os.killpg(srv.pid, signal.SIGKILL)
        srv.wait()
        log.close()
        shutil.rmtree(data, ignore_errors=True)
        if ok:  # a failed run keeps its log
            log_path.unlink(missing_ok=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("servers", nargs="+", metavar="SERVER", help="[PYTHON@]SRC")
    ap.add_argument("--op", default="set", help="zkload -o (default set)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--window", type=int, default=32)
    a = ap.parse_args()
    runs: dict[str, list[Run]] = {s: [] for s in a.servers}
    width = max(len(s) for s in a.servers)
    for i in range(a.rounds):
        for s in a.servers:
            r = one_run(s, a.op, a.seconds, a.conns, a.window)
            runs[s].append(r)
            print(f"round {i + 1}  {s:{width}}  {r.ops_per_s:9.0f} ops/s  "
                  f"{r.cpu_us_per_op:5.1f} us/op  helper {r.helper_us_per_op:4.1f} us/op  "
                  f"p99 {r.p99_us} us", flush=True)
    for s, rs in runs.items():
        print(f"median     {s:{width}}  {statistics.median(r.ops_per_s for r in rs):9.0f} ops/s  "
              f"{statistics.median(r.cpu_us_per_op for r in rs):5.1f} us/op  "
              f"helper {statistics.median(r.helper_us_per_op for r in rs):4.1f} us/op")


if __name__ == "__main__":
    main()
