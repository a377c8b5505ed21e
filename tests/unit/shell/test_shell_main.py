"""shell.main: argv rewriting for zkCli spellings, mode dispatch and exit statuses
(click's CliRunner with the fake client)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import shell.main as main_mod
from shell.main import rewrite_argv, script_lines, shell
from tests.unit.shell.fake_client import factory


def test_rewrite_argv_only_before_the_command() -> None:
    assert rewrite_argv(["-server", "h:1", "-timeout", "5", "ls", "-s", "/"]) == \
        ["--server", "h:1", "--timeout", "5", "ls", "-s", "/"]
    assert rewrite_argv(["-s", "h:1", "-r", "get", "-server"]) == \
        ["-s", "h:1", "-r", "get", "-server"]
    assert rewrite_argv(["-waitforconnection", "-client-configuration", "f"]) == \
        ["--waitforconnection", "--client-configuration", "f"]
    assert rewrite_argv(["--", "-server"]) == ["--", "-server"]


def test_script_lines_comments_and_continuations() -> None:
    lines = ["# c\n", "\n", "ls /\n", "  # indented\n", 'create /x "a\n', 'b"\n',
             "set /x \\\n", "y\n"]
    assert list(script_lines(lines)) == ["ls /", 'create /x "a\nb"', "set /x  y"]


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setattr(main_mod, "DEFAULT_CLIENT_FACTORY", factory())
    return CliRunner()


def test_one_command_and_statuses(runner: CliRunner) -> None:
    r = runner.invoke(shell, ["-server", "h:1", "create", "/a", "x"])
    assert (r.exit_code, r.stderr) == (0, "Created /a\n")
    r = runner.invoke(shell, ["-server", "h:1", "get", "/a"])
    assert (r.exit_code, r.stdout) == (0, "x\n")
    r = runner.invoke(shell, ["-s", "h:1", "get", "/nope"])
    assert (r.exit_code, r.stderr) == (1, "Node does not exist: /nope\n")
    r = runner.invoke(shell, ["-s", "h:1", "nosuch"])
    assert r.exit_code == 127
    r = runner.invoke(shell, ["-s", "h:1", "ls", "-z", "/"])
    assert r.exit_code == 2


def test_stdin_script_stops_at_first_failure(runner: CliRunner) -> None:
    r = runner.invoke(shell, ["-s", "h:1"], input="create /s 1\nget /nope\ncreate /t\n")
    assert r.exit_code == 1 and "Created /t" not in r.stderr
    r = runner.invoke(shell, ["-s", "h:1", "--keep-going"],
                      input="create /s 1\nget /nope\nnosuch\ncreate /t\n")
    assert r.exit_code == 1 and "Created /t" in r.stderr   # the first failure's status


def test_file_script_and_unreadable_things(runner: CliRunner, tmp_path: Path) -> None:
    f = tmp_path / "s.zk"
    f.write_text("# comment\ncreate /f 1\nget /f\n")
    r = runner.invoke(shell, ["-s", "h:1", "-f", str(f)])
    assert (r.exit_code, r.stdout) == (0, "1\n")
    r = runner.invoke(shell, ["-s", "h:1", "-client-configuration", str(tmp_path / "no")])
    assert r.exit_code == 2
    r = runner.invoke(shell, ["-s", "h:1", "-timeout", "abc", "ls", "/"])
    assert r.exit_code == 2


def test_json_format_option(runner: CliRunner) -> None:
    runner.invoke(shell, ["-s", "h:1", "create", "/j", "x"])
    r = runner.invoke(shell, ["-s", "h:1", "--format", "json", "stat", "/j"])
    assert r.exit_code == 0 and '"dataLength": 1' in r.stdout
