"""Reconnect back-off: bounded, jittered exponential delays (pure; the rng is passed in).

Full jitter (delay uniform in [base/2, base]) keeps many clients from reconnecting in
lock step after a server restart; the cap keeps a client from sleeping long while a
server may already be back (kazoo's KazooRetry uses the same shape).
"""

from __future__ import annotations

import random


class Backoff:
    __slots__ = ("initial_s", "max_s", "multiplier", "_rng", "_next")

    def __init__(self, rng: random.Random, initial_s: float = 0.05, max_s: float = 1.0,
                 multiplier: float = 2.0) -> None:
        if initial_s <= 0 or max_s < initial_s or multiplier < 1:
            raise ValueError("need 0 < initial_s <= max_s and multiplier >= 1")
        self.initial_s = initial_s
        self.max_s = max_s
        self.multiplier = multiplier
        self._rng = rng
        self._next = initial_s

    def next_delay_s(self) -> float:
        base = self._next
        self._next = min(self.max_s, self._next * self.multiplier)
        return self._rng.uniform(base / 2, base)

    def reset(self) -> None:
        self._next = self.initial_s
