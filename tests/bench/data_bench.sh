#!/usr/bin/env bash
# Data-size figures, zkpy vs Apache ZooKeeper 3.8, standalone, side by side in one run,
# with the neutral harness in ../shared/bench (zkload, zk-java.sh, startup.sh, lib.sh).
# Not part of the test run: call it by hand (or from a perf job).
#
#   bash tests/bench/data_bench.sh [-o OUT_DIR] [-J|-Z] [-t TXNS] [-n ZNODES] [-m MEMNODES]
#
#   -o  where results.jsonl, report.md and logs go (default: a new /tmp/zkpy-data-bench.XXXX)
#   -J  Apache ZooKeeper only      -Z  zkpy only
#   -t  txns in the log for restart_txns (default 1000000)
#   -n  znodes for restart_tree (default 500000)   -m  znodes for memory (default 100000)
#
# Scenarios (100-byte data everywhere, fsync on), each on a fresh server:
#   memory        RSS idle, then after creating MEMNODES znodes (zkload setup); for
#                 Apache also heap used after a full GC (jcmd), as RSS is not heap in use
#   restart_txns  snapCount=3000000 (no snapshot during the load), setData 8x32 until the
#                 srvr zxid >= TXNS, kill -9, launch -> first client op (startup.sh)
#   restart_tree  default snapCount, create ZNODES znodes, kill -9, launch -> first op
# Apache runs first, then zkpy, never both at once: Apache via bench/zk-java.sh (client
# port 21811), zkpy via `python -m zkpy server --config zoo.cfg` on a free port. Every
# process started here is stopped by its recorded PID. Env: BENCH_DIR (default
# ../shared/bench from the repo root), PYTHON (default python3), LOAD_MAX_S (bound of the
# txn-load loop, default 600), RESTART_MAX_S (default 600), QUIET_MAX_WAIT, QUIET_THRESHOLD.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SRC_BENCH=${BENCH_DIR:-$ROOT/../shared/bench}
PY=${PYTHON:-python3}
OUT= DO_JAVA=1 DO_ZKPY=1 TXNS=1000000 ZNODES=500000 MEMNODES=100000
while getopts "o:JZt:n:m:h" o; do
  case $o in
    o) OUT=$OPTARG ;; J) DO_ZKPY=0 ;; Z) DO_JAVA=0 ;;
    t) TXNS=$OPTARG ;; n) ZNODES=$OPTARG ;; m) MEMNODES=$OPTARG ;;
    *) sed -n '2,23p' "$0"; exit 2 ;;
  esac
