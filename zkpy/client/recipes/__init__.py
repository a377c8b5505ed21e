"""Coordination recipes over the public ZkClient API only (kazoo's recipe/ layout).

Every recipe is asyncio-first (methods are coroutines on a ZkClient); the blocking
``Client`` exposes them through ``Client.Lock(...)`` etc. Waits are bounded by an
optional ``timeout_s`` and wake up on session loss (watchers also receive the
EXPIRED/CLOSED events), so a recipe never hangs on a dead session.
"""

from __future__ import annotations

from .barrier import Barrier, DoubleBarrier
from .counter import Counter
from .election import Election
from .lock import Lock
from .queue import Queue

__all__ = ["Lock", "Election", "Barrier", "DoubleBarrier", "Queue", "Counter"]
