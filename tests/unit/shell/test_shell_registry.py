"""The command registry: every zkCli command is there with zkCli's usage string."""

from __future__ import annotations

import ast
from pathlib import Path

from shell.commands import COMMANDS, REGISTRY, usage_block

ZKCLI_38_USAGE = """\
ZooKeeper -server host:port -client-configuration properties-file cmd args
\taddWatch [-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE
\taddauth scheme auth
\tclose{SP}
\tconfig [-c] [-w] [-s]
\tconnect host:port
\tcreate [-s] [-e] [-c] [-t ttl] path [data] [acl]
\tdelete [-v version] path
\tdeleteall path [-b batch size]
\tdelquota [-n|-b|-N|-B] path
\tget [-s] [-w] path
\tgetAcl [-s] path
\tgetAllChildrenNumber path
\tgetEphemerals path
\thistory{SP}
\tlistquota path
\tls [-s] [-w] [-R] path
\tprintwatches on|off
\tquit{SP}
\treconfig [-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | [-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]
\tredo cmdno
\tremovewatches path [-c|-d|-a] [-l]
\tset [-s] [-v version] path data
\tsetAcl [-s] [-v version] [-R] path acl
\tsetquota -n|-b|-N|-B val path
\tstat [-w] path
\tsync path
\tversion{SP}
\twhoami{SP}
""".replace("{SP}", " ")

BEYOND = {"cd", "pwd", "tree", "find", "watch", "srvr", "mntr", "help"}


def test_usage_block_is_zkclis_byte_for_byte() -> None:
    assert usage_block() == ZKCLI_38_USAGE


def test_every_command_is_complete() -> None:
    names = {c.name for c in COMMANDS}
    assert BEYOND <= names
    for spec in COMMANDS:
        assert spec.summary and spec.usage and spec.examples, spec.name
        assert spec.zkcli == (spec.name not in BEYOND), spec.name
        assert REGISTRY[spec.name] is spec
        for alias in spec.aliases:
            assert REGISTRY[alias] is spec
    assert REGISTRY["exit"].name == "quit" and REGISTRY["rmr"].name == "deleteall"


def test_parser_is_pure() -> None:
    src = Path(__file__).resolve().parents[3] / "shell" / "parser.py"
    tree = ast.parse(src.read_text())
    mods = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
            for a in n.names}
    mods |= {n.module.split(".")[0] for n in ast.walk(tree)
             if isinstance(n, ast.ImportFrom) and n.module and n.level == 0}
    assert not mods & {"asyncio", "socket", "os", "time", "threading", "subprocess",
                       "random", "select", "logging"}
