"""Waiting for a ProcessCommitter's fsync helper (tests and benchmarks)."""

from __future__ import annotations

import asyncio

from zkpy.storage.committer import Committer, ProcessCommitter


async def helper_ready(c: Committer, timeout_s: float = 5.0) -> None:
    """Start a ProcessCommitter's fsync helper and wait until it answers (other committers:
    nothing to do). Until then it syncs on the loop, which would bypass the helper."""
    if not isinstance(c, ProcessCommitter):
        return
    c.start_helper()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not c.helper_ready:
        if loop.time() > deadline:
            raise AssertionError(f"fsync helper not ready in {timeout_s} s")
        await asyncio.sleep(0.01)
