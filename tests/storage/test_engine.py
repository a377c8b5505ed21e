from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from zkpy.storage.engine import Storage
from zkpy.storage.errors import StorageError
from zkpy.storage.layout import list_logs, list_snapshots

from .toy import Toy, cmd


async def _member(d: Path, toy: Toy, n: int, start: int, strategy: str) -> Storage:
    st, res = Storage.open(
        d, load_snapshot=toy.load, apply=toy.apply, initial_image=toy.image,
        rng=random.Random(7), tree_digest=toy.digest, snap_count_txns=20,
        prealloc_bytes=4096, strategy=strategy,
    )
    assert res.last_zxid == start
    z = start
    for _ in range(n // 4):
        batch = [(z + i, cmd(z + i)) for i in range(1, 5)]
        z += 4
        done: asyncio.Future[StorageError | None] = asyncio.get_running_loop().create_future()
        st.commit(batch, done.set_result)
        assert await done is None
        for zz, p in batch:
            toy.apply(zz, p)
        if st.after_apply(toy.zxid, toy.image):
            while st.taker.running is not None:
                await asyncio.sleep(0.005)
    await st.close()
    return st


@pytest.mark.parametrize("strategy", ["process", "thread", "inline"])
def test_storage_commit_snapshot_restart(tmp_path: Path, strategy: str) -> None:
    live = Toy()
    asyncio.run(_member(tmp_path, live, 100, 0, strategy))
    snaps = [z for z, _ in list_snapshots(tmp_path)]
    assert snaps[0] == 0 and len(snaps) >= 4  # snapCount 20 -> every 11..20 txns
    assert len(list_logs(tmp_path)) >= 4  # the log rolls at every snapshot
    again = Toy()
    asyncio.run(_member(tmp_path, again, 40, 100, strategy))
    for z in range(101, 141):
        live.apply(z, cmd(z))
    assert again.digest() == live.digest()


def test_out_of_order_batch_is_refused_not_acknowledged(tmp_path: Path) -> None:
    async def main() -> StorageError | None:
        toy = Toy()
        st, _ = Storage.open(tmp_path, load_snapshot=toy.load, apply=toy.apply,
                             initial_image=toy.image, rng=random.Random(1), prealloc_bytes=4096)
        done: asyncio.Future[StorageError | None] = asyncio.get_running_loop().create_future()
        st.commit([(5, b"x")], done.set_result)
        err = await done
        await st.close()
        return err

    assert isinstance(asyncio.run(main()), StorageError)


def test_refused_batch_leaves_nothing_behind(tmp_path: Path) -> None:
    async def main() -> list[StorageError | None]:
        toy = Toy()
        st, _ = Storage.open(tmp_path, load_snapshot=toy.load, apply=toy.apply,
                             initial_image=toy.image, rng=random.Random(1), prealloc_bytes=4096)
        loop = asyncio.get_running_loop()
        out = []
        for batch in ([(1, b"a"), (3, b"gap")], [(1, b"b")]):
            done: asyncio.Future[StorageError | None] = loop.create_future()
            st.commit(batch, done.set_result)
            out.append(await done)
        await st.close()
        return out

    bad, good = asyncio.run(main())
    assert isinstance(bad, StorageError) and good is None
    from zkpy.storage.logreader import LogReader

    assert list(LogReader(tmp_path)) == [(1, b"b")]
