"""The `zkpy` console script: one click group whose subcommands live in their packages.

Subcommands are imported only when invoked, so `zkpy shell` never pays for the server
and vice versa.
"""

from __future__ import annotations

import importlib

import click

# name -> "module:attribute" of a click command
SUBCOMMANDS: dict[str, str] = {
    "server": "zkpy.server.main:server",
    "shell": "shell.main:shell",
    "data": "zkpy.storage.cli:data",
    "ensemble": "launcher.main:ensemble",
    "up": "launcher.main:up",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        module = importlib.import_module(module_name)
        cmd: click.Command = getattr(module, attr)
        return cmd


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="zkpy", prog_name="zkpy")
def main() -> None:
    """zkpy: a ZooKeeper-compatible coordination service, shell and launcher."""
