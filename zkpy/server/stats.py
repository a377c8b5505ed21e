"""Server and per-connection counters for srvr/stat/cons/mntr (ServerStats, ServerCnxn stats).

Rules:
- Hot-path updates are plain attribute increments or one short method call; no locks,
  no clock reads, nothing shared between connections. A read answered at once costs
  ``note_read``: three attribute writes and one increment (~100 ns here).
- Counts that every request touches (packets, zero-latency responses) live on the
  connections only; ServerStats derives its totals from its live connections plus an
  adjustment folded in when a connection closes or is reset; so do the timed
  responses' count and total. Only the latency minimum and maximum are updated on the
  server directly.
- Latencies are whole milliseconds, as ZooKeeper's (AvgMinMaxCounter / ServerCnxn). The
  runtime stores a coarse monotonic ``now_ms`` on ServerStats (once per loop turn) and
  measures write latency with it; ``lresp`` is stamped from it on timed responses.
"""

from __future__ import annotations

import time
from decimal import Decimal

from zkpy.proto.opcodes import OpCode

__all__ = ["ConnectionStats", "ServerStats", "OP_SHORT_NAMES", "op_short_name", "java_double"]

_LONG_MAX = (1 << 63) - 1
# ConnectionStats counters that ServerStats sums over its connections rather than count
# them itself (one of them moves with every request).
_SUMMED = ("packets_received", "packets_sent", "zero_count", "timed_count", "timed_total_ms")
_NO_OP = -(1 << 31)  # last_op_code before any response ("NA")

# FinalRequestProcessor's lastOp strings (what `cons` prints as lop=).
OP_SHORT_NAMES: dict[int, str] = {
    OpCode.PING: "PING",
    OpCode.CREATE_SESSION: "SESS",
    OpCode.MULTI: "MULT",
    OpCode.MULTI_READ: "MLTR",
    OpCode.CREATE: "CREA",
    OpCode.CREATE2: "CREA",
    OpCode.CREATE_CONTAINER: "CREA",
    OpCode.CREATE_TTL: "CREA",
    OpCode.DELETE: "DELE",
    OpCode.DELETE_CONTAINER: "DELE",
    OpCode.SET_DATA: "SETD",
    OpCode.RECONFIG: "RECO",
    OpCode.SET_ACL: "SETA",
    OpCode.CLOSE_SESSION: "CLOS",
    OpCode.SYNC: "SYNC",
    OpCode.CHECK: "CHEC",
    OpCode.EXISTS: "EXIS",
    OpCode.GET_DATA: "GETD",
    OpCode.SET_WATCHES: "SETW",
    OpCode.SET_WATCHES2: "STW2",
    OpCode.ADD_WATCH: "ADDW",
    OpCode.GET_ACL: "GETA",
    OpCode.GET_CHILDREN: "GETC",
    OpCode.GET_CHILDREN2: "GETC",
    OpCode.GET_ALL_CHILDREN_NUMBER: "GETACN",
    OpCode.CHECK_WATCHES: "CHKW",
    OpCode.REMOVE_WATCHES: "REMW",
    OpCode.WHO_AM_I: "HOMI",
    OpCode.GET_EPHEMERALS: "GETE",
}


OP_SHORT_NAMES = {int(k): v for k, v in OP_SHORT_NAMES.items()}


def op_short_name(op: int) -> str:
    return OP_SHORT_NAMES.get(op, "NA")


