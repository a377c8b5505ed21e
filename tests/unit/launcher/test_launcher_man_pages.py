"""man/zkpy-ensemble.1 and man/zkpy-up.1 document exactly the click commands and options.

An option is "documented" when it appears on the line after a ``.TP`` in the section of its
command (``.SS "start ..."``), or, for the global flags, in ``.SH GLOBAL OPTIONS``.
"""

from __future__ import annotations

import click
import pytest

from launcher.executor import ExitCode
from launcher.main import ensemble, up
from tests.support.manpages import (
    MAN,
    click_options,
    documented_options,
    exit_codes,
    plain,
    sections,
)

GLOBAL = click_options(ensemble)


def test_every_ensemble_command_has_a_section_and_no_more() -> None:
    documented = {k[4:] for k in sections("zkpy-ensemble.1") if k.startswith("cmd:")}
    assert documented == set(ensemble.commands)


def test_global_options_are_documented_exactly() -> None:
    assert documented_options(sections("zkpy-ensemble.1")["GLOBAL OPTIONS"]) == GLOBAL
    assert GLOBAL == {"--format", "-y", "--yes", "--wait-timeout-s", "--ssh-timeout-s",
                      "--dry-run"}


@pytest.mark.parametrize("name", sorted(ensemble.commands))
def test_ensemble_command_options_are_documented_exactly(name: str) -> None:
    cmd = ensemble.commands[name]
    section = sections("zkpy-ensemble.1")[f"cmd:{name}"]
    assert documented_options(section) == click_options(cmd) - GLOBAL
    assert click_options(cmd) >= GLOBAL  # every subcommand takes the global flags too


def test_ensemble_command_arguments_appear_in_section_titles() -> None:
    titles = {}
    for line in (MAN / "zkpy-ensemble.1").read_text().splitlines():
        if line.startswith(".SS"):
            t = plain(line[4:]).split()
            titles[t[0]] = " ".join(t[1:])
    for name, cmd in ensemble.commands.items():
        for arg in (p for p in cmd.params if isinstance(p, click.Argument)):
            label = {"name": "NAME", "member": "MEMBER", "shell_args": "ARGS"}[arg.name or ""]
            assert label in titles[name], (name, label)


def test_up_options_are_documented_exactly() -> None:
    assert documented_options(sections("zkpy-up.1")["OPTIONS"]) == click_options(up)


@pytest.mark.parametrize("page", ["zkpy-ensemble.1", "zkpy-up.1"])
def test_exit_status_section_lists_the_exit_codes(page: str) -> None:
    assert exit_codes(page) == {int(c) for c in ExitCode}
