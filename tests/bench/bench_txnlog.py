"""Group commit strategies compared: fdatasync inline on the loop, on a dedicated thread, or
in the fsync helper process (the default).

Workload: `--writers` closed-loop writers (append one record of `--payload` bytes, wait
until durable, repeat) plus a read probe: a timer due every `--probe-ms` whose lateness is
the time a read arriving then would have waited for the loop (reads are answered
synchronously on the loop, so loop lag IS read latency). fdatasync on, real files.

    python -m tests.bench.bench_txnlog --seconds 5 [--dir DIR] [--uvloop]
    python -m tests.bench.bench_txnlog --snapshot-nodes 500000   # forked vs blocking snapshot
    python -m tests.bench.bench_txnlog --restart   # replay 1M txns, decode 500k znodes
    python -m tests.bench.bench_txnlog --restart-state   # the same through zkpy.state
    pytest -m bench tests/bench/bench_txnlog.py -s
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from tests.support.fsync_helper import helper_ready
from zkpy.storage.committer import make_committer
from zkpy.storage.recovery import recover
from zkpy.storage.snapformat import SnapNode, SnapshotImage
from zkpy.storage.snapshot import SnapshotTaker, read_snapshot, write_snapshot
from zkpy.storage.txnlog import TxnLog


def _pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


async def _run(strategy: str, d: Path, seconds: float, writers: int, size: int, probe_ms: float) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    log = TxnLog(d, 0)
    c = make_committer(log, loop, strategy)
    await helper_ready(c)  # measure the helper, not its start-up
    payload = b"x" * size
    state = {"zxid": 0, "scheduled": False, "stop": False}
    write_lat: list[float] = []
    probe_lag: list[float] = []
    done = 0

    def flush() -> None:
        state["scheduled"] = False
        c.commit()

    async def writer() -> None:
        nonlocal done
        while not state["stop"]:
            state["zxid"] += 1
            t0 = time.perf_counter()
            c.append(state["zxid"], payload)
            if not state["scheduled"]:
                state["scheduled"] = True
                loop.call_soon(flush)
            # the commit issued this turn covers us: wait on the next commit() result
            fut = loop.create_future()
            waiters.append(fut)
            await fut
            write_lat.append(time.perf_counter() - t0)
            done += 1

    waiters: list[asyncio.Future[None]] = []
    orig_commit = c.commit

    def commit_and_release() -> asyncio.Future[int]:
        mine = waiters[:]
        waiters.clear()
        f = orig_commit()

        def release(_: asyncio.Future[int]) -> None:
            for w in mine:
                if not w.done():
                    w.set_result(None)

        f.add_done_callback(release)
        return f

    c.commit = commit_and_release  # type: ignore[method-assign]

    # read probe: a client thread sends one byte over a socketpair every probe_ms and
    # times the echo, which the loop sends from a reader callback (a "read request")
    srv, cli = socket.socketpair()
    srv.setblocking(False)

    def on_read() -> None:
        try:
            data = srv.recv(64)
        except BlockingIOError:
            return
        srv.send(data)

    loop.add_reader(srv.fileno(), on_read)

    def client() -> None:
        while not state["stop"]:
            t0 = time.perf_counter()
            cli.send(b"r")
            cli.recv(1)
            probe_lag.append(time.perf_counter() - t0)
            time.sleep(probe_ms / 1000)

    prober = threading.Thread(target=client, daemon=True)

    t_start = time.perf_counter()
    tasks = [asyncio.ensure_future(writer()) for _ in range(writers)]
    prober.start()
    await asyncio.sleep(seconds)
    state["stop"] = True
    elapsed = time.perf_counter() - t_start
    await asyncio.gather(*tasks)
    await asyncio.to_thread(prober.join)
    loop.remove_reader(srv.fileno())
    srv.close()
    cli.close()
    await c.aclose()
    return {
        "writes_per_s": done / elapsed,
        "batches_per_s": c.batches / elapsed,
        "avg_batch": done / max(1, c.batches),
        "write_p50_ms": _pct(write_lat, 0.5) * 1e3,
        "write_p99_ms": _pct(write_lat, 0.99) * 1e3,
        "read_lag_p50_ms": _pct(probe_lag, 0.5) * 1e3,
        "read_lag_p99_ms": _pct(probe_lag, 0.99) * 1e3,
        "read_lag_max_ms": max(probe_lag) * 1e3 if probe_lag else float("nan"),
        "probes": float(len(probe_lag)),
    }


def run(seconds: float, writers: int, size: int, probe_ms: float, base: str | None, use_uvloop: bool) -> list[tuple[str, dict[str, float]]]:
    if use_uvloop:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    out = []
    for strategy in ("inline", "thread", "process"):
        d = Path(tempfile.mkdtemp(prefix="zkpy-bench-", dir=base))
        try:
            out.append((strategy, asyncio.run(_run(strategy, d, seconds, writers, size, probe_ms))))
        finally:
            shutil.rmtree(d, ignore_errors=True)
    return out


def report(results: list[tuple[str, dict[str, float]]], writers: int) -> str:
    lines = [
        f"writers={writers}",
        "strategy  writes/s  fsyncs/s  avg batch  write p50/p99 ms  read rtt p50/p99/max ms",
    ]
    for name, r in results:
        lines.append(
            f"{name:8} {r['writes_per_s']:9.0f} {r['batches_per_s']:9.0f} {r['avg_batch']:10.1f}"
            f"   {r['write_p50_ms']:6.2f} / {r['write_p99_ms']:6.2f}"
            f"     {r['read_lag_p50_ms']:5.2f} / {r['read_lag_p99_ms']:5.2f} / {r['read_lag_max_ms']:5.2f}"
        )
    return "\n".join(lines)


class _Node:
    __slots__ = ("data", "acl", "stat", "children")

    def __init__(self, data: bytes, acl: tuple[tuple[int, str, str], ...], stat: tuple[int, ...]) -> None:
        self.data = data
        self.acl = acl
        self.stat = stat
        self.children: set[str] = set()


def _tree(n_nodes: int) -> dict[str, _Node]:
    acl = ((31, "world", "anyone"),)
    tree = {"/": _Node(b"", acl, (0,) * 9)}
    fanout = 1000
    for i in range(n_nodes - 1):
        parent = "/" if i < fanout else f"/n{i // fanout - 1}"
        path = f"/n{i}" if i < fanout else f"{parent}/c{i}"
        tree[path] = _Node(b"v" * 100, acl, (i, i, 1700000000000, 1700000000000, 1, 0, 0, 0, i))
        tree[parent].children.add(path.rsplit("/", 1)[1])
    return tree


def _image(tree: dict[str, _Node], zxid: int) -> SnapshotImage:
    def nodes():  # type: ignore[no-untyped-def]
        stack = ["/"]
        while stack:
            path = stack.pop()
            n = tree[path]
            yield SnapNode(path, n.data, n.acl, *n.stat)
            base = "" if path == "/" else path
            stack.extend(f"{base}/{c}" for c in sorted(n.children, reverse=True))

    return SnapshotImage(zxid, nodes(), [], None)


async def _snap_run(mode: str, d: Path, tree: dict[str, _Node], probe_ms: float) -> dict[str, float]:
    """Read RTT while a snapshot of `tree` is taken: forked child vs blocking the loop."""
    loop = asyncio.get_running_loop()
    srv, cli = socket.socketpair()
    srv.setblocking(False)
    rtts: list[float] = []
    stop = threading.Event()

    def on_read() -> None:
        try:
            srv.send(srv.recv(64))
        except BlockingIOError:
            pass

    loop.add_reader(srv.fileno(), on_read)

    def client() -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            cli.send(b"r")
            cli.recv(1)
            rtts.append(time.perf_counter() - t0)
            time.sleep(probe_ms / 1000)

    th = threading.Thread(target=client, daemon=True)
    th.start()
    await asyncio.sleep(0.3)
    t0 = time.perf_counter()
    fork_ms = 0.0
    if mode == "fork":
        taker = SnapshotTaker(d, loop)
        fut = taker.start(1, lambda: _image(tree, 1))
        fork_ms = taker.last_fork_ms
        assert fut is not None
        # the parent keeps changing its tree meanwhile (copy-on-write faults)
        while not fut.done():
            for i in range(200):
                tree[f"/n{i}"].stat = (i + 1,) * 9
            await asyncio.sleep(0.001)
        await fut
    else:
        write_snapshot(d, _image(tree, 1))
    total_ms = (time.perf_counter() - t0) * 1e3
    await asyncio.sleep(0.2)
    stop.set()
    await asyncio.to_thread(th.join)
    loop.remove_reader(srv.fileno())
    srv.close()
    cli.close()
    return {
        "fork_ms": fork_ms,
        "total_ms": total_ms,
        "rtt_p50_ms": _pct(rtts, 0.5) * 1e3,
        "rtt_p99_ms": _pct(rtts, 0.99) * 1e3,
        "rtt_max_ms": max(rtts) * 1e3,
    }


def snapshot_bench(n_nodes: int, base: str | None) -> str:
    t0 = time.perf_counter()
    tree = _tree(n_nodes)
    lines = [f"snapshot of {n_nodes} znodes (tree built in {time.perf_counter() - t0:.1f} s)",
             "mode      fork() ms  snapshot ms  read rtt p50/p99/max ms"]
    for mode in ("fork", "blocking"):
        d = Path(tempfile.mkdtemp(prefix="zkpy-snapbench-", dir=base))
        try:
            r = asyncio.run(_snap_run(mode, d, tree, 1.0))
        finally:
            shutil.rmtree(d, ignore_errors=True)
        lines.append(
            f"{mode:9} {r['fork_ms']:9.1f} {r['total_ms']:12.0f}    "
            f"{r['rtt_p50_ms']:.2f} / {r['rtt_p99_ms']:.2f} / {r['rtt_max_ms']:.1f}"
        )
    return "\n".join(lines)


def restart_bench(n_txns: int, n_nodes: int, base: str | None) -> str:
    """Storage's share of restart time: replaying n_txns log records (no-op apply) and
    decoding a snapshot of n_nodes znodes (the state machine's apply/load come on top)."""
    d = Path(tempfile.mkdtemp(prefix="zkpy-restartbench-", dir=base))
    lines = []
    try:
        log = TxnLog(d, 0)
        payload = b"p" * 100
        for z in range(1, n_txns + 1):
            log.append(z, payload)
            if z % 1000 == 0:
                log.flush_and_sync()
        log.flush_and_sync()
        log.close()
        write_snapshot(d, SnapshotImage(0, [SnapNode("/", b"", ((31, "world", "anyone"),), *(0,) * 9)]))
        t0 = time.perf_counter()
        res = recover(d, load_snapshot=lambda _: None, apply=lambda z, p: None, repair=False)
        lines.append(f"replay {res.records_replayed} txns of 100 bytes from the log: "
                     f"{time.perf_counter() - t0:.2f} s")
        tree = _tree(n_nodes)
        snap = write_snapshot(d, _image(tree, n_txns))
        del tree
        t0 = time.perf_counter()
        img = read_snapshot(snap)
        lines.append(f"decode snapshot of {len(list(img.nodes))} znodes "
                     f"({snap.stat().st_size / 1e6:.0f} MB): {time.perf_counter() - t0:.2f} s")
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return "\n".join(lines)


def restart_state_bench(n_txns: int, n_nodes: int, base: str | None) -> str:
    """Full restart with zkpy.state: replay n_txns Commands (creates, then setData) from
    the log into a StateMachine, and load a snapshot of n_nodes znodes."""
    from zkpy.proto import records as r
    from zkpy.proto.opcodes import OpCode
    from zkpy.state.types import Conn
    from zkpy.storage.stateimage import StateLoader, snapshot_image

    d = Path(tempfile.mkdtemp(prefix="zkpy-restartstate-", dir=base))
    lines = []
    try:
        loader = StateLoader()
        sm = loader.sm
        write_snapshot(d, snapshot_image(sm))
        log = TxnLog(d, 0)
        now = 1_700_000_000_000
        c0 = sm.create_session_command(30_000, now)
        log.append(c0.zxid, c0.to_bytes())
        conn = Conn(session_id=sm.apply(c0).new_session[0])  # type: ignore[index]
        acl = [r.ACL(31, r.Id("world", "anyone"))]
        fanout = 1000
        t0 = time.perf_counter()
        for i in range(1, n_txns):
            if i <= n_nodes:
                path = f"/p{i}" if i <= fanout else f"/p{(i - 1) // fanout}/c{i}"
                cmd = sm.command(conn, OpCode.CREATE, r.CreateRequest(path, b"v" * 100, acl, 0), i, now + i)
            else:
                j = (i % n_nodes) + 1
                path = f"/p{j}" if j <= fanout else f"/p{(j - 1) // fanout}/c{j}"
                cmd = sm.command(conn, OpCode.SET_DATA, r.SetDataRequest(path, b"w" * 100, -1), i, now + i)
            log.append(cmd.zxid, cmd.to_bytes())
            sm.apply(cmd)
            if i % 1000 == 0:
                log.flush_and_sync()
        log.flush_and_sync()
        log.close()
        live = sm.digest()
        lines.append(f"generated {n_txns} txns in {time.perf_counter() - t0:.1f} s ({sm.node_count()} znodes)")
        fresh = StateLoader()
        t0 = time.perf_counter()
        res = recover(d, load_snapshot=fresh.load, apply=fresh.apply, repair=False)
        dt = time.perf_counter() - t0
        assert fresh.sm.digest() == live
        lines.append(f"restart: replay {res.records_replayed} txns into the state machine: {dt:.1f} s")
        t0 = time.perf_counter()
        snap = write_snapshot(d, snapshot_image(sm))
        lines.append(f"snapshot of {sm.node_count()} znodes written in {time.perf_counter() - t0:.1f} s "
                     f"({snap.stat().st_size / 1e6:.0f} MB)")
        fresh = StateLoader()
        t0 = time.perf_counter()
        res = recover(d, load_snapshot=fresh.load, apply=fresh.apply, repair=False)
        dt = time.perf_counter() - t0
        lines.append(f"restart: load that snapshot (+{res.records_replayed} txns): {dt:.1f} s")
        t0 = time.perf_counter()
        ok = fresh.sm.digest() == live
        lines.append(f"  digest equal to the live tree: {ok} (computing it: {time.perf_counter() - t0:.1f} s)")
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return "\n".join(lines)


@pytest.mark.bench
def test_bench_snapshot() -> None:
    print("\n" + snapshot_bench(200_000, None))


@pytest.mark.bench
def test_bench_txnlog() -> None:
    for w in (1, 256):
        print("\n" + report(run(3.0, w, 100, 1.0, None, False), w))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--writers", type=int, nargs="+", default=[1, 256])
    ap.add_argument("--payload", type=int, default=100)
    ap.add_argument("--probe-ms", type=float, default=1.0)
    ap.add_argument("--dir", default=None, help="parent dir for the log (default: $TMPDIR)")
    ap.add_argument("--uvloop", action="store_true")
    ap.add_argument("--switch-interval-ms", type=float, default=0.0,
                    help="sys.setswitchinterval (GIL hand-over to the fsync thread); 0: default 5 ms")
    ap.add_argument("--snapshot-nodes", type=int, default=0,
                    help="instead: measure a forked vs blocking snapshot of N znodes")
    ap.add_argument("--restart", action="store_true",
                    help="instead: time replaying 1,000,000 txns and decoding 500,000 znodes")
    ap.add_argument("--restart-state", action="store_true",
                    help="instead: the same with zkpy.state (1M Commands replayed, 500k-znode snapshot)")
    a = ap.parse_args()
    if a.switch_interval_ms:
        sys.setswitchinterval(a.switch_interval_ms / 1000)
    if a.snapshot_nodes:
        print(snapshot_bench(a.snapshot_nodes, a.dir))
        return
    if a.restart:
        print(restart_bench(1_000_000, 500_000, a.dir))
        return
    if a.restart_state:
        print(restart_state_bench(1_000_000, 500_000, a.dir))
        return
    for w in a.writers:
        print(report(run(a.seconds, w, a.payload, a.probe_ms, a.dir, a.uvloop), w))


if __name__ == "__main__":
    main()
