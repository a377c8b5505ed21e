"""Every command against the in-memory fake client: output text, stderr, exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.unit.shell.shellkit import Harness


@pytest.fixture
def h() -> Iterator[Harness]:
    harness = Harness()
    yield harness
    harness.close()


def test_create_get_set_delete(h: Harness) -> None:
    r = h.run("create /a hello")
    assert (r.out, r.err, r.code) == ("", "Created /a\n", 0)
    assert h.run("get /a").out == "hello\n"
    assert h.run("create /n").code == 0 and h.run("get /n").out == "null\n"
    assert h.run("set /a world -v 0").code == 0
    r = h.run("set -v 0 /a again")
    assert (r.err, r.code) == ("version No is not valid : /a\n", 1)
    r = h.run("set -s /a v3")
    assert "dataVersion = 2\n" in r.out
    assert h.run("delete -v 2 /a").code == 0
    r = h.run("get /a")
    assert (r.err, r.code) == ("Node does not exist: /a\n", 1)


def test_create_flags_and_errors(h: Harness) -> None:
    r = h.run("create -s /s x")
    assert r.err == "Created /s0000000000\n"
    r = h.run("create -c -e /c")
    assert r.code == 2 and "-c cannot be combined with -s or -e." in r.err
    assert "TTLs cannot be used with Ephemeral znodes" in h.run("create -e -t 10 /t").err
    assert "-t argument must be a long value" in h.run("create -t x /t").err
    assert "ttl must be positive" in h.run("create -t 0 /t").err
    r = h.run("create /x/y z")
    assert r.code == 1 and r.err.startswith("Node does not exist: /x/y\n")
    r = h.run("create /s0000000000")
    assert (r.err, r.code) == ("Node already exists: /s0000000000\n", 1)
    r = h.run("create /acl x world:anyone")
    assert r.code == 2 and "world:anyone does not have the form scheme:id:perm" in r.err
    r = h.run("create /acl x world:anyone:rz")
    assert r.code == 2 and "Unknown perm type: z" in r.err
    assert h.run("create /acl x world:anyone:r").code == 0
    assert h.run("getAcl /acl").out == "'world,'anyone\n: r\n"


def test_bad_input_lines(h: Harness) -> None:
    r = h.run("ls")
    assert r.code == 0  # ls without a path lists the cwd
    r = h.run("get")
    assert (r.err.splitlines()[0], r.code) == ("get [-s] [-w] path", 2)
    r = h.run("ls -z /")
    assert (r.err.splitlines()[0], r.code) == ("Unrecognized option: -z", 2)
    r = h.run("create /q \"open")
    assert r.code == 2 and "unbalanced" in r.err
    r = h.run("get /a/")
    assert (r.err.splitlines()[0], r.code) == ("Path must not end with / character", 2)
    r = h.run("get /a//b")
    assert r.err.startswith('Invalid path string "/a//b" caused by empty node name specified @3')
    r = h.run("set /x d -v abc")
    assert r.code == 2 and "-v argument must be an int value" in r.err
    r = h.run("frobnicate /")
    assert r.code == 127 and "Command not found: Command not found frobnicate" in r.err
    assert "Traceback" not in r.err


def test_ls_forms(h: Harness) -> None:
    h.run("create /a", "create /a/c", "create /a/b", "create /a/b/x")
    assert h.run("ls /a").out == "[b, c]\n"
    r = h.run("ls -s /a")
    assert r.out.startswith("[b, c]\ncZxid = 0x") and "numChildren = 2\n" in r.out
    assert h.run("ls -R /a").out == "/a\n/a/b\n/a/c\n/a/b/x\n"
    doc = json.loads(h.run("ls --format json -s /a").out)
    assert doc["children"] == ["b", "c"] and doc["stat"]["numChildren"] == 2
    r = h.run("ls /a watch")
    assert "'ls path [watch]' has been deprecated" in r.err


def test_stat_and_json(h: Harness) -> None:
    h.run("create /a x")
    r = h.run("stat /a")
    assert len(r.out.splitlines()) == 11 and r.out.startswith("cZxid = 0x")
    doc = json.loads(h.run("stat --format json /a").out)
    assert doc["path"] == "/a" and doc["stat"]["dataLength"] == 1
    r = h.run("stat /nope")
    assert (r.err, r.code) == ("Node does not exist: /nope\n", 1)
    doc = json.loads(h.run("getAcl --format json /a").out)
    assert doc["acl"] == [{"scheme": "world", "id": "anyone", "perms": "cdrwa"}]


def test_deleteall_and_counts(h: Harness) -> None:
    h.run("create /d", "create /d/a", "create /d/a/b", "create /d/c")
    assert h.run("getAllChildrenNumber /d").out == "3\n"
    r = h.run("delete /d")
    assert (r.err.splitlines()[0], r.code) == ("Node not empty: /d", 1)
    assert h.run("deleteall /d -b 2").code == 0
    assert h.run("ls /").out == "[zookeeper]\n"
    assert h.run("deleteall /nope").err.startswith("Node does not exist: /nope")
    r = h.run("deleteall /")
    assert r.code == 2 and "--yes" in r.err


def test_ephemerals_sync_whoami_config(h: Harness) -> None:
    h.run("create -e /e1", "create -e /e2", "create /p")
    assert h.run("getEphemerals /").out == "[/e1, /e2]\n"
    assert h.run("getEphemerals").out == "[/e1, /e2]\n"
    assert h.run("sync /p").out == "Sync is OK\n"
    assert h.run("whoami").out == "Auth scheme: User\nip: 127.0.0.1\n"
    assert h.run("addauth digest bob:pw").code == 0
    assert "digest: bob\n" in h.run("whoami").out
    assert h.run("config").out == "\n"


def test_watches_print_as_zkcli(h: Harness) -> None:
    h.run("create /w a")
    h.run("get -w /w")
    r = h.run("set /w b")
    assert r.out == ("\nWATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDataChanged "
                     "path:/w\n")
    h.run("printwatches off", "get -w /w")
    assert h.run("set /w c").out == ""
    assert h.run("printwatches").out == "printwatches is off\n"
    h.run("printwatches on")
    assert h.run("addWatch -m persistent /w").code == 0
    r = h.run("addWatch -m bogus /w")
    assert r.code == 2 and r.err.startswith("addWatch [-m mode] path")
    assert "NodeDataChanged path:/w" in h.run("set /w d").out
    assert h.run("removewatches /w").code == 0
    r = h.run("removewatches /w -d")
    assert (r.err.splitlines()[0], r.code) == ("KeeperErrorCode = No such watcher for /w", 1)


def test_history_and_redo(h: Harness) -> None:
    h.run("create /h 1", "get /h")
    r = h.run("history")
    assert r.out == "0 - create /h 1\n1 - get /h\n2 - history\n"
    assert h.run("redo 1").out == "1\n"
    assert h.run("history").out.splitlines()[3] == "3 - get /h"
    assert h.run("redo 99").err.startswith("Command index out of range")
    assert "No redoing redos" in h.run("redo 5").err  # 5 = the failed "redo 99"


def test_cd_pwd_relative_tree_find(h: Harness) -> None:
    h.run("create /app", "create /app/cfg v", "create /app/locks", "create /app/locks/l-1")
    assert h.run("cd /app").code == 0
    assert h.run("pwd").out == "/app\n"
    assert h.run("get cfg").out == "v\n"
    assert h.run("ls").out == "[cfg, locks]\n"
    assert h.run("ls locks/..").out == "[cfg, locks]\n"
    assert h.run("cd nope").err.startswith("Node does not exist: /app/nope")
    assert h.run("tree").out == "/app\n  cfg\n  locks\n    l-1\n"
    assert h.run("tree -d 1 /app").out == "/app\n  cfg\n  locks\n"
    assert json.loads(h.run("tree --format json").out)["children"][0]["name"] == "cfg"
    assert h.run("find / 'l-*'").out == "/app/locks/l-1\n"
    assert h.run("find /app lock").out == "/app/locks\n"
    h.run("cd ..")
    assert h.run("pwd").out == "/\n"


def test_quota_commands(h: Harness) -> None:
    h.run("create /q")
    assert h.run("setquota -n 10 /q").code == 0
    r = h.run("listquota /q")
    assert r.err == "absolute path is /zookeeper/quota/q/zookeeper_limits\n"
    assert r.out == ("Output quota for /q count=10,bytes=-1=;byteHardLimit=-1;"
                     "countHardLimit=-1\nOutput stat for /q count=0,bytes=0\n")
    assert h.run("delquota -n /q").code == 0
    assert "count=-1" in h.run("listquota /q").out
    assert h.run("delquota /q").code == 0
    assert h.run("listquota /q").err.endswith("quota for /q does not exist.\n")
    assert h.run("delquota /q").out == "Quota does not exist for /q\n"
    assert h.run("setquota /q").code == 2
    assert "the num quota must be greater than zero" in h.run("setquota -n 0 /q").err
    assert h.run("setquota -n 5 /nope").err.startswith("/nope does not exist.")


def test_close_then_not_connected_then_connect(h: Harness) -> None:
    h.run("create -e /eph")
    assert h.run("close").code == 0
    r = h.run("ls /")
    assert (r.err.splitlines()[0], r.code) == ("Not connected", 3)
    assert h.run("history").code == 0
    assert h.run("connect").code == 0
    assert h.run("ls /").out == "[zookeeper]\n"  # the ephemeral went with the session


def test_session_expiry_mid_session(h: Harness) -> None:
    h.run("ls /")
    h.shell.client.expire()
    r = h.run("ls /")
    assert (r.err.splitlines(), r.code) == (
        ["Session expired", "Hint: 'connect' opens a new session"], 3)
    assert h.run("connect").code == 0 and h.run("ls /").code == 0


def test_auth_failed_is_status_4(h: Harness) -> None:
    r = h.run("addauth bogus x")
    assert r.code == 4 and "KeeperErrorCode = AuthFailed\n" in r.err
    r = h.run("ls /")
    assert (r.err.splitlines()[0], r.code) == (
        "Authentication failed: the server closed the session", 4)


def test_server_down(h: Harness) -> None:
    from tests.unit.shell.fake_client import factory
    h.shell.client_factory = factory(fail_connect=True)
    r = h.run("ls /")
    assert r.code == 3 and r.err.startswith("Cannot connect to 127.0.0.1:2181")
    assert "Traceback" not in r.err


def test_binary_data_raw_when_piped_and_safe_on_tty() -> None:
    piped = Harness()
    piped.shell.client_factory(piped.shell.hosts)  # same fake server
    piped.run("create /b x")
    piped.loop.run_until_complete(piped.shell.client.set("/b", b"\x00\xff\x10"))
    assert piped.run("get /b").raw == b"\x00\xff\x10\n"
    tty = Harness(piped.server, tty=True)
    r = tty.run("get /b")
    assert r.out.startswith("00000000  00 ff 10") and "binary data, 3 bytes" in r.err
    assert tty.run("get -b /b").out == "AP8Q\n"
    piped.close()
    tty.close()


def test_help_from_registry(h: Harness) -> None:
    r = h.run("help")
    assert "Znodes:" in r.out and "getEphemerals" in r.out and r.code == 0
    r = h.run("help create")
    assert "Usage: create [-s] [-e] [-c] [-t ttl] path [data] [acl]" in r.out
    assert "-t ttl" in r.out
    assert h.run("help nope").code == 2


def test_srvr_unreachable_is_unavailable(h: Harness) -> None:
    h.shell.hosts = "127.0.0.1:1"
    r = h.run("srvr")
    assert r.code == 3 and "cannot reach 127.0.0.1:1" in r.err


def test_version_and_reconfig(h: Harness) -> None:
    assert h.run("version").out.startswith("zkpy CLI version: ")
    assert h.run("reconfig -add 4=x").code == 1
