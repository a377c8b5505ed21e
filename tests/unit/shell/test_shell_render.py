"""shell.render: zkCli's exact formats (stat block, lists, ACLs, events) and data safety."""

from __future__ import annotations

import datetime as dt

from shell import render
from tests.unit.shell.fake_client import FakeEvent
from zkpy.proto.opcodes import EventType, KeeperState
from zkpy.proto.records import ACL, Id, Stat

UTC = dt.UTC


def test_java_hex_is_long_to_hex_string() -> None:
    assert render.java_hex(0) == "0"
    assert render.java_hex(0x100000002) == "100000002"
    assert render.java_hex(-1) == "ffffffffffffffff"
    assert render.java_hex(-0x8000000000000000) == "8000000000000000"


def test_java_date_format() -> None:
    assert render.java_date(0, UTC) == "Thu Jan 01 00:00:00 UTC 1970"
    # 2026-11-21 12:29:15 UTC, a Saturday; day of month zero padded
    ms = int(dt.datetime(2026, 11, 21, 12, 29, 15, tzinfo=UTC).timestamp() * 1000)
    assert render.java_date(ms, UTC) == "Sat Nov 21 12:29:15 UTC 2026"
    ms = int(dt.datetime(2026, 3, 2, 1, 2, 3, tzinfo=UTC).timestamp() * 1000)
    assert render.java_date(ms, UTC) == "Mon Mar 02 01:02:03 UTC 2026"


def test_stat_block_exact_text() -> None:
    ms = int(dt.datetime(2026, 11, 21, 12, 29, 15, tzinfo=UTC).timestamp() * 1000)
    st = Stat(0x16, 0x17, ms, ms, 1, 2, 0, 0x10000075cde000a, 5, 0, 0x16)
    assert render.stat_block(st, UTC) == (
        "cZxid = 0x16\n"
        "ctime = Sat Nov 21 12:29:15 UTC 2026\n"
        "mZxid = 0x17\n"
        "mtime = Sat Nov 21 12:29:15 UTC 2026\n"
        "pZxid = 0x16\n"
        "cversion = 2\n"
        "dataVersion = 1\n"
        "aclVersion = 0\n"
        "ephemeralOwner = 0x10000075cde000a\n"
        "dataLength = 5\n"
        "numChildren = 0\n")


def test_fresh_root_stat_block() -> None:
    st = Stat(0, 0, 0, 0, 0, -1, 0, 0, 0, 1, 0)
    text = render.stat_block(st, UTC)
    assert "ctime = Thu Jan 01 00:00:00 UTC 1970\n" in text
    assert "cversion = -1\n" in text and text.endswith("numChildren = 1\n")
    assert len(text.splitlines()) == 11


def test_stat_dict_for_json() -> None:
    st = Stat(0x16, 0x17, 0, 1500, 1, 2, 3, -1, 5, 0, 0x18)
    d = render.stat_dict(st)
    assert d["cZxid"] == "0x16" and d["pZxid"] == "0x18"
    assert d["ephemeralOwner"] == "0xffffffffffffffff"
    assert d["mtime"] == "1970-01-01T00:00:01.500Z"
    assert list(d) == ["cZxid", "ctime", "mZxid", "mtime", "pZxid", "cversion",
                       "dataVersion", "aclVersion", "ephemeralOwner", "dataLength",
                       "numChildren"]


def test_java_list() -> None:
    assert render.java_list([]) == "[]"
    assert render.java_list(["a", "b", "c"]) == "[a, b, c]"


def test_acl_lines_and_perms() -> None:
    acls = [ACL(31, Id("world", "anyone")), ACL(1, Id("digest", "u:x,y"))]
    assert render.acl_lines(acls) == "'world,'anyone\n: cdrwa\n'digest,'u:x%2Cy\n: r\n"
    assert render.perm_string(4 | 1) == "cr"
    assert render.parse_perms("rwcda") == 31
    try:
        render.parse_perms("rz")
    except ValueError as e:
        assert str(e) == "Unknown perm type: z"
    else:
        raise AssertionError("expected ValueError")


def test_data_safety() -> None:
    assert render.data_for_pipe(None) == b"null\n"
    assert render.data_for_pipe(b"\x00\xff") == b"\x00\xff\n"
    assert render.data_for_terminal(b"hello") == ("hello\n", None)
    assert render.data_for_terminal(b"") == ("\n", None)
    assert render.data_for_terminal(None) == ("null\n", None)
    text, note = render.data_for_terminal(b"\x00\x01ab")
    assert text.startswith("00000000  00 01 61 62") and "|..ab|" in text
    assert note and "binary" in note
    text, note = render.data_for_terminal(b"\xff\xfe", "base64")
    assert text == "//4=\n" and note and "base64" in note


def test_event_lines() -> None:
    ev = FakeEvent(EventType.NODE_DELETED, KeeperState.SYNC_CONNECTED, "/lock")
    assert render.event_line(ev) == "WatchedEvent state:SyncConnected type:NodeDeleted path:/lock"
    conn = FakeEvent(EventType.NONE, KeeperState.CLOSED, None)
    assert render.watcher_block(conn) == (
        "\nWATCHER::\n\nWatchedEvent state:Closed type:None path:null\n")


def test_trees() -> None:
    root = ("/a", [("b", [("x", [])]), ("c", [])])
    assert render.tree_plain(root) == "/a\n  b\n    x\n  c\n"
    assert render.tree_glyphs(root) == "/a\n├── b\n│   └── x\n└── c\n"
    assert "└── c" in render.tree_rich(root, color=False)