done
[ -d "$SRC_BENCH" ] || { echo "bench harness not found at $SRC_BENCH (set BENCH_DIR)" >&2; exit 2; }
OUT=${OUT:-$(mktemp -d /tmp/zkpy-data-bench.XXXXXX)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RESULTS=$OUT/results.jsonl
: >"$RESULTS"

# build.sh writes zkload next to its sources. The shared harness may be read-only (CI),
# and as root a writability test proves nothing; so always build in a private copy.
BENCH=$OUT/bench
mkdir -p "$BENCH"
cp "$SRC_BENCH"/*.sh "$SRC_BENCH"/*.c "$SRC_BENCH"/*.py "$BENCH"/
export BENCH_DIR=$BENCH
. "$BENCH/lib.sh"
STEP=build T_START=$(now_ms)
step() { STEP=$*; echo "== $*"; }

# ------------------------------------------------------------------ server control
ZKPY_PORT= ZKPY_HP=
hp_of() { if [ "$1" = apache ]; then echo 127.0.0.1:21811; else echo "$ZKPY_HP"; fi; }
log_of() { if [ "$1" = apache ]; then echo "$2/m1/zookeeper.log"; else echo "$2/zkpy.log"; fi; }
data_of() { if [ "$1" = apache ]; then echo "$2/m1/data"; else echo "$2/data"; fi; }

# zkpy start command (for startup.sh too): launch in the background, record pid, return.
cat >"$OUT/zkpy-start.sh" <<EOF
#!/usr/bin/env bash
# zkpy-start.sh DIR: start zkpy on DIR/zoo.cfg in the background, pid -> DIR/pid, return.
set -eu
cd "$ROOT"
setsid "$PY" -m zkpy server --config "\$1/zoo.cfg" >>"\$1/zkpy.log" 2>&1 </dev/null &
echo \$! >"\$1/pid"
EOF

zkpy_pid() {   # DIR -> pid if alive and still the zkpy we launched on DIR/zoo.cfg
  local p
  p=$(cat "$1/pid" 2>/dev/null) && tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -qF "$1/zoo.cfg" && echo "$p"
}
wait_gone() {  # PID -> returns once it has exited (at most 10 s)
  local i
  for i in $(seq 100); do [ -d "/proc/$1" ] || return 0; sleep 0.1; done
  return 1
}
stop_zkpy() {  # DIR [SIG]: SIG (default TERM), SIGKILL after 10 s
  local p
  p=$(zkpy_pid "$1") || return 0
  kill "-${2:-TERM}" "$p"
  wait_gone "$p" || { kill -KILL "$p"; wait_gone "$p"; }
}

fresh_server() {   # SERVER DIR [SNAPCOUNT]: start on an empty data dir, wait until serving
  local s=$1 dir=$2 snap=${3:-}
  mkdir -p "$dir"
  if [ "$s" = apache ]; then
    "$BENCH/zk-java.sh" start standalone "$dir" >"$dir/start.log"
    if [ -n "$snap" ]; then
      # zk-java.sh has no snapCount option: stop, edit its zoo.cfg, empty the data, restart
      "$BENCH/zk-java.sh" stop "$dir" >/dev/null
      echo "snapCount=$snap" >>"$dir/m1/zoo.cfg"
      rm -rf "$dir/m1/data/version-2"
      "$BENCH/zk-java.sh" start-member "$dir" 1 >>"$dir/start.log"
    fi
  else
    mkdir -p "$dir/data"
    printf '%s\n' tickTime=2000 "dataDir=$dir/data" "clientPort=$ZKPY_PORT" \
      clientPortAddress=127.0.0.1 maxClientCnxns=0 admin.enableServer=false \
      '4lw.commands.whitelist=*' ${snap:+"snapCount=$snap"} >"$dir/zoo.cfg"
    bash "$OUT/zkpy-start.sh" "$dir"
    wait_serving "$ZKPY_HP" 60 || die "zkpy did not serve within 60 s (log: $dir/zkpy.log)"
  fi
}

stop_server() {
  if [ "$1" = apache ]; then "$BENCH/zk-java.sh" stop "$2" >/dev/null; else stop_zkpy "$2"; fi
}
kill9_server() {   # SERVER DIR: kill -9 and wait until the process is gone
  local p
  p=$(pids_of_servers "$(hp_of "$1")")
  [ "$p" != - ] || die "$1: no server listening before kill -9"
  if [ "$1" = apache ]; then "$BENCH/zk-java.sh" kill9 "$2" 1 >/dev/null; else stop_zkpy "$2" KILL; fi
  wait_gone "$p" || die "$1: pid $p still alive 10 s after kill -9"
}

cleanup() {   # every server this run may have started, by the pids recorded in OUT
  set +e
  local d
  for d in "$OUT"/apache-*/; do [ -e "$d/nmembers" ] && "$BENCH/zk-java.sh" stop "$d" >/dev/null 2>&1; done
  for d in "$OUT"/zkpy-*/; do [ -d "$d" ] && stop_zkpy "${d%/}"; done
}

# ------------------------------------------------------------------ measurements
emit() {   # SERVER SCENARIO KEY VALUE ... -> one JSON line (values parsed as JSON if they are)
  "$PY" - "$@" >>"$RESULTS" <<'EOF'
import json, sys
def val(v):
    try: return json.loads(v)
    except ValueError: return v
a = sys.argv[1:]
print(json.dumps({"bench": "data_bench", "server": a[0], "scenario": a[1], **{k: val(v) for k, v in zip(a[2::2], a[3::2])}}))
EOF
}

# create N znodes of 100 bytes with zkload's setup, in prefixes /zdata0.. of at most
# 100000 keys each: zkload gives its setup 120 s, which a slower server could exceed at 500k.
create_znodes() {   # HP N
  local hp=$1 n=$2 i=0 k
  while [ "$n" -gt 0 ]; do
    k=$(( n < 100000 ? n : 100000 ))
    timeout 300 "$ZKLOAD" -s "$hp" -p "/zdata$i" -k "$k" --children 0 -b 100 \
      -o get -c 1 -w 1 -d 1 -W 0 -l "setup/zdata$i" >>"$OUT/zkload.log" 2>&1 \
      || die "zkload setup of $k znodes under /zdata$i failed (see $OUT/zkload.log)"
    n=$((n - k)); i=$((i + 1))
  done
}

zxid_of() {   # HP -> counter part (low 32 bits) of the srvr Zxid, 0 if no answer
  local x
  x=$(zk4lw "$1" srvr | sed -n 's/^Zxid: *0x\([0-9a-fA-F]*\).*/\1/p' | tr -d '\r') || true
  echo $(( 0x${x:-0} & 0xffffffff ))
}

