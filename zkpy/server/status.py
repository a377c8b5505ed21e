"""MemberStatus: what the 4lw/admin/metrics renderers read from a running member.

Rules:
- Renderers (fourlw.py, admin.py) only read through this protocol; they never import the
  runtime. The runtime implements it on its member object (or an adapter) and a test
  implements it with a plain fake.
- Every method is cheap enough to call on a 4lw/admin request (O(connections),
  O(watches), O(ephemerals)); none is on the client request hot path.
- Times: ``*_wall_ms`` are epoch milliseconds; uptime comes from ServerStats.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from .config import ServerConfig
from .stats import ConnectionStats, ServerStats

__all__ = ["ConnectionView", "MemberStatus", "QuorumInfo", "LastSnapshot", "directory_size"]

MODES = ("standalone", "leader", "follower", "observer", "read-only")


@runtime_checkable
class ConnectionView(Protocol):
    """One client connection as `cons`/`stat` show it (the runtime's ClientConnection fits)."""

    remote: tuple[str, int]  # (ip, port)
    stats: ConnectionStats

    @property
    def outstanding(self) -> int:  # requests received, not yet answered ("queued=")
        ...


@dataclass(frozen=True, slots=True)
class QuorumInfo:
    """Quorum facts for conf/mntr/srvr/lead/zabstate; None from a standalone member."""

    peer_state: str  # mntr zk_peer_state, e.g. "leading - broadcast", "following - broadcast"
    quorum_size: int  # voting members
    leader_id: int = -1  # -1 while unknown
    leader_address: str = ""  # "host:quorumPort" of the leader, "" while unknown
    zab_state: str = "broadcast"  # election | discovery | synchronization | broadcast
    observer_master_id: int | None = None  # observers: the member they follow
    # leader-only figures (0 / -1 elsewhere)
    learners: int = 0
    synced_followers: int = 0
    synced_non_voting_followers: int = 0
    synced_observers: int = 0
    pending_syncs: int = 0
    leader_uptime_ms: int = 0
    proposal_sizes: tuple[int, int, int] = (-1, -1, -1)  # last, min, max (bytes)


@dataclass(frozen=True, slots=True)
class LastSnapshot:
    zxid: int
    timestamp_s: int  # seconds since the epoch (admin last_snapshot)


class MemberStatus(Protocol):
    """Read-only view of a running member. All properties are cheap."""

    @property
    def config(self) -> ServerConfig: ...

    @property
    def server_stats(self) -> ServerStats: ...

    @property
    def mode(self) -> str:
        """standalone | leader | follower | observer | read-only (see MODES)."""
        ...

    @property
    def serving(self) -> bool:
        """False while the member cannot serve (no quorum, starting, shutting down)."""
        ...

    @property
    def read_only(self) -> bool: ...

    @property
    def last_zxid(self) -> int: ...

    @property
    def node_count(self) -> int:
        """DataTree node count; counts "" and "/" separately like ZooKeeper (fresh = 5)."""
        ...

    @property
    def outstanding_requests(self) -> int: ...

    @property
    def approximate_data_size(self) -> int: ...

    @property
    def ephemerals_count(self) -> int: ...

    @property
    def watch_count(self) -> int:
        """All watches (data + child + persistent), as mntr zk_watch_count."""
        ...

    @property
    def global_sessions(self) -> int: ...

    def connections(self) -> Iterable[ConnectionView]: ...

    def data_watches(self) -> Mapping[int, Collection[str]]:
        """session id -> paths with a data/exists watch (what wchs/wchc/wchp report)."""
        ...

    def ephemerals_by_session(self) -> Mapping[int, Collection[str]]: ...

    def session_expiry(self) -> Mapping[int, Collection[int]]:
        """expiry time (wall ms) -> session ids (the SessionTracker's expiry buckets)."""
        ...

    def dir_sizes(self) -> tuple[int, int]:
        """(bytes under dataDir/version-2, bytes under dataLogDir/version-2)."""
        ...

    def quorum_info(self) -> QuorumInfo | None: ...

    def last_snapshot(self) -> LastSnapshot | None: ...

    def digest_log(self) -> Sequence[tuple[int, int]]:
        """(zxid, digest) pairs for `hash`; empty when digests are not kept."""
        ...

    def extra_metrics(self) -> Mapping[str, int | float]:
        """More mntr/metrics counters (names without the zk_ prefix), e.g. fsync stats."""
        ...


def directory_size(path: str | Path) -> int:
    """Bytes in the regular files directly under ``path`` (ZooKeeper's getDataDirSize /
    getLogDirSize over version-2); 0 when the directory does not exist yet."""
    total = 0
    try:
        with os.scandir(path) as it:
            for entry in it:
                try:
                    if entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
                except OSError:  # a file removed (purge, log roll) while we looked
                    continue
    except OSError:
        return 0
    return total
