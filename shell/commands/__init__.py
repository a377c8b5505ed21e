"""The command registry: one ``CommandSpec`` per command, filled by the group modules.

Everything user-visible about a command lives in its spec: name, aliases, one-line
summary, zkCli usage string, flags (the parser reads them), arity, which positionals
are znode paths (for completion), examples, and whether zkCli has it. Help, completion
and the man page (man/zkpy-shell.1, checked by tests/shell/test_manpage.py) are all
generated from or checked against this registry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import UsageError
from ..parser import Flag, ParsedArgs

if TYPE_CHECKING:
    from ..context import Shell

Handler = Callable[["Shell", "Invocation"], Awaitable[int]]

# Help groups, in display order.
GROUPS: tuple[tuple[str, str], ...] = (
    ("nodes", "Znodes"),
    ("acl", "ACLs and authentication"),
    ("watch", "Watches"),
    ("quota", "Quotas"),
    ("cluster", "Cluster and configuration"),
    ("session", "Session and shell"),
)


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    group: str
    summary: str
    usage: str
    handler: Handler
    flags: tuple[Flag, ...] = ()
    args: tuple[str, ...] = ()          # positional names, for help ("path", "data", ...)
    min_args: int = 0
    max_args: int | None = None         # None: no limit
    path_args: tuple[int, ...] = ()     # indexes of positionals that are znode paths
    aliases: tuple[str, ...] = ()
    zkcli: bool = True                  # zkCli has this command (same name and syntax)
    needs_connection: bool = True
    examples: tuple[str, ...] = ()
    details: str = ""
    choices: dict[int, tuple[str, ...]] = field(default_factory=dict)  # positional -> words

    def check_arity(self, inv: Invocation) -> None:
        n = len(inv.args.positionals)
        if n < self.min_args or (self.max_args is not None and n > self.max_args):
            raise UsageError(self.usage.rstrip(), hint=f"'help {self.name}' for details")


@dataclass(slots=True)
class Invocation:
    spec: CommandSpec
    line: str
    name: str
    args: ParsedArgs

    @property
    def pos(self) -> list[str]:
        return self.args.positionals


REGISTRY: dict[str, CommandSpec] = {}
COMMANDS: list[CommandSpec] = []  # one entry per command (no alias duplicates)


def command(name: str, *, group: str, summary: str, usage: str,
            flags: tuple[Flag, ...] = (), args: tuple[str, ...] = (), min_args: int = 0,
            max_args: int | None = None, path_args: tuple[int, ...] = (),
            aliases: tuple[str, ...] = (), zkcli: bool = True, needs_connection: bool = True,
            examples: tuple[str, ...] = (), details: str = "",
            choices: dict[int, tuple[str, ...]] | None = None) -> Callable[[Handler], Handler]:
    """Register the decorated coroutine as the handler of command ``name``."""

    def register(handler: Handler) -> Handler:
        spec = CommandSpec(name=name, group=group, summary=summary, usage=usage,
                           handler=handler, flags=flags, args=args, min_args=min_args,
                           max_args=max_args, path_args=path_args, aliases=aliases,
                           zkcli=zkcli, needs_connection=needs_connection, examples=examples,
                           details=details, choices=choices or {})
        for n in (name, *aliases):
            if n in REGISTRY:
                raise ValueError(f"command {n!r} registered twice")
            REGISTRY[n] = spec
        COMMANDS.append(spec)
        return handler

    return register


def usage_block() -> str:
    """zkCli's usage listing (stderr on an unknown command): zkCli commands in Java order."""
    lines = ["ZooKeeper -server host:port -client-configuration properties-file cmd args"]
    for spec in sorted((s for s in COMMANDS if s.zkcli), key=lambda s: s.name):
        lines.append("\t" + spec.usage)
    return "\n".join(lines) + "\n"


def lookup(name: str) -> CommandSpec | None:
    return REGISTRY.get(name)


# Importing the group modules fills the registry.
from . import acl, cluster, nodes, quota, session, watch  # noqa: E402,F401
