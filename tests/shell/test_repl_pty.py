"""The interactive shell through a real pseudo-terminal (pexpect): znode path
completion, a watch event arriving while a line is half typed, Ctrl-C (clear the line,
cancel a running command), Ctrl-D, and history recall (arrow keys, Ctrl-R, the file)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from tests.shell.support import ROOT, SHELL_CMD, live_server, shell_env
from tests.support.servers import ServerHandle
from zkpy.client import Client

TIMEOUT_S = 20


@pytest.fixture(params=["zookeeper", "zkpy"])
def server(request: pytest.FixtureRequest) -> ServerHandle:
    return live_server(request, request.param)


class Repl:
    def __init__(self, hosts: str, state_dir: Path) -> None:
        env = shell_env({"TERM": "xterm", "XDG_STATE_HOME": str(state_dir),
                         "PROMPT_TOOLKIT_NO_CPR": "1", "COLUMNS": "200", "LINES": "40"})
        self.child = pexpect.spawn(SHELL_CMD[0], [*SHELL_CMD[1:], "-s", hosts], env=env,
                                   cwd=str(ROOT), dimensions=(40, 200), timeout=TIMEOUT_S,
                                   encoding="utf-8", codec_errors="replace")
        self.pid = self.child.pid
        # prompt_toolkit redraws only what changed: "(CONNECTING)" becomes "ED) / 0]"
        self.child.expect(r"ED\) / \d+\]")

    def run(self, line: str, expect: str) -> None:
        self.child.send(line + "\r")
        self.child.expect_exact(expect)

    def wait_prompt(self, n: int) -> None:
        """Wait for prompt number ``n``: only then is the terminal in raw mode again, so
        control keys reach the shell (in cooked mode the tty eats ^D and ^R)."""
        self.child.expect(rf"\) / {n}\]")

    def close(self) -> None:
        if self.child.isalive():
            self.child.sendcontrol("d")
            try:
                self.child.expect(pexpect.EOF, timeout=10)
            except pexpect.TIMEOUT:
                pass
        if self.child.isalive():
            os.kill(self.pid, 9)
        self.child.close(force=True)


@pytest.fixture
def repl(server: ServerHandle, tmp_path: Path) -> Iterator[Repl]:
    r = Repl(server.hosts, tmp_path)
    yield r
    r.close()


@pytest.fixture
def node(server: ServerHandle) -> Iterator[str]:
    p = f"/pty-{uuid.uuid4().hex[:10]}"
    c = Client(server.hosts)
    c.start()
    c.create(p, b"root-data")
    c.create(f"{p}/unique-child-name", b"child-data")
    try:
        yield p
    finally:
        c.delete_recursive(p)
        c.close()


def test_path_completion(repl: Repl, node: str) -> None:
    repl.child.send(f"get {node}/uniq")
    repl.child.expect_exact("unique-child-name")      # the menu offers the live child
    repl.child.send("\t")                             # take it
    repl.child.send("\r")
    repl.child.expect_exact("child-data")
    # a command name completes too
    repl.child.send("getAllCh")
    repl.child.expect_exact("getAllChildrenNumber")
    repl.child.send("\t")
    repl.child.send(f" {node}\r")
    repl.child.expect_exact("1\r\n")


def test_watch_event_while_a_line_is_half_typed(repl: Repl, node: str,
                                                server: ServerHandle) -> None:
    repl.run(f"get -w {node}", "root-data")
    repl.child.send(f"ls {node}")                    # half typed, no Enter
    c = Client(server.hosts)
    c.start()
    try:
        c.set(node, b"changed")
    finally:
        c.close()
    repl.child.expect_exact(f"type:NodeDataChanged path:{node}")
    repl.child.send("\r")                             # the typed line is intact
    repl.child.expect_exact("[unique-child-name]")


def test_ctrl_c_clears_the_line_and_cancels_a_command(repl: Repl, node: str) -> None:
    repl.child.send("this-is-not-a-command")
    repl.child.sendcontrol("c")
    repl.child.send("pwd\r")
    repl.child.expect_exact("/\r\n")
    assert "Command not found" not in repl.child.before
    repl.child.send(f"watch -t 60 {node}\r")
    repl.child.expect_exact(f"Watching {node} (Ctrl-C to stop)")
    # the watch runs until Ctrl-C; then the prompt is back and usable
    repl.child.sendcontrol("c")
    repl.child.send(f"get {node}\r")
    repl.child.expect_exact("root-data")


def test_ctrl_d_exits_with_the_last_status(repl: Repl) -> None:
    repl.run("pwd", "/\r\n")
    repl.wait_prompt(1)
    repl.child.sendcontrol("d")
    repl.child.expect(pexpect.EOF)
    repl.child.close()
    assert repl.child.exitstatus == 0


def test_history_recall(repl: Repl, node: str, server: ServerHandle, tmp_path: Path) -> None:
    repl.run(f"get {node}/unique-child-name", "child-data")
    repl.run("pwd", "/\r\n")
    repl.wait_prompt(2)
    repl.child.send("\x1b[A\x1b[A")                  # Up, Up: the get line
    repl.child.send("\r")
    repl.child.expect_exact("child-data")
    repl.wait_prompt(3)
    repl.child.sendcontrol("r")                       # reverse search
    repl.child.send("unique-ch")
    repl.child.send("\r")                             # accept the found line
    repl.child.send("\r")                             # and run it
    repl.child.expect_exact("child-data")
    repl.close()
    history = tmp_path / "zkpy" / "shell_history"
    assert f"+get {node}/unique-child-name" in history.read_text()
    again = Repl(server.hosts, tmp_path)               # a new process reads the file
    try:  # (the constructor waited for the first prompt)
        again.child.send("\x1b[A")
        again.child.send("\r")
        again.child.expect_exact("child-data")
    finally:
        again.close()
