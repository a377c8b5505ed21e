"""Cluster commands: config reconfig (zkCli) and srvr mntr (four-letter words)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from .. import render
from ..errors import ExitCode, ShellError
from ..parser import Flag
from . import Invocation, command

if TYPE_CHECKING:
    from ..context import Shell

FOURLW_TIMEOUT_S = 5.0


def client_config_line(config: str) -> str:
    """zkCli ``config -c``: ``<version> host:port,host:port`` (client addresses only)."""
    version = ""
    addrs: list[str] = []
    for line in config.splitlines():
        key, _, value = line.partition("=")
        if key == "version":
            version = value
        elif key.startswith("server.") and ";" in value:
            client = value.split(";", 1)[1]
            if ":" not in client:
                host = value.split(":", 1)[0]
                client = f"{host}:{client}"
            addrs.append(client)
    return f"{version} {','.join(addrs)}"


@command("config", group="cluster", summary="print the ensemble configuration",
         usage="config [-c] [-w] [-s]",
         flags=(Flag("c", "client addresses only"), Flag("w", "watch for changes"),
                Flag("s", "print the stat of /zookeeper/config")),
         min_args=0, max_args=0, examples=("config", "config -c"),
         details="The data of /zookeeper/config (empty on a standalone server).")
async def config(sh: Shell, inv: Invocation) -> int:
    data, stat = await sh.client.get_config(watch=True if inv.args.has("w") else None)
    text = (data or b"").decode("utf-8", "replace")
    if inv.args.has("c"):
        sh.out.line(client_config_line(text))
    else:
        sh.out.line(text)
    if inv.args.has("s"):
        sh.out.text(render.stat_block(stat))
    return ExitCode.OK


@command("reconfig", group="cluster", summary="change the ensemble membership",
         usage="reconfig [-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;"
               "port3[,...]*]] | [-add serverId=host:port1:port2;port3[,...]]* "
               "[-remove serverId[,...]*]",
         flags=(Flag("s", "print the stat"), Flag("v", "expected config version", "version"),
                Flag("file", "a dynamic config file", "path"),
                Flag("members", "the new member list", "members"),
                Flag("add", "members to add", "servers"),
                Flag("remove", "member ids to remove", "ids")),
         min_args=0, max_args=0, examples=("reconfig -add 4=127.0.0.1:2891:3891;2184",),
         details="Not supported by the zkpy client yet: always fails with exit status 1.")
async def reconfig(sh: Shell, inv: Invocation) -> int:
    raise ShellError("KeeperErrorCode = Unimplemented",
                     hint="reconfig is not supported by the zkpy client yet")


def _member(sh: Shell) -> tuple[str, int]:
    host: Any = getattr(sh.client, "connected_host", None) if sh.client else None
    if isinstance(host, tuple):
        return str(host[0]), int(host[1])
    if not host:
        first = sh.hosts.split("/", 1)[0].split(",")[0]
        host = first
    name, _, port = str(host).rpartition(":")
    return name.strip("[]") or "127.0.0.1", int(port or 2181)


async def four_letter(host: str, port: int, word: str,
                      timeout_s: float = FOURLW_TIMEOUT_S) -> str:
    """Send a four-letter word on a fresh socket; the whole answer (server closes)."""
    async def talk() -> bytes:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(word.encode("ascii"))
            await writer.drain()
            return await reader.read()
        finally:
            writer.close()
    try:
        return (await asyncio.wait_for(talk(), timeout_s)).decode("utf-8", "replace")
    except (OSError, TimeoutError) as e:
        raise ShellError(f"{word}: cannot reach {host}:{port}: {e or type(e).__name__}",
                         exit_code=ExitCode.UNAVAILABLE) from e


def parse_srvr(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key and not key.startswith(" "):
            out[key.strip()] = value.strip()
    return out


def parse_mntr(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("\t")
        if sep:
            out[key] = value
    return out


async def _fourlw_command(sh: Shell, word: str, parse: Any) -> int:
    host, port = _member(sh)
    text = await four_letter(host, port, word)
    if "is not executed because it is not in the whitelist" in text:
        raise ShellError(text.strip(), hint="allow it with 4lw.commands.whitelist")
    if sh.fmt == "json":
        sh.out.text(render.to_json({"server": f"{host}:{port}", **parse(text)}))
    else:
        sh.out.text(text if text.endswith("\n") or not text else text + "\n")
    return ExitCode.OK


@command("srvr", group="cluster", summary="server details of the connected member (4lw)",
         usage="srvr", min_args=0, max_args=0, zkcli=False, needs_connection=False,
         examples=("srvr", "srvr --format json"),
         details="Sends the srvr four-letter word to the member this session is connected "
                 "to (or the first server of the connect string).")
async def srvr(sh: Shell, inv: Invocation) -> int:
    return await _fourlw_command(sh, "srvr", parse_srvr)


@command("mntr", group="cluster", summary="monitoring variables of the connected member (4lw)",
         usage="mntr", min_args=0, max_args=0, zkcli=False, needs_connection=False,
         examples=("mntr", "mntr --format json"))
async def mntr(sh: Shell, inv: Invocation) -> int:
    return await _fourlw_command(sh, "mntr", parse_mntr)