heap_after_gc_kb() {   # JVM PID -> heap used after a full GC (KB), "" without jcmd
  command -v jcmd >/dev/null || return 0
  timeout 60 jcmd "$1" GC.run >/dev/null 2>&1 || return 0
  # sum "used NK" of the heap lines (G1: one line; serial/parallel: one per generation)
  timeout 60 jcmd "$1" GC.heap_info 2>/dev/null | awk '!/Metaspace|class space/ {
      while (match($0, /used [0-9]+K/)) { s += substr($0, RSTART + 5, RLENGTH - 6); $0 = substr($0, RSTART + RLENGTH) } }
    END { if (s) print s }' || true
}

scen_memory() {   # SERVER
  local s=$1 dir=$OUT/$1-memory hp pid idle after hi= ha= t0
  step "$s: memory for $MEMNODES znodes of 100 B"
  fresh_server "$s" "$dir"
  hp=$(hp_of "$s"); pid=$(pids_of_servers "$hp")
  sleep 2   # let start-up work (JIT, first snapshot) settle before the idle figure
  idle=$(rss_kb "$pid")
  if [ "$s" = apache ]; then hi=$(heap_after_gc_kb "$pid"); fi
  t0=$(now_ms); create_znodes "$hp" "$MEMNODES"; t0=$(( $(now_ms) - t0 ))
  sleep 2
  after=$(rss_kb "$pid")
  if [ "$s" = apache ]; then ha=$(heap_after_gc_kb "$pid"); fi
  emit "$s" memory znodes "$MEMNODES" pid "$pid" rss_idle_kb "$idle" rss_after_kb "$after" \
    rss_delta_kb $((after - idle)) heap_used_idle_kb "${hi:-null}" heap_used_after_kb "${ha:-null}" \
    create_ms "$t0"
  echo "   RSS ${idle} KB -> ${after} KB${ha:+ (heap after GC ${hi:-?} KB -> $ha KB)}; create took ${t0} ms"
  stop_server "$s" "$dir"
}

measure_restart() {   # SERVER DIR SCENARIO KEY VALUE...: kill -9, time launch -> first op
  local s=$1 dir=$2 scen=$3 hp log nlog line ms rec cmd files
  shift 3
  hp=$(hp_of "$s"); log=$(log_of "$s" "$dir")
  kill9_server "$s" "$dir"
  files=$(ls "$(data_of "$s" "$dir")/version-2" | paste -sd ' ' -)   # a snapshot taken or not
  if [ "$s" = apache ]; then cmd=("$BENCH/zk-java.sh" start-member "$dir" 1); else cmd=(bash "$OUT/zkpy-start.sh" "$dir"); fi
  nlog=$(wc -l <"$log")
  line=$(bash "$BENCH/startup.sh" -s "$hp" -t "${RESTART_MAX_S:-600}" -l "$s/$scen" -- "${cmd[@]}" \
    2>>"$dir/startup.err") || echo "   warning: startup.sh failed (see $dir/startup.err)" >&2
  ms=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1] or "{}").get("launch_to_first_op_ms"))' "$line")
  # what the server says recovery did (only lines logged by this restart)
  rec=$(tail -n +$((nlog + 1)) "$log" | grep -E 'recovered|Snapshot loaded|txns loaded|Snapshot taken|Snapshotting' \
    | sed -E 's/^.* - //; s/^[0-9-]+ [0-9:,]+ +[A-Z]+ +\[[^]]*\] //' | head -5 | paste -sd '|' -) || true
  emit "$s" "$scen" "$@" launch_to_first_op_ms "${ms/None/null}" files_at_kill "$files" \
    recovery_log "$rec" startup "${line:-null}"
  echo "   restart: launch -> first op ${ms} ms; log: ${rec:-(nothing matched)}"
  stop_server "$s" "$dir"
}

scen_restart_txns() {   # SERVER
  local s=$1 dir=$OUT/$1-txns hp z z1 t0 d=1 chunk=0 setup=()
  step "$s: restart with $TXNS txns in the log (snapCount=3000000)"
  fresh_server "$s" "$dir" 3000000
  hp=$(hp_of "$s"); t0=$(now_ms); z=$(zxid_of "$hp")
  while [ "$z" -lt "$TXNS" ]; do
    if [ "$(now_ms)" -ge $(( t0 + ${LOAD_MAX_S:-600} * 1000 )) ]; then
      echo "   warning: zxid $z < $TXNS after ${LOAD_MAX_S:-600} s of load; restarting anyway" >&2; break
    fi
    # chunks of setData 100 B on 1000 keys (only the first runs zkload's setup), each as
    # long as the remaining txns take at the last chunk's rate, 1..3 s: small overshoot
    timeout 120 "$ZKLOAD" -s "$hp" -c 8 -w 32 -o set -b 100 -d "$d" -W 0 "${setup[@]}" \
      -l "txns/$chunk" >>"$OUT/zkload.log" 2>&1 || echo "   warning: a zkload chunk failed" >&2
    z1=$(zxid_of "$hp")
    d=$(( (TXNS - z1) * d / (z1 > z ? z1 - z : 1) )); d=$(( d < 1 ? 1 : d > 3 ? 3 : d ))
    z=$z1; setup=(--no-setup); chunk=$((chunk + 1))
  done
  echo "   zxid $z after $(( ($(now_ms) - t0) / 1000 )) s of load"
  measure_restart "$s" "$dir" restart_txns txns "$TXNS" zxid_before_kill "$z" load_s $(( ($(now_ms) - t0) / 1000 ))
}

