"""When to snapshot: every snapCount txns, randomised per server as ZooKeeper does.

ZooKeeper (SyncRequestProcessor) snapshots and rolls the log once
`txns > snapCount/2 + roll` (or `bytes > snapSizeLimit/2 + roll_bytes`), where roll is
drawn uniformly from [0, snapCount/2) after every snapshot, so members of one ensemble
do not all snapshot at the same moment. The RNG is passed in (seeded by the runtime).
"""

from __future__ import annotations

import random

DEFAULT_SNAP_COUNT_TXNS = 100_000
DEFAULT_SNAP_SIZE_LIMIT_BYTES = 4 * 1024 * 1024 * 1024  # snapSizeLimitInKb 4194304


class SnapPolicy:
    def __init__(
        self,
        rng: random.Random,
        snap_count_txns: int = DEFAULT_SNAP_COUNT_TXNS,
        snap_size_limit_bytes: int = DEFAULT_SNAP_SIZE_LIMIT_BYTES,
    ) -> None:
        if snap_count_txns < 2:
            raise ValueError("snapCount must be at least 2")
        self.rng = rng
        self.snap_count_txns = snap_count_txns
        self.snap_size_limit_bytes = snap_size_limit_bytes
        self.txns_since = 0
        self.bytes_since = 0
        self._reroll()

    def _reroll(self) -> None:
        self.roll_txns = self.rng.randrange(self.snap_count_txns // 2)
        half = self.snap_size_limit_bytes // 2
        self.roll_bytes = self.rng.randrange(half) if half > 0 else 0

    @property
    def threshold_txns(self) -> int:
        return self.snap_count_txns // 2 + self.roll_txns

    def record(self, n_txns: int, n_bytes: int) -> bool:
        """Count logged txns; True when it is time to snapshot (then call taken())."""
        self.txns_since += n_txns
        self.bytes_since += n_bytes
        if self.txns_since > self.threshold_txns:
            return True
        limit = self.snap_size_limit_bytes
        return limit > 0 and self.bytes_since > limit // 2 + self.roll_bytes

    def taken(self) -> None:
        """A snapshot started (and the log rolled): count afresh with a new roll."""
        self.txns_since = 0
        self.bytes_since = 0
        self._reroll()
