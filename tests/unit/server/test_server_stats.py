"""ServerStats / ConnectionStats: ZooKeeper's counting, resets and number formats."""

from __future__ import annotations

from pathlib import Path

import pytest

from zkpy.proto.opcodes import OpCode
from zkpy.server.stats import (
    ConnectionStats,
    ServerStats,
    java_double,
    op_short_name,
    round_avg,
)
from zkpy.server.status import directory_size


def test_server_totals_follow_connections_and_survive_close() -> None:
    ss = ServerStats(start_monotonic_ms=0)
    a, b = ss.new_connection(), ss.new_connection()
    a.packets_received += 3
    a.packets_sent += 2
    b.packets_received += 1
    assert (ss.packets_received, ss.packets_sent, ss.live_connections) == (4, 2, 2)
    ss.connection_closed(a)
    ss.connection_closed(a)  # idempotent
    assert (ss.packets_received, ss.packets_sent, ss.live_connections) == (4, 2, 1)
    b.packets_received += 1
    assert ss.packets_received == 5


def test_crst_keeps_server_totals_srst_keeps_connection_counts() -> None:
    ss = ServerStats(start_monotonic_ms=0)
    c = ss.new_connection(established_ms=123)
    c.packets_received, c.packets_sent = 10, 9
    c.session_id = 0x55
    c.note_response(OpCode.GET_DATA, 7, 0x20, 4)
    c.reset()  # crst
    assert (c.packets_received, c.packets_sent, c.last_op, c.last_cxid, c.last_zxid) == (
        0, 0, "NA", -1, -1)
    assert (c.min_latency, c.avg_latency, c.max_latency_ms, c.latency_count) == (0, 0, 0, 0)
    assert c.session_id == 0x55 and c.established_ms == 123  # identity survives a reset
    assert (ss.packets_received, ss.packets_sent) == (10, 9)
    assert ss.max_latency == 4
    c.packets_received += 1
    ss.reset()  # srst
    assert (ss.packets_received, ss.packets_sent) == (0, 0)
    assert (ss.min_latency, ss.avg_latency, ss.max_latency) == (0, 0.0, 0)
    assert c.packets_received == 1
    c.packets_received += 2
    assert ss.packets_received == 2
    c.close()
    assert ss.packets_received == 2


def test_latency_min_avg_max_like_zookeeper() -> None:
    ss = ServerStats(start_monotonic_ms=0)
    c = ss.new_connection()
    assert (ss.min_latency, ss.avg_latency, ss.max_latency) == (0, 0.0, 0)
    for lat in (3, 0, 1, 7):
        c.note_response(OpCode.GET_DATA, 1, 1, lat)
    assert (ss.min_latency, ss.avg_latency, ss.max_latency) == (0, 2.75, 7)
    assert (c.min_latency, c.avg_latency, c.max_latency_ms, c.last_latency_ms) == (0, 2, 7, 7)


def test_note_response_fields() -> None:
    ss = ServerStats(start_monotonic_ms=0)
    c = ss.new_connection()
    ss.now_ms = 5000
    c.note_write(OpCode.CREATE2, 4, 0x100000001, 2)
    assert (c.last_op, c.last_cxid, c.last_zxid, c.last_response_ms) == (
        "CREA", 4, 0x100000001, 5000)
    c.note_response(OpCode.PING, -2, 0x100000001)
    assert c.last_op == "PING" and c.last_cxid == 4  # pings keep the last real cxid
    c.note_read(OpCode.EXISTS, 5)
    assert c.last_zxid == 0x100000001 and c.last_op == "EXIS"
    c.note_read(OpCode.GET_CHILDREN2, 6, zxid=0x100000002)
    assert (c.last_op, c.last_zxid) == ("GETC", 0x100000002)


def test_standalone_connection_stats_without_server() -> None:
    c = ConnectionStats(established_ms=1)
    c.note_response(OpCode.GET_DATA, 1, 1, 3)
    c.reset()
    c.close()
    assert c.packets_received == 0


def test_response_sizes() -> None:
    ss = ServerStats(start_monotonic_ms=0)
    assert (ss.last_response_size, ss.min_response_size, ss.max_response_size) == (-1, -1, -1)
    for size in (16, 93, 20):
        ss.note_response_size(size)
    assert (ss.last_response_size, ss.min_response_size, ss.max_response_size) == (20, 16, 93)
    ss.reset()
    assert ss.max_response_size == -1


