"""Watches: one-shot tables, persistent/recursive, dedup, ACL filter, SetWatches, removal."""

from __future__ import annotations

from zkpy.proto import records as r
from zkpy.proto.opcodes import Err, OpCode, WatcherType

from .harness import OPEN, Z, digest_user, events_of

CREATED, DELETED, CHANGED, CHILD = 1, 2, 3, 4


def setup() -> tuple[Z, object, object]:
    z = Z()
    writer = z.connect()
    watcher = z.connect()
    return z, writer, watcher


def test_data_watch_is_one_shot() -> None:
    z, c, w = setup()
    z.create(c, "/a")
    z.get(w, "/a", watch=True)
    z.get(w, "/a", watch=True)  # same watch twice = one registration
    a = z.set(c, "/a", b"1")
    assert events_of(a, w) == [(CHANGED, "/a")]
    assert a.events[0][1].state == 3
    assert events_of(z.set(c, "/a", b"2"), w) == []


def test_exists_watch_on_missing_node() -> None:
    z, c, w = setup()
    assert z.exists(w, "/a", watch=True)[0] == Err.NONODE
    assert events_of(z.create(c, "/a"), w) == [(CREATED, "/a")]


def test_get_data_on_missing_registers_nothing() -> None:
    z, c, w = setup()
    z.get(w, "/a", watch=True)
    assert events_of(z.create(c, "/a"), w) == []


def test_child_watch() -> None:
    z, c, w = setup()
    z.create(c, "/p")
    z.children(w, "/p", watch=True)
    assert events_of(z.set(c, "/p", b"x"), w) == []  # setData does not fire child watches
    assert events_of(z.create(c, "/p/a"), w) == [(CHILD, "/p")]
    z.children2(w, "/p", watch=True)
    assert events_of(z.delete(c, "/p/a"), w) == [(CHILD, "/p")]
    z.children(w, "/", watch=True)
    assert events_of(z.create(c, "/top"), w) == [(CHILD, "/")]


def test_delete_sends_node_deleted_once_per_connection() -> None:
    z, c, w = setup()
    z.create(c, "/p")
    z.create(c, "/p/a")
    z.get(w, "/p/a", watch=True)
    z.children(w, "/p/a", watch=True)
    z.children(w, "/p", watch=True)
    other = z.connect()
    z.children(other, "/p/a", watch=True)
    a = z.delete(c, "/p/a")
    assert events_of(a, w) == [(DELETED, "/p/a"), (CHILD, "/p")]
    assert events_of(a, other) == [(DELETED, "/p/a")]
    # all one-shots consumed
    z.create(c, "/p/a")
    assert events_of(z.delete(c, "/p/a"), w) == []


def test_events_for_several_connections() -> None:
    z, c, w = setup()
    w2 = z.connect()
    z.create(c, "/a")
    z.get(w, "/a", watch=True)
    z.exists(w2, "/a", watch=True)
    a = z.set(c, "/a", b"")
    assert sorted(x for x, _ in [(id(k), 0) for k, _ in a.events]) == sorted(
        [id(w.watcher), id(w2.watcher)])
    # one WatcherEvent record shared by the trigger
    assert a.events[0][1] is a.events[1][1]


def test_persistent_watch() -> None:
    z, c, w = setup()
    assert z.add_watch(w, "/p", 0) == (0, r.ErrorResponse(0))
    assert events_of(z.create(c, "/p"), w) == [(CREATED, "/p")]
    assert events_of(z.set(c, "/p", b"1"), w) == [(CHANGED, "/p")]
    assert events_of(z.create(c, "/p/c"), w) == [(CHILD, "/p")]
    assert events_of(z.set(c, "/p/c", b"1"), w) == []  # not recursive
    assert events_of(z.delete(c, "/p/c"), w) == [(CHILD, "/p")]
    assert events_of(z.delete(c, "/p"), w) == [(DELETED, "/p")]
    assert events_of(z.create(c, "/p"), w) == [(CREATED, "/p")]  # still there


def test_recursive_watch() -> None:
    z, c, w = setup()
    z.add_watch(w, "/r", 1)
    assert events_of(z.create(c, "/r"), w) == [(CREATED, "/r")]
    assert events_of(z.create(c, "/r/a"), w) == [(CREATED, "/r/a")]
    assert events_of(z.create(c, "/r/a/b"), w) == [(CREATED, "/r/a/b")]
    assert events_of(z.set(c, "/r/a/b", b"x"), w) == [(CHANGED, "/r/a/b")]
    assert events_of(z.delete(c, "/r/a/b"), w) == [(DELETED, "/r/a/b")]
    assert events_of(z.create(c, "/rx"), w) == []  # not a descendant
    # a standard watch next to the recursive one: one event per trigger
    z.children(w, "/r", watch=True)
    z.get(w, "/r/a", watch=True)
    assert events_of(z.set(c, "/r/a", b"1"), w) == [(CHANGED, "/r/a")]
    assert events_of(z.create(c, "/r/n"), w) == [(CREATED, "/r/n"), (CHILD, "/r")]
    assert z.sm.watches.data.recursive == 1


