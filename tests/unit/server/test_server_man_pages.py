"""man/zkpy-server.1, man/zkpy-data.1 and man/zkpy.1 document exactly the click commands,
options and exit codes (helpers and conventions: tests/support/manpages.py)."""

from __future__ import annotations

import ast
import inspect
import re
from types import ModuleType

import click
import pytest

import zkpy.server.main as server_main
import zkpy.server.runtime as server_runtime
import zkpy.storage.cli as data_cli
from tests.support.manpages import (
    MAN,
    click_options,
    documented_options,
    exit_codes,
    plain,
    sections,
    sh_block,
)
from zkpy.cli import SUBCOMMANDS, main
from zkpy.server.config import _FIELDS, _SYSPROPS
from zkpy.server.main import server
from zkpy.server.tls import TLS_KEYS
from zkpy.storage.cli import data

# zoo.cfg keys that ServerConfig.from_properties handles outside the _FIELDS/_SYSPROPS tables
SPECIAL_KEYS = {"tickTime", "minSessionTimeout", "maxSessionTimeout",
                "autopurge.snapRetainCount", "peerType", "version", "server.N",
                "authProvider.N", "group.N", "weight.N"}


def _runtime_exit_codes() -> set[int]:
    """Every ``<obj>.exit_code = N`` in zkpy/server/runtime.py (3: storage failure)."""
    codes = set()
    for n in ast.walk(ast.parse(inspect.getsource(server_runtime))):
        if (isinstance(n, ast.Assign)
                and any(isinstance(t, ast.Attribute) and t.attr == "exit_code" for t in n.targets)
                and isinstance(n.value, ast.Constant) and isinstance(n.value.value, int)):
            codes.add(n.value.value)
    return codes


def _sys_exit_codes(module: ModuleType) -> set[int]:
    """Every ``sys.exit(N)`` with a literal N in the module."""
    codes = set()
    for n in ast.walk(ast.parse(inspect.getsource(module))):
        if (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                and n.func.attr == "exit" and isinstance(n.func.value, ast.Name)
                and n.func.value.id == "sys" and n.args
                and isinstance(n.args[0], ast.Constant) and isinstance(n.args[0].value, int)):
            codes.add(n.args[0].value)
    return codes


# ------------------------------------------------------------------------------ zkpy-server.1


def test_server_options_are_documented_exactly() -> None:
    assert documented_options(sections("zkpy-server.1")["OPTIONS"]) == click_options(server)


def test_server_page_names_every_zoo_cfg_key() -> None:
    text = " ".join(plain(ln) for ln in sh_block("zkpy-server.1", "ZOO.CFG"))
    keys = set(_FIELDS) | set(_SYSPROPS) | set(TLS_KEYS) | SPECIAL_KEYS
    missing = sorted(k for k in keys
                     if not re.search(rf"(?<![\w.]){re.escape(k)}(?![\w])", text))
    assert not missing, f"zoo.cfg keys not in zkpy-server.1 ZOO.CFG: {missing}"


def test_server_exit_status_lists_the_exit_codes() -> None:
    constants = {v for k, v in vars(server_main).items() if k.startswith("EXIT_")}
    storage_failure = _runtime_exit_codes() - {0}
    assert storage_failure == {3}
    assert exit_codes("zkpy-server.1") == {0} | constants | storage_failure


# ------------------------------------------------------------------------------ zkpy-data.1


def test_every_data_command_has_a_section_and_no_more() -> None:
    documented = {k[4:] for k in sections("zkpy-data.1") if k.startswith("cmd:")}
    assert documented == set(data.commands)


def test_data_group_has_no_options_of_its_own() -> None:
    # zkpy-data.1 has no place for group options: add one if this fails
    assert click_options(data) == set()


@pytest.mark.parametrize("name", sorted(data.commands))
def test_data_command_options_are_documented_exactly(name: str) -> None:
    section = sections("zkpy-data.1")[f"cmd:{name}"]
    assert documented_options(section) == click_options(data.commands[name])


def test_data_exit_status_lists_the_exit_codes() -> None:
    codes = {0, click.UsageError.exit_code} | _sys_exit_codes(data_cli)
    assert exit_codes("zkpy-data.1") == codes


# ------------------------------------------------------------------------------ zkpy.1


def test_overview_names_every_subcommand_and_its_page() -> None:
    names = set(main.list_commands(click.Context(main)))
    assert names == set(SUBCOMMANDS)
    secs = sections("zkpy.1")
    assert {k[4:] for k in secs if k.startswith("cmd:")} == names
    for name in names:
        assert (MAN / f"zkpy-{name}.1").is_file(), name
        assert any(plain(ln).split()[:2] == [".BR", f"zkpy-{name}"]
                   for ln in secs[f"cmd:{name}"]), f"section {name} does not cite zkpy-{name}(1)"


def test_overview_options_are_documented_exactly() -> None:
    help_option = main.get_help_option(click.Context(main, **main.context_settings))
    assert help_option is not None
    expected = click_options(main) | set(help_option.opts)
    assert documented_options(sections("zkpy.1")["OPTIONS"]) == expected


def test_overview_exit_status_lists_the_exit_codes() -> None:
    assert exit_codes("zkpy.1") == {0, click.UsageError.exit_code}


# ------------------------------------------------------------------------------ all pages


@pytest.mark.parametrize("page", sorted(p.name for p in MAN.glob("*.1")))
def test_cited_zkpy_pages_exist(page: str) -> None:
    text = plain((MAN / page).read_text(encoding="utf-8"))
    for cited in set(re.findall(r"\b(zkpy(?:-[a-z]+)?)\s*\(1\)", text)):
        assert (MAN / f"{cited}.1").is_file(), f"{page} cites {cited}(1), which is missing"