def test_uptime() -> None:
    ss = ServerStats(start_monotonic_ms=1000)
    assert ss.uptime_ms(4500) == 3500
    assert ss.uptime_ms(500) == 0


@pytest.mark.parametrize(("op", "name"), [
    (OpCode.GET_DATA, "GETD"), (OpCode.SET_DATA, "SETD"), (OpCode.CREATE, "CREA"),
    (OpCode.CREATE_TTL, "CREA"), (OpCode.DELETE, "DELE"), (OpCode.EXISTS, "EXIS"),
    (OpCode.GET_CHILDREN, "GETC"), (OpCode.GET_CHILDREN2, "GETC"), (OpCode.MULTI, "MULT"),
    (OpCode.MULTI_READ, "MLTR"), (OpCode.PING, "PING"), (OpCode.CREATE_SESSION, "SESS"),
    (OpCode.CLOSE_SESSION, "CLOS"), (OpCode.SET_WATCHES, "SETW"), (OpCode.SET_WATCHES2, "STW2"),
    (OpCode.WHO_AM_I, "HOMI"), (OpCode.GET_ALL_CHILDREN_NUMBER, "GETACN"), (9999, "NA"),
])
def test_op_short_names(op: int, name: str) -> None:
    assert op_short_name(op) == name


@pytest.mark.parametrize(("value", "text"), [
    (0.0, "0.0"), (2.8, "2.8"), (3.3529, "3.3529"), (5.0, "5.0"), (1e7, "1.0E7"),
    (1.5e-4, "1.5E-4"), (123456789.0, "1.23456789E8"), (0.001, "0.001"), (-2.5e8, "-2.5E8"),
    (float("nan"), "NaN"), (float("inf"), "Infinity"),
])
def test_java_double(value: float, text: str) -> None:
    assert java_double(value) == text


@pytest.mark.parametrize(("total", "count", "avg"), [
    (57, 17, 3.3529), (14, 5, 2.8), (1, 3, 0.3333), (2, 3, 0.6667), (0, 0, 0.0),
    (1, 8, 0.125), (5, 80000, 0.0001),
])
def test_round_avg_half_up(total: int, count: int, avg: float) -> None:
    assert round_avg(total, count) == avg


def test_directory_size(tmp_path: Path) -> None:
    assert directory_size(tmp_path / "missing") == 0
    (tmp_path / "log.1").write_bytes(b"x" * 100)
    (tmp_path / "snapshot.0").write_bytes(b"y" * 20)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "z").write_bytes(b"z" * 1000)
    assert directory_size(tmp_path) == 120


def test_zero_latency_reads_are_aggregated_across_srst_crst_and_close() -> None:
    ss = ServerStats(start_monotonic_ms=0)
    a, b = ss.new_connection(), ss.new_connection()
    a.note_read(OpCode.GET_DATA, 1)
    a.note_write(OpCode.SET_DATA, 2, 9, 6)
    assert (ss.min_latency, ss.max_latency, ss.latency_count, ss.avg_latency) == (0, 6, 2, 3.0)
    ss.reset()  # srst: the read before it no longer counts
    b.note_write(OpCode.CREATE, 1, 10, 4)
    assert (ss.min_latency, ss.max_latency, ss.latency_count) == (4, 4, 1)
    b.note_read(OpCode.EXISTS, 2)
    assert (ss.min_latency, ss.latency_count, ss.avg_latency) == (0, 2, 2.0)
    b.reset()  # crst keeps the server figures
    a.close()
    assert (ss.min_latency, ss.latency_count, ss.avg_latency) == (0, 2, 2.0)
    # summed over the connections, with what crst and close took from them folded in
    assert (ss.timed_count, ss.timed_total_ms, ss.zero_count) == (1, 4, 1)
    assert (b.timed_count, b.timed_total_ms) == (0, 0)
    assert b.last_op == "NA" and a.last_op == "SETD"
    ss.set_latency(min_ms=1, max_ms=5, total_ms=14, count=5)
    assert (ss.min_latency, ss.max_latency, ss.avg_latency) == (1, 5, 2.8)
