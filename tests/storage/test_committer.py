from __future__ import annotations

import asyncio
import errno
from pathlib import Path

import pytest

from tests.support.fsync_helper import helper_ready
from zkpy.storage.committer import make_committer
from zkpy.storage.errors import StorageError
from zkpy.storage.layout import list_logs
from zkpy.storage.txnlog import TxnLog, WriteMark

from .conftest import SMALL_PREALLOC, read_all

STRATEGIES = ["process", "thread", "inline"]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_commit_batches_and_roll(tmp_path: Path, strategy: str) -> None:
    async def main() -> list[int]:
        c = make_committer(TxnLog(tmp_path, 0, prealloc_bytes=SMALL_PREALLOC), strategy=strategy)
        await helper_ready(c)
        got = []
        for z in range(1, 4):
            c.append(z, b"p%d" % z)
        f1 = c.commit()
        c.roll()
        c.append(4, b"p4")
        f2 = c.commit()
        f3 = c.commit()  # nothing new: resolves once 4 is durable
        got += [await f1, await f2, await f3]
        got.append(await c.commit())
        await c.aclose()
        return got

    got = asyncio.run(main())
    assert got[0] >= 3 and got[1:] == [4, 4, 4]
    assert [z for z, _ in read_all(tmp_path)] == [1, 2, 3, 4]
    assert [z for z, _ in list_logs(tmp_path)] == [1, 4]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_failed_batch_fails_futures_and_sticks(tmp_path: Path, strategy: str) -> None:
    log = TxnLog(tmp_path, 0, prealloc_bytes=SMALL_PREALLOC)
    real = log.write_unsynced  # every strategy writes through it
    calls = {"n": 0}

    def flaky(data: bytes | bytearray, first: int, last: int) -> WriteMark:
        calls["n"] += 1
        if calls["n"] == 2:
            raise StorageError("write txn log", "x", OSError(errno.ENOSPC, "No space left"))
        return real(data, first, last)

    log.write_unsynced = flaky  # type: ignore[method-assign]

    async def main() -> None:
        c = make_committer(log, strategy=strategy)
        await helper_ready(c)
        c.append(1, b"a")
        assert await c.commit() == 1
        c.append(2, b"b")
        with pytest.raises(StorageError, match="ENOSPC"):
            await c.commit()
        c.append(3, b"c")
        with pytest.raises(StorageError):
            await c.commit()
        assert c.failed is not None
        await c.aclose()

    asyncio.run(main())
    assert [z for z, _ in read_all(tmp_path)] == [1]


def test_thread_committer_syncs_inline_only_when_its_thread_is_idle(tmp_path: Path) -> None:
    async def main() -> None:
        c = make_committer(TxnLog(tmp_path, 0, prealloc_bytes=SMALL_PREALLOC), strategy="thread")
        c.append(1, b"a")
        f1 = c.commit(inline=True)           # idle thread: written and synced right here
        assert f1.done() and f1.result() == 1
        c.append(2, b"b")
        f2 = c.commit()                      # handed to the thread
        c.append(3, b"c")
        f3 = c.commit(inline=True)           # thread busy with 2: 3 must queue behind it
        assert not f3.done() or f3.result() == 3
        assert await f2 >= 2 and await f3 == 3   # (the thread may merge them: one fsync)
        c.append(4, b"d")
        f4 = c.commit(inline=True)           # idle again
        assert f4.done() and f4.result() == 4
        await c.aclose()

    asyncio.run(main())
    assert [z for z, _ in read_all(tmp_path)] == [1, 2, 3, 4]


def test_inline_failure_in_thread_committer_sticks(tmp_path: Path) -> None:
    log = TxnLog(tmp_path, 0, prealloc_bytes=SMALL_PREALLOC)

    def full(data: bytes | bytearray, first: int, last: int) -> None:
        raise StorageError("write txn log", "x", OSError(errno.ENOSPC, "No space left"))

    log.write_batch = full  # type: ignore[method-assign,assignment]

    async def main() -> None:
        c = make_committer(log, strategy="thread")
        c.append(1, b"a")
        with pytest.raises(StorageError, match="ENOSPC"):
            await c.commit(inline=True)
        c.append(2, b"b")
        with pytest.raises(StorageError):
            await c.commit()                 # later batches fail at once, never acknowledged
        assert c.failed is not None
        await c.aclose()

    asyncio.run(main())
