"""The REPL loop driven through prompt_toolkit's pipe input and a dummy output."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from shell.context import Output, Shell
from shell.repl import prompt_fragments, run_repl, toolbar_text
from tests.unit.shell.fake_client import factory


def _run(keys: str, tmp_path: Path) -> tuple[Shell, str, str, int]:
    out, err = io.StringIO(), io.StringIO()
    make = factory()
    sh = Shell(hosts="127.0.0.1:2181", output=Output(stdout=out, stderr=err),
               client_factory=make, interactive=True)

    async def go() -> int:
        with create_pipe_input() as inp:
            inp.send_text(keys)
            with create_app_session(input=inp, output=DummyOutput()):
                code = await asyncio.wait_for(
                    run_repl(sh, pt_input=inp, pt_output=DummyOutput(),
                             history_file=tmp_path / "hist"), 20)
        await sh.aclose()
        return code

    code = asyncio.run(go())
    return sh, out.getvalue(), err.getvalue(), code


def test_repl_runs_lines_and_exits_on_ctrl_d(tmp_path: Path) -> None:
    sh, out, err, code = _run("create /a x\rls /\rget /a\r\x04", tmp_path)
    assert "Created /a" in err
    assert "[a, zookeeper]\n" in out and "x\n" in out
    assert code == 0
    assert sh.history == ["create /a x", "ls /", "get /a"]
    assert (tmp_path / "hist").read_text().count("+create /a x") == 1


def test_repl_open_quote_continues_the_line(tmp_path: Path) -> None:
    sh, out, err, code = _run('create /q "two\rlines"\rget /q\r\x04', tmp_path)
    assert "two\nlines\n" in out


def test_repl_exit_status_is_the_last_commands(tmp_path: Path) -> None:
    sh, out, err, code = _run("ls /nope\r\x04", tmp_path)
    assert "Node does not exist: /nope" in err
    assert code == 1


def test_repl_quit(tmp_path: Path) -> None:
    sh, out, err, code = _run("pwd\rquit\rls /\r", tmp_path)
    assert out == "/\n" and code == 0


def test_prompt_and_toolbar() -> None:
    sh = Shell(hosts="127.0.0.1:2181", output=Output(stdout=io.StringIO()))
    text = "".join(t for _, t in prompt_fragments(sh, color=True))
    assert text == "[zkpy: 127.0.0.1:2181(NOT_CONNECTED) / 0] "
    styles = [s for s, _ in prompt_fragments(sh, color=True)]
    assert "ansiyellow" in styles
    assert "server 127.0.0.1:2181" in toolbar_text(sh)


def test_repl_ctrl_c_clears_the_typed_line(tmp_path: Path) -> None:
    sh, out, err, code = _run("garbage-text\x03pwd\r\x04", tmp_path)
    assert out == "/\n" and "Command not found" not in err
    assert sh.history == ["pwd"]


def test_repl_failed_connect_says_so_and_retries(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    sh = Shell(hosts="127.0.0.1:1", output=Output(stdout=out, stderr=err),
               client_factory=factory(fail_connect=True), interactive=True)

    async def go() -> int:
        with create_pipe_input() as inp:
            inp.send_text("ls /\r\x04")
            with create_app_session(input=inp, output=DummyOutput()):
                return await asyncio.wait_for(
                    run_repl(sh, pt_input=inp, pt_output=DummyOutput(),
                             history_file=tmp_path / "hist"), 20)

    code = asyncio.run(go())
    assert code == 3
    assert "Cannot connect to 127.0.0.1:1" in err.getvalue()
    assert sh.state == "NOT_CONNECTED"
