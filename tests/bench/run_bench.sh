#!/usr/bin/env bash
# zkpy vs Apache ZooKeeper 3.8, standalone, side by side in one run, with the
# neutral harness in ../shared/bench (zkload + suite.sh/measure.sh + report.py).
# Not part of the test run: call it by hand (or from a perf job).
#
#   bash tests/bench/run_bench.sh [-r REPEATS] [-d SECONDS] [-W WARMUP] [-o OUT_DIR] [-J|-Z]
#
#   -r  passes over the scenario list per server (default 1), alternating servers
#   -d  measured seconds per scenario (default 10)   -W  warmup seconds (default 2)
#   -o  where results.jsonl, report.md and logs go (default: a new /tmp/zkpy-bench.XXXX)
#   -J  Apache ZooKeeper only      -Z  zkpy only
#
# Scenarios (suite.sh): idle RSS, read 8x32, write 8x32, mixed 8x32 (90/10),
# read 1x1, write 1x1 (100-byte data), first-op x20. Both servers are started first
# and stay up; each pass runs the list on one, then the other (Apache first in odd
# passes, zkpy first in even ones), so only one is under load at a time and drift in
# the machine's load falls on both. Both with fsync on.
# Apache is started by bench/zk-java.sh (its neutral JVM settings, client port
# 21811); zkpy by `python -m zkpy server --port P --data-dir D` on a free port.
# If zkpy does not serve within 30 s it is reported as not measured and the
# Apache figures are still printed. Every process started here is stopped by PID.
# Env: BENCH_DIR (default ../shared/bench from the repo root), QUIET_MAX_WAIT,
# QUIET_THRESHOLD (see bench/README.md), PYTHON (default python3).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH=${BENCH_DIR:-$ROOT/../shared/bench}
PY=${PYTHON:-python3}
REPEATS=1 DUR=10 WARM=2 OUT= DO_JAVA=1 DO_ZKPY=1
while getopts "r:d:W:o:JZh" o; do
  case $o in
    r) REPEATS=$OPTARG ;; d) DUR=$OPTARG ;; W) WARM=$OPTARG ;; o) OUT=$OPTARG ;;
    J) DO_ZKPY=0 ;; Z) DO_JAVA=0 ;; *) sed -n '2,22p' "$0"; exit 2 ;;
  esac
done
[ -d "$BENCH" ] || { echo "bench harness not found at $BENCH (set BENCH_DIR)" >&2; exit 2; }
BENCH=$(cd "$BENCH" && pwd)
OUT=${OUT:-$(mktemp -d /tmp/zkpy-bench.XXXXXX)}
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: >"$RESULTS"
export BENCH_DIR=$BENCH

JAVA_DIR= ZKPY_PID=
cleanup() {
  set +e
  if [ -n "$JAVA_DIR" ] && [ -e "$JAVA_DIR/nmembers" ]; then "$BENCH/zk-java.sh" stop "$JAVA_DIR" >/dev/null; fi
  if [ -n "$ZKPY_PID" ] && kill -0 "$ZKPY_PID" 2>/dev/null; then
    kill -TERM "$ZKPY_PID"
    for _ in $(seq 100); do kill -0 "$ZKPY_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$ZKPY_PID" 2>/dev/null && kill -KILL "$ZKPY_PID"
  fi
  ZKPY_PID=
}
trap cleanup EXIT

echo "== building zkload"
bash "$BENCH/build.sh"

# ----------------------------------------------------------------- both servers
# Both are started first and stay up (idle while the other is measured: the JVM keeps
# its JIT-compiled code across passes, as it did when all its passes ran back to back).
ZKPY_STATUS="not run (-J)"
if [ "$DO_JAVA" = 1 ]; then
  JAVA_DIR=$OUT/apache-zk
  mkdir -p "$JAVA_DIR"
  echo "== Apache ZooKeeper 3.8 standalone"
  "$BENCH/zk-java.sh" start standalone "$JAVA_DIR" | tee "$OUT/apache-start.log"
  JAVA_SERVERS=$("$BENCH/zk-java.sh" servers "$JAVA_DIR")