def java_double(value: float) -> str:
    """Java's Double.toString: ``0.0``, ``2.8``, ``3.3529``, ``1.0E7``, ``1.5E-4``."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        return repr(float(value))  # shortest round-trip digits, always with a '.'
    sign, digits, exponent = Decimal(repr(float(value))).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    exp10 = len(text) - 1 + exponent
    mantissa = text[0] + "." + (text[1:] or "0")
    return ("-" if sign else "") + f"{mantissa}E{exp10}"


def round_avg(total: int, count: int) -> float:
    """AvgMinMaxCounter.getAvg: total/count rounded HALF_UP to 4 decimals (0 when empty)."""
    if count <= 0:
        return 0.0
    # exact decimal HALF_UP on the rational total/count
    scaled_num = total * 10000 * 2 + count  # (2*total*10^4 + count) // (2*count) = round-half-up
    return (scaled_num // (2 * count)) / 10000


def elapsed_ms() -> int:
    """Time.currentElapsedTime: a monotonic clock in ms, what request latency is measured
    with (from the read that brought the request to its reply)."""
    return time.monotonic_ns() // 1_000_000


class ConnectionStats:
    """One connection's counters (ServerCnxn): what `cons` prints.

    The runtime increments ``packets_received`` / ``packets_sent`` directly, calls
    ``note_read`` for a read answered from the tree and ``note_write`` for a reply that
    went through the pipeline (with its latency in ms).
    """

    __slots__ = (
        "server", "packets_received", "packets_sent", "session_id", "timeout_ms",
        "established_ms", "interest_ops", "last_op_code", "last_cxid", "last_zxid",
        "last_response_ms", "last_latency_ms", "zero_count", "timed_count",
        "timed_total_ms", "timed_min_ms", "max_latency_ms", "_closed",
    )

    def __init__(self, server: ServerStats | None = None, *,
                 established_ms: int | None = None) -> None:
        self.server = server
        self.packets_received = 0
        self.packets_sent = 0
        self.session_id = 0
        self.timeout_ms = 0
        self.established_ms = (int(time.time() * 1000) if established_ms is None
                               else established_ms)
        self.interest_ops = 1  # ZooKeeper prints [1] while reading, [0] when paused/closing
        self._closed = False
        self._reset_counters()
        if server is not None:
            server._live.add(self)

    def _reset_counters(self) -> None:
        self.last_op_code = _NO_OP
        self.last_cxid = -1
        self.last_zxid = -1
        self.last_response_ms = 0
        self.last_latency_ms = 0
        self.zero_count = 0  # responses with latency 0 (reads answered at once)
        self.timed_count = 0  # responses with latency > 0
        self.timed_total_ms = 0
        self.timed_min_ms = _LONG_MAX
        self.max_latency_ms = 0

    # ------------------------------------------------------------ hot path

    def note_read(self, op: int, xid: int, zxid: int | None = None, latency_ms: int = 0) -> None:
        """A read answered from the tree (latency 0 unless given); ``zxid`` = the reply
        header zxid when the caller has it at hand (else lzxid keeps its last value)."""
        if latency_ms > 0:
            self.note_response(op, xid, self.last_zxid if zxid is None else zxid, latency_ms)
            return
        if xid >= 0:
            self.last_cxid = xid
        if zxid is not None:
            self.last_zxid = zxid
        self.last_op_code = op
        self.last_latency_ms = 0
        self.zero_count += 1

    def note_response(self, op: int, cxid: int, zxid: int, latency_ms: int = 0) -> None:
        """A reply went out (ServerCnxn.updateStatsForResponse + ServerStats.updateLatency).
        ``cxid`` < 0 (pings, auth) keeps the last real one."""
        if cxid >= 0:
            self.last_cxid = cxid
        self.last_zxid = zxid
        self.last_op_code = op
        self.last_latency_ms = latency_ms
        server = self.server
        if server is not None:
            self.last_response_ms = server.now_ms
        if latency_ms <= 0:
            self.zero_count += 1
            return
        self.timed_count += 1
        self.timed_total_ms += latency_ms
        if latency_ms < self.timed_min_ms:
            self.timed_min_ms = latency_ms
        if latency_ms > self.max_latency_ms:
            self.max_latency_ms = latency_ms
        if server is not None:  # its count and total come from the connections
            if latency_ms < server.timed_min_ms:
                server.timed_min_ms = latency_ms
            if latency_ms > server.max_latency_ms:
                server.max_latency_ms = latency_ms

    note_write = note_response  # a write's reply (one call less on the hot path)

    # ------------------------------------------------------------ views

    @property
    def last_op(self) -> str:
        """FinalRequestProcessor's lastOp string ("NA" before any response)."""
        return OP_SHORT_NAMES.get(self.last_op_code, "NA")

    @property
    def latency_count(self) -> int:
        return self.zero_count + self.timed_count

    @property
    def min_latency(self) -> int:
        if self.zero_count:
            return 0
        return self.timed_min_ms if self.timed_count else 0

    @property
    def avg_latency(self) -> int:
        """Integer division, as ServerCnxn.getAvgLatency."""
        count = self.zero_count + self.timed_count
        return self.timed_total_ms // count if count else 0

    def reset(self) -> None:
        """crst: zero this connection's counters (server totals are kept)."""
        server = self.server
        if server is not None and not self._closed:
            server._fold(self)
        self.packets_received = 0
        self.packets_sent = 0
        self._reset_counters()

    def close(self) -> None:
        """The connection is gone: fold its counts into the server totals."""
        server = self.server
        if server is None or self._closed:
            return
        self._closed = True
        server._live.discard(self)
        server._fold(self)


