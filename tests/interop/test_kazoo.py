"""kazoo, unchanged, against Apache ZooKeeper 3.8 and zkpy: KazooClient basics and the
recipes Lock, Election, Barrier, DoubleBarrier, Queue, LockingQueue, Counter, Party,
DataWatch, ChildrenWatch, TreeCache.

Every wait is bounded (threading.Event.wait / wait_until with a timeout).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import (
    BadVersionError,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
)
from kazoo.protocol.states import EventType, KazooState
from kazoo.recipe.cache import TreeCache
from kazoo.security import make_digest_acl

from tests.support.servers import ServerHandle, wait_until

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]

WAIT = 15.0


def _client(server: ServerHandle, **kw: Any) -> KazooClient:
    c = KazooClient(hosts=server.hosts, timeout=10.0, **kw)
    c.start(timeout=WAIT)
    return c


@pytest.fixture
def kz(zk_server: ServerHandle) -> Iterator[KazooClient]:
    c = _client(zk_server)
    try:
        yield c
    finally:
        c.stop()
        c.close()


@pytest.fixture
def kz_factory(zk_server: ServerHandle) -> Iterator[Callable[[], KazooClient]]:
    made: list[KazooClient] = []

    def make() -> KazooClient:
        c = _client(zk_server)
        made.append(c)
        return c
    try:
        yield make
    finally:
        for c in made:
            c.stop()
            c.close()


def _run_thread(fn: Callable[[], None]) -> threading.Thread:
    t = threading.Thread(target=fn, daemon=True)
    t.start()
    return t


# ---------------------------------------------------------------- client basics


def test_crud_and_stat(kz: KazooClient, unique_path: str) -> None:
    p = unique_path
    assert kz.create(p, b"v1") == p
    data, st = kz.get(p)
    assert data == b"v1" and st.version == 0 and st.dataLength == 2
    assert st.czxid == st.mzxid == st.pzxid and st.ephemeralOwner == 0
    st2 = kz.set(p, b"v2", version=0)
    assert st2.version == 1 and st2.mzxid > st.mzxid and st2.czxid == st.czxid
    with pytest.raises(BadVersionError):
        kz.set(p, b"v3", version=0)
    with pytest.raises(NodeExistsError):
        kz.create(p)
    kz.create(f"{p}/a")
    kz.create(f"{p}/b", b"")
    assert sorted(kz.get_children(p)) == ["a", "b"]
    children, pst = kz.get_children(p, include_data=True)
    assert pst.numChildren == 2 and pst.cversion == 2
    with pytest.raises(NotEmptyError):
        kz.delete(p)
    assert kz.exists(f"{p}/missing") is None
    with pytest.raises(NoNodeError):
        kz.get(f"{p}/missing")
    kz.delete(p, recursive=True)
    assert kz.exists(p) is None


def test_modes_sequence_ephemeral(kz: KazooClient, zk_server: ServerHandle,
                                            unique_path: str) -> None:
    p = unique_path
    kz.ensure_path(p)
    s0 = kz.create(f"{p}/s-", sequence=True)
    s1 = kz.create(f"{p}/s-", b"x", sequence=True)
    assert s0 == f"{p}/s-0000000000" and s1 == f"{p}/s-0000000001"
    e = kz.create(f"{p}/e", ephemeral=True)
    assert kz.exists(e).ephemeralOwner == kz.client_id[0]
    es = kz.create(f"{p}/es-", ephemeral=True, sequence=True)
    assert es == f"{p}/es-0000000003"
    path, st = kz.create(f"{p}/plain", include_data=True)     # create2
    assert path == f"{p}/plain" and st.ephemeralOwner == 0 and st.version == 0
    # ephemerals go away with the session
    other = _client(zk_server)
    try:
        other.create(f"{p}/theirs", ephemeral=True)
    finally:
        other.stop()
        other.close()
    wait_until(lambda: kz.exists(f"{p}/theirs") is None, WAIT, "ephemeral to vanish")


def test_transaction(kz: KazooClient, unique_path: str) -> None:
    p = unique_path
    kz.create(p, b"0")
    t = kz.transaction()
    t.create(f"{p}/a", b"a")
    t.set_data(p, b"1", version=0)
    t.check(p, 1)
    t.delete(f"{p}/a")
    res = t.commit()
    assert res[0] == f"{p}/a" and res[1].version == 1 and res[2] is True and res[3] is True
    t = kz.transaction()
    t.create(f"{p}/b")
    t.set_data(p, b"x", version=42)
    res = t.commit()
    assert isinstance(res[1], BadVersionError)
    assert kz.exists(f"{p}/b") is None


def test_acl_and_auth(kz: KazooClient, zk_server: ServerHandle, unique_path: str) -> None:
    p = unique_path
    acl = make_digest_acl("alice", "secret", all=True)
    kz.add_auth("digest", "alice:secret")
    kz.create(p, b"private", acl=[acl])
    acls, st = kz.get_acls(p)
    assert acls[0].id.scheme == "digest" and acls[0].perms == 31 and st.aversion == 0
    outsider = _client(zk_server)
    try:
        from kazoo.exceptions import NoAuthError
        with pytest.raises(NoAuthError):
            outsider.get(p)
        outsider.add_auth("digest", "alice:secret")
        assert outsider.get(p)[0] == b"private"
    finally:
        outsider.stop()
        outsider.close()
    kz.set_acls(p, [make_digest_acl("alice", "secret", read=True, write=True, admin=True)])
    assert kz.get_acls(p)[1].aversion == 1


def test_watches_fire_once(kz: KazooClient, kz_factory: Callable[[], KazooClient],
                           unique_path: str) -> None:
    p = unique_path
    writer = kz_factory()
    kz.create(p, b"")
    events: list[Any] = []
    fired = threading.Event()

    def watcher(ev: Any) -> None:
        events.append(ev)
        fired.set()
    kz.get(p, watch=watcher)
    writer.set(p, b"1")
    assert fired.wait(WAIT)
    writer.set(p, b"2")
    kz.sync(p)
    assert [e.type for e in events] == [EventType.CHANGED]
    child = threading.Event()
    kz.get_children(p, watch=lambda ev: child.set())
    writer.create(f"{p}/c")
    assert child.wait(WAIT)


def test_connection_states(zk_server: ServerHandle) -> None:
    c = KazooClient(hosts=zk_server.hosts, timeout=10.0)
    states: list[str] = []
    c.add_listener(states.append)
    c.start(timeout=WAIT)
    assert c.state == KazooState.CONNECTED
    assert c.client_id is not None and c.client_id[0] != 0
    c.stop()
    c.close()
    assert states[0] == KazooState.CONNECTED and states[-1] == KazooState.LOST


# ---------------------------------------------------------------------- recipes


def test_lock(kz: KazooClient, kz_factory: Callable[[], KazooClient], unique_path: str) -> None:
    lock_a = kz.Lock(unique_path, "a")
    lock_b = kz_factory().Lock(unique_path, "b")
    assert lock_a.acquire(timeout=WAIT)
    got_b = threading.Event()
    done_b = threading.Event()

    def take_b() -> None:
        if lock_b.acquire(timeout=WAIT):
            got_b.set()
            lock_b.release()
        done_b.set()
    t = _run_thread(take_b)
    wait_until(lambda: len(lock_a.contenders()) == 2, WAIT, "two contenders")
    assert not got_b.is_set()
    assert lock_a.contenders() == ["a", "b"]
    lock_a.release()
    assert done_b.wait(WAIT) and got_b.is_set()
    t.join(WAIT)


def test_election(kz: KazooClient, kz_factory: Callable[[], KazooClient],
                  unique_path: str) -> None:
    e1 = kz.Election(unique_path, "one")
    e2 = kz_factory().Election(unique_path, "two")
    leader: list[str] = []
    lead1 = threading.Event()
    release1 = threading.Event()
    lead2 = threading.Event()

    def run1() -> None:
        def body() -> None:
            leader.append("one")
            lead1.set()
            release1.wait(WAIT)
        e1.run(body)

    def run2() -> None:
        def body() -> None:
            leader.append("two")
            lead2.set()
        e2.run(body)
    t1 = _run_thread(run1)
    assert lead1.wait(WAIT)
    t2 = _run_thread(run2)
    wait_until(lambda: len(e1.contenders()) == 2, WAIT, "two contenders")
    assert e1.contenders() == ["one", "two"] and not lead2.is_set()
    release1.set()
    assert lead2.wait(WAIT)
    assert leader == ["one", "two"]
    t1.join(WAIT)
    t2.join(WAIT)


def test_barrier(kz: KazooClient, kz_factory: Callable[[], KazooClient],
                 unique_path: str) -> None:
    b = kz.Barrier(unique_path)
    b.create()
    other = kz_factory().Barrier(unique_path)
    passed = threading.Event()
    t = _run_thread(lambda: other.wait(WAIT) and passed.set())
    assert not b.wait(0.2)
    assert not passed.is_set()
    b.remove()
    assert passed.wait(WAIT)
    t.join(WAIT)


def test_double_barrier(kz_factory: Callable[[], KazooClient], unique_path: str) -> None:
    n = 3
    barriers = [kz_factory().DoubleBarrier(unique_path, n, identifier=f"m{i}") for i in range(n)]
    entered = [threading.Event() for _ in range(n)]
    left = [threading.Event() for _ in range(n)]

    def member(i: int) -> None:
        barriers[i].enter()
        entered[i].set()
        barriers[i].leave()
        left[i].set()
    threads = [_run_thread(lambda i=i: member(i)) for i in range(n - 1)]
    # two of three are in: nobody passes enter() yet
    wait_until(lambda: len(barriers[0].client.get_children(unique_path)) >= n - 1, WAIT,
               "two members waiting")
    assert not any(e.is_set() for e in entered)
    threads.append(_run_thread(lambda: member(n - 1)))
    for i in range(n):
        assert entered[i].wait(WAIT) and left[i].wait(WAIT)
    for t in threads:
        t.join(WAIT)


def test_queue(kz: KazooClient, kz_factory: Callable[[], KazooClient],
               unique_path: str) -> None:
    q = kz.Queue(unique_path)
    for item in (b"1", b"2", b"3"):
        q.put(item)
    q.put(b"urgent", priority=10)
    q.put(b"first", priority=1)
    assert len(q) == 5
    other = kz_factory().Queue(unique_path)
    got = [other.get() for _ in range(5)]
    assert got == [b"first", b"urgent", b"1", b"2", b"3"]
    assert q.get() is None


def test_locking_queue(kz: KazooClient, kz_factory: Callable[[], KazooClient],
                       unique_path: str) -> None:
    q = kz.LockingQueue(unique_path)
    q.put_all([b"a", b"b"])
    q.put(b"z", priority=200)
    assert len(q) == 3
    assert q.get(WAIT) == b"a"
    other = kz_factory().LockingQueue(unique_path)
    assert other.get(WAIT) == b"b"       # a is locked by q, so the other takes b
    assert q.consume()
    assert other.release()
    assert q.get(WAIT) == b"b"
    assert q.consume()
    assert q.get(WAIT) == b"z" and q.consume()
    assert len(q) == 0
    assert q.get(0.2) is None


def test_counter(kz: KazooClient, kz_factory: Callable[[], KazooClient],
                 unique_path: str) -> None:
    c = kz.Counter(unique_path)
    c += 5
    c -= 2
    assert c.value == 3
    clients = [kz_factory() for _ in range(3)]

    def bump(cl: KazooClient) -> None:
        cnt = cl.Counter(unique_path)
        for _ in range(10):
            cnt += 1
    threads = [_run_thread(lambda cl=cl: bump(cl)) for cl in clients]
    for t in threads:
        t.join(WAIT)
    assert c.value == 33
    f = kz.Counter(f"{unique_path}-f", default=0.0)
    f += 1.5
    assert f.value == 1.5


def test_party(kz: KazooClient, kz_factory: Callable[[], KazooClient],
               unique_path: str) -> None:
    a = kz.Party(unique_path, "alice")
    b = kz_factory().ShallowParty(unique_path + "-s", "bob")
    a.join()
    other = kz_factory().Party(unique_path, "carol")
    other.join()
    assert sorted(a) == ["alice", "carol"] and len(a) == 2
    other.leave()
    assert list(a) == ["alice"]
    b.join()
    assert list(b) == ["bob"]
    b.leave()
    a.leave()
    assert len(a) == 0


def test_data_watch(kz: KazooClient, kz_factory: Callable[[], KazooClient],
                    unique_path: str) -> None:
    seen: list[tuple[bytes | None, int | None]] = []
    writer = kz_factory()

    @kz.DataWatch(unique_path)
    def _w(data: bytes | None, stat: Any) -> None:
        seen.append((data, stat.version if stat else None))
    wait_until(lambda: seen == [(None, None)], WAIT, "initial DataWatch call")
    writer.create(unique_path, b"a")
    wait_until(lambda: seen[-1] == (b"a", 0), WAIT, f"create seen (got {seen})")
    writer.set(unique_path, b"b")
    wait_until(lambda: seen[-1] == (b"b", 1), WAIT, f"set seen (got {seen})")
    writer.delete(unique_path)
    wait_until(lambda: seen[-1] == (None, None), WAIT, f"delete seen (got {seen})")


def test_children_watch(kz: KazooClient, kz_factory: Callable[[], KazooClient],
                        unique_path: str) -> None:
    kz.create(unique_path)
    seen: list[list[str]] = []
    writer = kz_factory()
    kz.ChildrenWatch(unique_path)(lambda children: seen.append(sorted(children)))
    wait_until(lambda: seen == [[]], WAIT, "initial ChildrenWatch call")
    writer.create(f"{unique_path}/x")
    wait_until(lambda: seen[-1] == ["x"], WAIT, f"child create (got {seen})")
    writer.create(f"{unique_path}/y", ephemeral=True)
    wait_until(lambda: seen[-1] == ["x", "y"], WAIT, f"second child (got {seen})")
    writer.stop()
    wait_until(lambda: seen[-1] == ["x"], WAIT, f"ephemeral gone (got {seen})")


def test_tree_cache(kz: KazooClient, kz_factory: Callable[[], KazooClient],
                    unique_path: str) -> None:
    kz.create(f"{unique_path}/a/b", b"deep", makepath=True)
    cache = TreeCache(kz, unique_path)
    events: list[tuple[str, str | None]] = []
    started = threading.Event()

    def listener(ev: Any) -> None:
        events.append((ev.event_type, ev.event_data.path if ev.event_data else None))
        if ev.event_type == ev.INITIALIZED:
            started.set()
    cache.listen(listener)
    cache.start()
    try:
        assert started.wait(WAIT)
        assert cache.get_data(f"{unique_path}/a/b").data == b"deep"
        assert sorted(cache.get_children(f"{unique_path}/a")) == ["b"]
        writer = kz_factory()
        writer.create(f"{unique_path}/a/c", b"new")
        wait_until(lambda: cache.get_data(f"{unique_path}/a/c") is not None, WAIT,
                   "TreeCache sees the new node")
        writer.set(f"{unique_path}/a/b", b"changed")
        wait_until(lambda: cache.get_data(f"{unique_path}/a/b").data == b"changed", WAIT,
                   "TreeCache sees the change")
        writer.delete(f"{unique_path}/a/c")
        wait_until(lambda: cache.get_data(f"{unique_path}/a/c") is None, WAIT,
                   "TreeCache sees the delete")
    finally:
        cache.close()