def test_recursive_on_root() -> None:
    z, c, w = setup()
    z.add_watch(w, "/", 1)
    assert events_of(z.create(c, "/a"), w) == [(CREATED, "/a")]


def test_standard_and_persistent_on_same_path() -> None:
    z, c, w = setup()
    z.create(c, "/a")
    z.add_watch(w, "/a", 0)
    z.get(w, "/a", watch=True)
    assert events_of(z.set(c, "/a", b"1"), w) == [(CHANGED, "/a")]
    assert z.sm.read(w, OpCode.CHECK_WATCHES, r.CheckWatchesRequest(
        "/a", WatcherType.PERSISTENT))[0] == 0
    assert events_of(z.set(c, "/a", b"2"), w) == [(CHANGED, "/a")]


def test_acl_filter_on_delivery() -> None:
    z, c, w = setup()
    z.sm.authenticate(c, "digest", b"owner:pw")
    secret = [r.ACL(31, digest_user("owner", "pw"))]
    z.add_watch(w, "/", 1)
    z.create(c, "/pub")
    z.children(w, "/pub", watch=True)
    a = z.create(c, "/pub/secret", acl=secret)
    # NodeCreated for the secret node is dropped, NodeChildrenChanged uses the parent ACL
    assert events_of(a, w) == [(CHILD, "/pub")]
    assert events_of(z.set(c, "/pub/secret", b"x"), w) == []
    # the owner's own watch still fires
    z.exists(c, "/pub/secret", watch=True)
    assert events_of(z.set(c, "/pub/secret", b"y"), c) == [(CHANGED, "/pub/secret")]
    # once authenticated, the watcher sees it
    z.sm.authenticate(w, "digest", b"owner:pw")
    assert events_of(z.set(c, "/pub/secret", b"z"), w) == [(CHANGED, "/pub/secret")]


def test_check_and_remove_watches() -> None:
    z, c, w = setup()
    z.create(c, "/a")
    sm = z.sm

    def check(t: int) -> int:
        return sm.read(w, OpCode.CHECK_WATCHES, r.CheckWatchesRequest("/a", t))[0]

    def remove(t: int) -> int:
        return sm.read(w, OpCode.REMOVE_WATCHES, r.RemoveWatchesRequest("/a", t))[0]

    assert check(WatcherType.ANY) == Err.NOWATCHER
    assert remove(WatcherType.ANY) == Err.NOWATCHER
    z.get(w, "/a", watch=True)
    assert check(WatcherType.DATA) == 0
    assert check(WatcherType.CHILDREN) == Err.NOWATCHER
    assert check(WatcherType.ANY) == 0
    assert remove(WatcherType.CHILDREN) == Err.NOWATCHER
    assert remove(WatcherType.DATA) == 0
    assert check(WatcherType.DATA) == Err.NOWATCHER
    z.children(w, "/a", watch=True)
    z.add_watch(w, "/a", 0)
    z.add_watch(w, "/a", 1)
    assert check(WatcherType.PERSISTENT) == 0
    assert check(WatcherType.PERSISTENT_RECURSIVE) == 0
    assert remove(WatcherType.PERSISTENT) == 0
    assert check(WatcherType.PERSISTENT) == Err.NOWATCHER
    assert check(WatcherType.CHILDREN) == 0
    assert remove(WatcherType.ANY) == 0
    assert check(WatcherType.ANY) == Err.NOWATCHER
    assert sm.watches.watch_count() == 0 and sm.watches.data.recursive == 0
    assert events_of(z.set(c, "/a", b"x"), w) == []
    assert sm.read(w, OpCode.CHECK_WATCHES, r.CheckWatchesRequest("/a", 9))[0] == \
        Err.MARSHALLINGERROR
    assert sm.read(w, OpCode.ADD_WATCH, r.AddWatchRequest("/a", 7))[0] == Err.MARSHALLINGERROR