scen_restart_tree() {   # SERVER
  local s=$1 dir=$OUT/$1-tree t0 z
  step "$s: restart with a $ZNODES-znode tree"
  fresh_server "$s" "$dir"
  t0=$(now_ms); create_znodes "$(hp_of "$s")" "$ZNODES"; z=$(zxid_of "$(hp_of "$s")")
  measure_restart "$s" "$dir" restart_tree znodes "$ZNODES" zxid_before_kill "$z" create_ms $(( $(now_ms) - t0 ))
}

report() {
  echo "# Data-size figures: zkpy vs Apache ZooKeeper 3.8 (standalone, fsync on, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  "$PY" - "$RESULTS" "$MEMNODES" "$TXNS" "$ZNODES" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
mem, txns, nodes = (int(x) for x in sys.argv[2:5])
R = {(r["server"], r["scenario"]): r for r in rows}
def get(s, scen, key, scale=1.0):
    v = R.get((s, scen), {}).get(key)
    return None if v is None else v / scale
def fmt(x):
    return "-" if x is None else f"{x:,.0f}" if abs(x) >= 100 else f"{x:.1f}"
print("| scenario | Apache ZooKeeper | zkpy | ratio (zkpy/Apache) |")
print("|---|---:|---:|---:|")
for label, scen, key, scale in [
    ("RSS idle (MB)", "memory", "rss_idle_kb", 1024),
    (f"RSS after {mem:,} znodes x 100 B (MB)", "memory", "rss_after_kb", 1024),
    (f"RSS delta for {mem:,} znodes (MB)", "memory", "rss_delta_kb", 1024),
    ("JVM heap used after full GC, idle (MB)", "memory", "heap_used_idle_kb", 1024),
    (f"JVM heap used after full GC, {mem:,} znodes (MB)", "memory", "heap_used_after_kb", 1024),
    (f"restart after {txns:,} txns in the log (ms, launch -> first op)", "restart_txns", "launch_to_first_op_ms", 1),
    ("  txns in the log at kill -9 (srvr zxid)", "restart_txns", "zxid_before_kill", 1),
    (f"restart with {nodes:,} znodes (ms, launch -> first op)", "restart_tree", "launch_to_first_op_ms", 1),
]:
    j, z = get("apache", scen, key, scale), get("zkpy", scen, key, scale)
    heap = key.startswith("heap")
    if heap and j is None:
        continue  # no jcmd, or Apache not run
    ratio = "-" if heap or j is None or z is None or j == 0 else f"{z / j:.2f}x"
    print(f"| {label} | {fmt(j)} | {'n/a' if heap else fmt(z)} | {ratio} |")
print()
print("RSS is the whole process; for the JVM it counts every heap page touched (garbage included),")
print("not live data: the heap rows are Apache's heap in use after `jcmd GC.run`. Restart = kill -9,")
print("then bench/startup.sh (launch -> first successful client op). What each server logged:")
print()
for r in rows:
    if r["scenario"].startswith("restart"):
        st = r.get("startup") or {}
        print(f"- {r['server']} {r['scenario']}: files at kill: {r.get('files_at_kill')}; other CPU before "
              f"launch {st.get('pre_other_cpu_pct')} %; log: {r.get('recovery_log') or '(nothing matched)'}")
PYEOF
}

on_exit() {   # stop what is still running; after a failure, report what was measured
  local rc=$?
  cleanup
  [ "$rc" = 0 ] || [ ! -s "$RESULTS" ] || { echo "run failed (exit $rc) during: $STEP -- partial report:" >&2; report; }
}
trap on_exit EXIT

step "building zkload in $BENCH"
bash "$BENCH/build.sh"

if [ "$DO_JAVA" = 1 ]; then
  for scen in scen_memory scen_restart_txns scen_restart_tree; do "$scen" apache; done
fi
if [ "$DO_ZKPY" = 1 ]; then
  ZKPY_PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  ZKPY_HP=127.0.0.1:$ZKPY_PORT
  for scen in scen_memory scen_restart_txns scen_restart_tree; do "$scen" zkpy; done
fi

STEP=report
report | tee "$OUT/report.md"
echo
echo "took $(( ($(now_ms) - T_START) / 1000 )) s; results: $RESULTS   report: $OUT/report.md"
