"""man/zkpy-shell.1 is generated from the registry; it must match and mention everything."""

from __future__ import annotations

from pathlib import Path

import click

from shell.commands import COMMANDS
from shell.errors import EXIT_CODE_DOC
from shell.main import shell
from shell.manpage import esc, render_manpage

PAGE = Path(__file__).resolve().parents[2] / "man" / "zkpy-shell.1"


def test_manpage_is_up_to_date() -> None:
    assert PAGE.read_text() == render_manpage(), (
        "man/zkpy-shell.1 is stale: run python -m shell.manpage > man/zkpy-shell.1")


def test_manpage_mentions_every_command_flag_option_and_exit_status() -> None:
    text = PAGE.read_text()
    for spec in COMMANDS:
        assert f"\\fB{esc(spec.usage.rstrip())}\\fR" in text, spec.name
        for flag in spec.flags:
            assert esc(flag.spelling) in text, (spec.name, flag.name)
    for p in shell.params:
        if isinstance(p, click.Option):
            for opt in p.opts:
                assert esc(opt) in text, opt
    assert ".SH EXIT STATUS" in text
    for code, _ in EXIT_CODE_DOC:
        assert f".TP\n\\fB{int(code)}\\fR\n" in text
    for section in (".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS", ".SH COMMANDS", ".SH EXAMPLES"):
        assert section in text
