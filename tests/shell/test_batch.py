"""zkpy shell in batch mode against a live server: invocation forms, scripts, exit
statuses, JSON, binary data, watch events, and every command at least once (the ones
zkCli also has are compared with zkCli's output in test_vs_zkcli.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from shell.commands import COMMANDS
from tests.shell.support import ROOT, SHELL_CMD, LineReader, live_server, run_shell, shell_env
from tests.support.servers import ServerHandle, free_port, wait_until
from zkpy.client import Client

KINDS = ["zookeeper", "zkpy"]


@pytest.fixture(params=KINDS)
def server(request: pytest.FixtureRequest) -> ServerHandle:
    return live_server(request, request.param)


@pytest.fixture
def p() -> str:
    return f"/sh-{uuid.uuid4().hex[:10]}"


def test_one_shot_spellings(server: ServerHandle, p: str) -> None:
    r = run_shell(["-server", server.hosts, "create", p, "hello world"])
    assert (r.stdout, r.stderr, r.returncode) == (b"", f"Created {p}\n".encode(), 0)
    for opts in (["-server", server.hosts], ["--server", server.hosts], ["-s", server.hosts],
                 ["-server", server.hosts, "-timeout", "5000"]):
        r = run_shell([*opts, "get", p])
        assert (r.stdout, r.returncode) == (b"hello world\n", 0), opts
    # options after positionals belong to the command (commons-cli style)
    r = run_shell(["-s", server.hosts, "set", p, "v2", "-v", "0"])
    assert r.returncode == 0
    r = run_shell(["-s", server.hosts, "get", p, "-s"])
    assert r.stdout.startswith(b"v2\ncZxid = 0x") and b"dataVersion = 1\n" in r.stdout
    r = run_shell(["-s", server.hosts, "get", f"{p}/nope"])
    assert (r.stdout, r.stderr, r.returncode) == (
        b"", f"Node does not exist: {p}/nope\n".encode(), 1)


def test_unknown_command_and_usage_errors(server: ServerHandle) -> None:
    r = run_shell(["-s", server.hosts, "frobnicate"])
    assert r.returncode == 127
    assert r.stderr.decode().splitlines()[-2] == "Command not found: Command not found frobnicate"
    r = run_shell(["-s", server.hosts, "ls", "-z", "/"])
    assert (r.stderr.decode().splitlines()[0], r.returncode) == ("Unrecognized option: -z", 2)
    r = run_shell(["-s", server.hosts, "get"])
    assert (r.stderr.decode().splitlines()[0], r.returncode) == ("get [-s] [-w] path", 2)
    r = run_shell(["-s", server.hosts, "set", "/x", "d", "-v", "abc"])
    assert r.returncode == 2 and b"-v argument must be an int value" in r.stderr
    r = run_shell(["-s", server.hosts], stdin='create /q "unclosed\n')
    assert r.returncode == 2 and b"unbalanced" in r.stderr
    r = run_shell(["-s", server.hosts, "create", "/q", "x", "world:anyone"])
    assert r.returncode == 2 and r.stderr.startswith(
        b"world:anyone does not have the form scheme:id:perm\n")
    assert b"Traceback" not in r.stderr


def test_server_down_is_one_line_and_status_3() -> None:
    port = free_port()
    r = run_shell(["-s", f"127.0.0.1:{port}", "-timeout", "2000", "ls", "/"], timeout_s=30)
    assert r.returncode == 3
    err = r.stderr.decode()
    assert err.startswith(f"Cannot connect to 127.0.0.1:{port}") and "Traceback" not in err
    assert err.count("\n") <= 2  # the message and a hint


def test_script_file_comments_stop_and_keep_going(server: ServerHandle, p: str,
                                                  tmp_path: Path) -> None:
    script = tmp_path / "s.zk"
    script.write_text(f"# setup\ncreate {p} root\n\n  # indented comment\nget {p}\n"
                      f"get {p}/missing\ncreate {p}/after\n")
    r = run_shell(["-s", server.hosts, "-f", str(script)])
    assert (r.stdout, r.returncode) == (b"root\n", 1)          # stopped at the failure
    assert r.stderr.decode() == f"Created {p}\nNode does not exist: {p}/missing\n"
    r = run_shell(["-s", server.hosts, "--keep-going", "-f", str(script)])
    assert r.returncode == 1 and f"Created {p}/after" in r.stderr.decode()
    r = run_shell(["-s", server.hosts, "-f", str(tmp_path / "missing.zk")])
    assert r.returncode == 2 and b"Cannot read script" in r.stderr


def test_stdin_script_no_prompt_no_banner(server: ServerHandle, p: str) -> None:
    r = run_shell(["-s", server.hosts], stdin=f"create {p} x\nls {p}\nget {p}\n")
    assert (r.stdout, r.returncode) == (b"[]\nx\n", 0)
    assert r.stderr == f"Created {p}\n".encode()


def test_json_formats(server: ServerHandle, p: str) -> None:
    run_shell(["-s", server.hosts, "create", p, "x"])
    run_shell(["-s", server.hosts, "create", f"{p}/c"])
    doc = json.loads(run_shell(["-s", server.hosts, "--format", "json", "stat", p]).stdout)
    assert doc["path"] == p and doc["stat"]["numChildren"] == 1
    assert doc["stat"]["cZxid"].startswith("0x")
    doc = json.loads(run_shell(["-s", server.hosts, "--format", "json", "ls", "-s", p]).stdout)
    assert doc["children"] == ["c"] and doc["stat"]["dataLength"] == 1
    doc = json.loads(run_shell(["-s", server.hosts, "getAcl", "--format", "json", p]).stdout)
    assert doc["acl"] == [{"scheme": "world", "id": "anyone", "perms": "cdrwa"}]
    doc = json.loads(run_shell(["-s", server.hosts, "--format", "json", "srvr"]).stdout)
    assert doc["server"] == server.hosts and "Mode" in doc


def test_binary_data_is_raw_when_piped(server: ServerHandle, p: str) -> None:
    c = Client(server.hosts)
    c.start()
    try:
        blob = bytes(range(256))
        c.create(p, blob)
    finally:
        c.close()
    r = run_shell(["-s", server.hosts, "get", p])
    assert r.stdout == blob + b"\n"
    r = run_shell(["-s", server.hosts, "get", "-b", p])
    assert r.stdout.startswith(b"AAECAwQF")
    r = run_shell(["-s", server.hosts, "get", "-x", p])
    assert r.stdout.startswith(b"00000000  00 01 02 03")


def test_watch_events_are_printed(server: ServerHandle, p: str) -> None:
    script = (f"create {p} a\nget -w {p}\nset {p} b\nls -w {p}\ncreate {p}/k\n"
              f"stat -w {p}/later\ncreate {p}/later\nsync {p}\n")
    r = run_shell(["-s", server.hosts, "--keep-going"], stdin=script)
    out = r.stdout.decode()
    # stat -w on a missing node fails (as zkCli) but leaves the exists watch
    assert r.returncode == 1 and r.stderr.decode().endswith(
        f"Node does not exist: {p}/later\nCreated {p}/later\n")
    for etype, path in (("NodeDataChanged", p), ("NodeChildrenChanged", p),
                        ("NodeCreated", f"{p}/later")):
        assert f"WATCHER::\n\nWatchedEvent state:SyncConnected type:{etype} path:{path}\n" \
            in out, out


def test_watch_stream_command(server: ServerHandle, p: str) -> None:
    run_shell(["-s", server.hosts, "create", p, "a"])
    proc = subprocess.Popen([*SHELL_CMD, "-s", server.hosts, "watch", "-R", "-n", "2", "-t",
                             "30", p], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=shell_env(), cwd=ROOT)
    try:
        out = LineReader(proc.stdout, "watch")
        c = Client(server.hosts)
        c.start()
        try:
            # the watch is registered once a probe write shows up in the stream
            def probe() -> bool:
                c.set(p, b"probe")
                try:
                    out.wait_for("NodeDataChanged", 0.3)
                    return True
                except TimeoutError:
                    return False
            wait_until(probe, 20, "the watch stream to start")
            c.create(f"{p}/kid", b"")
            out.wait_for(f"type:NodeCreated path:{p}/kid", 10)
        finally:
            c.close()
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_navigation_and_extras(server: ServerHandle, p: str) -> None:
    script = (f"create {p}\ncreate {p}/app\ncreate {p}/app/cfg v\ncreate {p}/app/locks\n"
              f"create {p}/app/locks/lock-1\ncd {p}/app\npwd\nget cfg\nls\nls locks/..\n"
              f"tree\ntree -d 1 {p}\nfind {p} 'lock-*'\nfind {p} cf\ncd ..\npwd\ncd\npwd\n")
    r = run_shell(["-s", server.hosts], stdin=script)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == (
        f"{p}/app\nv\n[cfg, locks]\n[cfg, locks]\n"
        f"{p}/app\n  cfg\n  locks\n    lock-1\n"
        f"{p}\n  app\n"
        f"{p}/app/locks/lock-1\n"
        f"{p}/app/cfg\n"
        f"{p}\n/\n")
    r = run_shell(["-s", server.hosts, "cd", f"{p}/nope"])
    assert r.returncode == 1 and r.stderr.startswith(f"Node does not exist: {p}/nope".encode())


def test_session_commands(server: ServerHandle, p: str) -> None:
    script = (f"create -e {p} x\ngetEphemerals {p}\nclose\nls /\nconnect {server.hosts}\n"
              f"ls {p}\nhistory\nredo 5\nversion\nhelp\nhelp create\nquit\nls /\n")
    r = run_shell(["-s", server.hosts, "--keep-going"], stdin=script)
    out, err = r.stdout.decode(), r.stderr.decode()
    assert out.startswith(f"[{p}]\n")
    assert "Not connected\n" in err and r.returncode == 3   # ls after close
    assert f"Node does not exist: {p}" in err                # the ephemeral went with it
    assert "5 - ls " in out and "zkpy CLI version:" in out
    assert "Znodes:" in out and "Usage: create [-s] [-e] [-c] [-t ttl] path [data] [acl]" in out
    r = run_shell(["-s", server.hosts], stdin="ls /\nexit\nls /nope\n")
    assert r.returncode == 0 and b"Node does not exist" not in r.stderr


def test_deleteall_rmr_ttl_config_reconfig_mntr(server: ServerHandle, p: str) -> None:
    script = (f"create {p}\ncreate {p}/a\ncreate {p}/a/b\nrmr {p}/a\nls {p}\nconfig\n"
              f"mntr\n")
    r = run_shell(["-s", server.hosts], stdin=script)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert out.startswith("[]\n") and "zk_version\t" in out
    assert b"'rmr' has been deprecated" in r.stderr
    r = run_shell(["-s", server.hosts, "create", "-t", "1000", f"{p}/ttl", "x"])
    # TTL nodes need extendedTypesEnabled on Apache ZooKeeper
    assert r.returncode in (0, 1)
    if r.returncode == 1:
        assert r.stderr.decode().startswith(f"KeeperErrorCode = Unimplemented for {p}/ttl")
    r = run_shell(["-s", server.hosts, "reconfig", "-remove", "9"])
    assert r.returncode == 1 and b"Traceback" not in r.stderr


def test_deleteall_root_needs_yes(server: ServerHandle) -> None:
    r = run_shell(["-s", server.hosts, "deleteall", "/"])
    assert r.returncode == 2 and b"--yes" in r.stderr


EXERCISED = {
    "test_one_shot_spellings": {"create", "get", "set"},
    "test_vs_zkcli": {"create", "get", "ls", "stat", "set", "getAcl", "setAcl",
                      "getAllChildrenNumber", "getEphemerals", "sync", "whoami", "delete",
                      "deleteall", "addWatch", "removewatches", "printwatches", "setquota",
                      "listquota", "delquota", "config", "addauth", "history", "redo"},
    "test_navigation_and_extras": {"cd", "pwd", "tree", "find"},
    "test_session_commands": {"close", "connect", "version", "help", "quit"},
    "test_watch_stream_command": {"watch"},
    "test_json_formats": {"srvr"},
    "test_deleteall_rmr_ttl_config_reconfig_mntr": {"mntr", "reconfig"},
}


def test_every_command_is_exercised_in_batch_mode() -> None:
    covered = set().union(*EXERCISED.values())
    assert {c.name for c in COMMANDS} <= covered, {c.name for c in COMMANDS} - covered


def test_session_expiry_mid_session(server: ServerHandle, p: str) -> None:
    """The shell is frozen (SIGSTOP) past its session timeout: the server expires the
    session; once resumed, commands say so in one line with status 3."""
    proc = subprocess.Popen([*SHELL_CMD, "-s", server.hosts, "-timeout", "4000",
                             "--keep-going"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=shell_env(), cwd=ROOT)
    assert proc.stdin is not None
    err = LineReader(proc.stderr, "shell stderr")
    c = Client(server.hosts)
    c.start()
    try:
        proc.stdin.write(f"create -e {p} x\n".encode())
        proc.stdin.flush()
        err.wait_for(f"^Created {p}$", 20)
        os.kill(proc.pid, signal.SIGSTOP)
        try:
            wait_until(lambda: c.exists(p) is None, 30, "the frozen shell's session to expire")
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        deadline = time.monotonic() + 30
        while True:
            proc.stdin.write(b"ls /\n")
            proc.stdin.flush()
            line = err.wait_for(r"^(Session expired|KeeperErrorCode = \w+|Not connected)", 20)
            if line.group(0) == "Session expired" or time.monotonic() > deadline:
                break
        assert line.group(0) == "Session expired"
        proc.stdin.close()
        assert proc.wait(timeout=20) == 3
        assert not any("Traceback" in ln for ln in err.lines)
    finally:
        c.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_ctrl_c_in_batch_mode_exits_130(server: ServerHandle, p: str) -> None:
    proc = subprocess.Popen([*SHELL_CMD, "-s", server.hosts], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=shell_env(),
                            cwd=ROOT)
    assert proc.stdin is not None
    err = LineReader(proc.stderr, "shell stderr")
    try:
        proc.stdin.write(f"create {p} x\n".encode())
        proc.stdin.flush()
        err.wait_for(f"^Created {p}$", 20)             # now waiting for the next line
        os.kill(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=15) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