def _summed(name: str, doc: str) -> property:
    """A ServerStats counter of _SUMMED: its adjustment plus the live connections' sum."""
    def get(self: ServerStats) -> int:
        return self._adjust[name] + self._live_sum(name)
    return property(get, doc=doc)


class ServerStats:
    """Server-wide counters (ZooKeeper's ServerStats); reset by srst."""

    def __init__(self, *, start_monotonic_ms: int | None = None) -> None:
        self._live: set[ConnectionStats] = set()
        # Per counter of _SUMMED: what the live connections' sum misses (the counts of
        # closed or reset connections folded in, minus what srst zeroed).
        self._adjust = dict.fromkeys(_SUMMED, 0)
        now = int(time.monotonic() * 1000) if start_monotonic_ms is None else start_monotonic_ms
        self.start_ms = now
        self.now_ms = now  # coarse monotonic clock, refreshed by the runtime
        self.timed_min_ms = _LONG_MAX
        self.max_latency_ms = 0
        self.auth_failed = 0
        self.fsync_threshold_exceed_count = 0
        self.connection_drop_count = 0
        self.connection_rejected = 0
        # BufferStats client_response: -1 until the first response size is recorded
        self.last_response_size = -1
        self.min_response_size = -1
        self.max_response_size = -1

    def new_connection(self, *, established_ms: int | None = None) -> ConnectionStats:
        return ConnectionStats(self, established_ms=established_ms)

    def connection_closed(self, cs: ConnectionStats) -> None:
        cs.close()

    def _fold(self, cs: ConnectionStats) -> None:
        adjust = self._adjust
        for name in _SUMMED:
            adjust[name] += getattr(cs, name)

    def _live_sum(self, name: str) -> int:
        return sum(getattr(c, name) for c in self._live)

    @property
    def live_connections(self) -> int:
        return len(self._live)

    packets_received = _summed("packets_received", "Packets received since the last srst.")
    packets_sent = _summed("packets_sent", "Packets sent since the last srst.")
    zero_count = _summed("zero_count", "Zero-latency responses since the last srst.")
    timed_count = _summed("timed_count", "Responses with latency > 0 since the last srst.")
    timed_total_ms = _summed("timed_total_ms", "Their latencies' sum in ms.")

    @property
    def latency_count(self) -> int:
        return self.zero_count + self.timed_count

    @property
    def min_latency(self) -> int:
        if self.zero_count:
            return 0
        return self.timed_min_ms if self.timed_count else 0

    @property
    def max_latency(self) -> int:
        return self.max_latency_ms

    @property
    def avg_latency(self) -> float:
        return round_avg(self.timed_total_ms, self.latency_count)

    def set_latency(self, *, min_ms: int, max_ms: int, total_ms: int, count: int) -> None:
        """Overwrite the latency summary (tests, restoring saved figures)."""
        adjust = self._adjust
        adjust["zero_count"] = -self._live_sum("zero_count")
        adjust["timed_count"] = count - self._live_sum("timed_count")
        adjust["timed_total_ms"] = total_ms - self._live_sum("timed_total_ms")
        self.timed_min_ms = min_ms if count else _LONG_MAX
        self.max_latency_ms = max_ms

    def uptime_ms(self, now_monotonic_ms: int | None = None) -> int:
        now = int(time.monotonic() * 1000) if now_monotonic_ms is None else now_monotonic_ms
        return max(0, now - self.start_ms)

    def note_response_size(self, size: int) -> None:
        """BufferStats.setLastBufferSize (optional; sizes of serialized replies)."""
        self.last_response_size = size
        if self.min_response_size < 0 or size < self.min_response_size:
            self.min_response_size = size
        if size > self.max_response_size:
            self.max_response_size = size

    def reset(self) -> None:
        """srst: latency, packet counters and response sizes (ServerStats.reset)."""
        for name in _SUMMED:
            self._adjust[name] = -self._live_sum(name)
        self.timed_min_ms = _LONG_MAX
        self.max_latency_ms = 0
        self.last_response_size = self.min_response_size = self.max_response_size = -1

    def reset_connections(self) -> None:
        """crst: every live connection's counters."""
        for cs in list(self._live):
            cs.reset()
