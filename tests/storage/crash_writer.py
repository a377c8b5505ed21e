"""Child process for test_crash: write batches forever, print each durable zxid."""

from __future__ import annotations

import asyncio
import random
import sys
from pathlib import Path

from tests.storage.toy import Toy, cmd
from zkpy.storage.engine import Storage
from zkpy.storage.errors import StorageError


async def main(d: Path, strategy: str) -> None:
    toy = Toy()
    st, res = Storage.open(d, load_snapshot=toy.load, apply=toy.apply, initial_image=toy.image,
                           rng=random.Random(), tree_digest=toy.digest, snap_count_txns=60,
                           prealloc_bytes=8192, strategy=strategy)
    print(f"start {res.last_zxid}", flush=True)
    loop = asyncio.get_running_loop()
    z = res.last_zxid
    while True:
        n = random.randint(1, 12)
        batch = [(z + i, cmd(z + i)) for i in range(1, n + 1)]
        z += n
        done: asyncio.Future[StorageError | None] = loop.create_future()
        st.commit(batch, done.set_result)
        if await done is not None:
            sys.exit(1)
        print(f"durable {z}", flush=True)  # the acknowledgement
        for zz, p in batch:
            toy.apply(zz, p)
        st.after_apply(toy.zxid, toy.image)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2]))