def test_set_watches_catch_up() -> None:
    z, c, w = setup()
    z.create(c, "/d")
    z.create(c, "/e")
    z.create(c, "/k")
    rel = z.sm.last_zxid
    z.set(c, "/e", b"changed")
    z.create(c, "/k/new")
    z.create(c, "/born")
    req = r.SetWatches(rel, ["/d", "/e", "/gone"], ["/born", "/unborn"], ["/k", "/d", "/gone2"])
    evs = z.sm.set_watches(w, req)
    assert [(e.type, e.path) for e in evs] == [
        (CHANGED, "/e"), (DELETED, "/gone"), (CREATED, "/born"), (CHILD, "/k"),
        (DELETED, "/gone2")]
    assert all(e.state == 3 for e in evs)
    # the others were registered
    assert events_of(z.set(c, "/d", b"1"), w) == [(CHANGED, "/d")]
    assert events_of(z.create(c, "/unborn"), w) == [(CREATED, "/unborn")]
    assert events_of(z.create(c, "/d/x"), w) == [(CHILD, "/d")]
    # nothing registered for the ones that fired
    assert events_of(z.set(c, "/e", b"again"), w) == []


def test_set_watches2_persistent() -> None:
    z, c, w = setup()
    req = r.SetWatches2(0, [], [], [], ["/p"], ["/r"])
    assert z.sm.set_watches(w, req) == []
    assert events_of(z.create(c, "/p"), w) == [(CREATED, "/p")]
    z.create(c, "/r")
    assert events_of(z.create(c, "/r/x"), w) == [(CREATED, "/r/x")]


def test_drop_watcher() -> None:
    z, c, w = setup()
    z.create(c, "/a")
    z.get(w, "/a", watch=True)
    z.children(w, "/a", watch=True)
    z.add_watch(w, "/", 1)
    z.sm.drop_watcher(w.watcher)
    assert z.sm.watches.watch_count() == 0
    assert events_of(z.set(c, "/a", b"1")) == []


def test_watch_summary() -> None:
    z, c, w = setup()
    z.create(c, "/a")
    z.get(w, "/a", watch=True)
    z.exists(c, "/b", watch=True)
    z.children(w, "/a", watch=True)
    s = z.sm.watch_summary()
    assert s.by_path == {"/a": [w.watcher], "/b": [c.watcher]}
    assert s.by_watcher[w.watcher] == ["/a"]
    assert (s.connections, s.paths, s.data_watches, s.total) == (2, 2, 2, 3)


def test_close_session_events_order() -> None:
    z, c, w = setup()
    z.create(c, "/p", acl=OPEN)
    for name in ("b", "a", "c"):
        z.create(c, f"/p/{name}", flags=1)
    z.add_watch(w, "/p", 1)
    z.children(w, "/p", watch=True)
    a = z.close(c)
    assert events_of(a, w) == [(DELETED, "/p/a"), (CHILD, "/p"), (DELETED, "/p/b"),
                               (DELETED, "/p/c")]


def test_watch_count_like_zookeeper_38() -> None:
    z, c, w = setup()
    z.add_watch(w, "/r", 1)  # 3.8 lists it in both tables
    assert z.sm.watch_summary().total == 2
    z.add_watch(w, "/p", 0)
    assert z.sm.watch_summary().total == 4
    z.get(w, "/p", watch=True)  # same (path, watcher): no new registration
    assert z.sm.watch_summary().total == 4
    assert z.sm.watch_summary().data_watches == 2


def test_check_remove_match_every_mode_in_a_table_like_38() -> None:
    z, c, w = setup()
    z.create(c, "/p")
    sm = z.sm

    def check(path: str, t: int) -> int:
        return sm.read(w, OpCode.CHECK_WATCHES, r.CheckWatchesRequest(path, t))[0]

    def remove(path: str, t: int) -> int:
        return sm.read(w, OpCode.REMOVE_WATCHES, r.RemoveWatchesRequest(path, t))[0]

    z.add_watch(w, "/p", 0)
    assert check("/p", WatcherType.DATA) == 0 and check("/p", WatcherType.CHILDREN) == 0
    assert remove("/p", WatcherType.DATA) == 0
    # the child-table half of the persistent watch stays
    assert events_of(z.set(c, "/p", b"1"), w) == []
    assert events_of(z.create(c, "/p/k"), w) == [(CHILD, "/p")]
    z.add_watch(w, "/r", 1)
    assert check("/r", WatcherType.CHILDREN) == 0  # 3.8 lists recursive in both tables
    assert remove("/r", WatcherType.CHILDREN) == 0
    z.create(c, "/r")
    assert events_of(z.create(c, "/r/x"), w) == [(CREATED, "/r/x")]