fi
if [ "$DO_ZKPY" = 1 ]; then
  ZKPY_PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  ZKPY_DATA=$OUT/zkpy-data
  mkdir -p "$ZKPY_DATA"
  echo "== zkpy standalone on 127.0.0.1:$ZKPY_PORT"
  (cd "$ROOT" && exec setsid "$PY" -m zkpy server --port "$ZKPY_PORT" --data-dir "$ZKPY_DATA" \
      >"$OUT/zkpy.log" 2>&1 </dev/null) &
  ZKPY_PID=$!
  . "$BENCH/lib.sh"
  if wait_serving "127.0.0.1:$ZKPY_PORT" 30; then
    ZKPY_STATUS=measured
  else
    ZKPY_STATUS="not measured: zkpy did not serve within 30 s (log: $OUT/zkpy.log)"
    tail -5 "$OUT/zkpy.log" >&2 || true
  fi
fi

pass_java() {
  [ "$DO_JAVA" = 1 ] || return 0
  bash "$BENCH/suite.sh" -s "$JAVA_SERVERS" -n java/standalone -o "$RESULTS" -r 1 -d "$DUR" -W "$WARM"
}
pass_zkpy() {
  [ "$ZKPY_STATUS" = measured ] || return 0
  bash "$BENCH/suite.sh" -s "127.0.0.1:$ZKPY_PORT" -n zkpy/standalone -o "$RESULTS" -r 1 \
    -d "$DUR" -W "$WARM"
}
# Passes alternate between the servers (A Z, Z A, A Z, ...): the machine's load drifts
# over minutes, and alternating spreads that drift over both instead of one.
for ((pass = 1; pass <= REPEATS; pass++)); do
  echo "== pass $pass of $REPEATS"
  if ((pass % 2)); then pass_java; pass_zkpy; else pass_zkpy; pass_java; fi
done
cleanup

# ------------------------------------------------------------------------- report
{
  echo "# zkpy vs Apache ZooKeeper 3.8 (standalone, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "zkpy: $ZKPY_STATUS"
  echo
  "$PY" "$BENCH/report.py" "$RESULTS"
  echo "## Ratios (zkpy / Apache ZooKeeper; medians over the passes)"
  echo
  "$PY" - "$RESULTS" <<'PYEOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None
by = {}
for r in rows:
    if r.get("mode") == "load":
        server, scen = r["label"].split("/standalone/")
        by.setdefault(scen, {}).setdefault(server, []).append(r)
def fmt(x, nd=0):
    return "-" if x is None else f"{x:.{nd}f}"
def ratio(a, b):
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}x"
print("| scenario | Apache ops/s | zkpy ops/s | throughput ratio | per-pass ratios | Apache p99 us | zkpy p99 us | p99 ratio |")
print("|---|---:|---:|---:|---|---:|---:|---:|")
for scen in ["read-8x32", "read-1x1", "write-8x32", "write-1x1", "mixed-8x32"]:
    d = by.get(scen, {})
    jo = med([r["ops_per_s"] for r in d.get("java", [])])
    zo = med([r["ops_per_s"] for r in d.get("zkpy", [])])
    jp = med([r["lat_us"]["p99"] for r in d.get("java", [])])
    zp = med([r["lat_us"]["p99"] for r in d.get("zkpy", [])])
    # Pass i of one server against pass i of the other (they ran minutes apart at most).
    passes = " ".join(ratio(z["ops_per_s"], j["ops_per_s"])
                      for j, z in zip(d.get("java", []), d.get("zkpy", [])))
    print(f"| {scen} | {fmt(jo)} | {fmt(zo)} | {ratio(zo, jo)} | {passes or '-'} | {fmt(jp)} | {fmt(zp)} "
          f"| {ratio(zp, jp)} |")
rss = {}  # each server's first reading: idle, before any load
for r in rows:
    if r.get("mode") == "rss" and r["rss_kb"]:
        rss.setdefault(r["label"].split("/")[0], r["rss_kb"][0])
j, z = rss.get("java"), rss.get("zkpy")
print(f"| idle RSS MB | {fmt(j / 1024 if j else None)} | {fmt(z / 1024 if z else None)} | {ratio(z, j)} | | | | |")
PYEOF
} | tee "$OUT/report.md"
echo
echo "results: $RESULTS   report: $OUT/report.md"
