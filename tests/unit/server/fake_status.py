"""A plain MemberStatus for renderer and admin tests (no runtime, no sockets)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from zkpy.server.config import ServerConfig
from zkpy.server.stats import ConnectionStats, ServerStats
from zkpy.server.status import ConnectionView, LastSnapshot, MemberStatus, QuorumInfo


@dataclass
class FakeConnection:
    remote: tuple[str, int]
    stats: ConnectionStats
    queued: int = 0

    @property
    def outstanding(self) -> int:
        return self.queued


@dataclass
class FakeStatus:
    config: ServerConfig
    server_stats: ServerStats = field(default_factory=lambda: ServerStats(start_monotonic_ms=0))
    mode: str = "standalone"
    serving: bool = True
    read_only: bool = False
    last_zxid: int = 0
    node_count: int = 5
    outstanding_requests: int = 0
    approximate_data_size: int = 44
    ephemerals_count: int = 0
    watch_count: int = 0
    global_sessions: int = 0
    conns: list[FakeConnection] = field(default_factory=list)
    watches: dict[int, list[str]] = field(default_factory=dict)
    ephemerals: dict[int, list[str]] = field(default_factory=dict)
    expiry: dict[int, list[int]] = field(default_factory=dict)
    sizes: tuple[int, int] = (457, 457)
    quorum: QuorumInfo | None = None
    snapshot: LastSnapshot | None = None
    digests: list[tuple[int, int]] = field(default_factory=list)
    extra: dict[str, int | float] = field(default_factory=dict)

    def connections(self) -> Iterable[ConnectionView]:
        return list(self.conns)

    def data_watches(self) -> Mapping[int, Collection[str]]:
        return self.watches

    def ephemerals_by_session(self) -> Mapping[int, Collection[str]]:
        return self.ephemerals

    def session_expiry(self) -> Mapping[int, Collection[int]]:
        return self.expiry

    def dir_sizes(self) -> tuple[int, int]:
        return self.sizes

    def quorum_info(self) -> QuorumInfo | None:
        return self.quorum

    def last_snapshot(self) -> LastSnapshot | None:
        return self.snapshot

    def digest_log(self) -> Sequence[tuple[int, int]]:
        return self.digests

    def extra_metrics(self) -> Mapping[str, int | float]:
        return self.extra

    def add_connection(self, ip: str, port: int, *, queued: int = 0,
                       established_ms: int = 0) -> FakeConnection:
        conn = FakeConnection((ip, port), self.server_stats.new_connection(
            established_ms=established_ms), queued)
        self.conns.append(conn)
        return conn


def standalone_config(**overrides: object) -> ServerConfig:
    props = {
        "tickTime": "2000", "dataDir": "/tmp/zkref/data", "clientPort": "55865",
        "clientPortAddress": "127.0.0.1", "admin.serverAddress": "127.0.0.1",
        "admin.serverPort": "32827", "4lw.commands.whitelist": "*", "maxClientCnxns": "60",
    }
    props.update({k: str(v) for k, v in overrides.items()})
    return ServerConfig.from_properties(props)


def _check_protocol(s: FakeStatus) -> MemberStatus:
    return s  # mypy/pyright: FakeStatus satisfies MemberStatus
