"""`zkpy server`: run one member from a zoo.cfg (or quick flags for a standalone one).

Exit codes mirror ZooKeeper's ExitCode (anchors C8): 0 clean shutdown, 1 unexpected
error, 2 invalid config or invocation, 3 cannot access the data dir, 4 admin server
failed to start.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    import ssl

    from .config import ServerConfig

EXIT_UNEXPECTED = 1
EXIT_INVALID_CONFIG = 2
EXIT_DATA_DIR = 3
EXIT_ADMIN = 4


@click.command("server")
@click.option("--config", "-c", "config_path", type=click.Path(dir_okay=False),
              help="zoo.cfg to read (ZooKeeper's format).")
@click.option("--port", type=int, help="Client port (quick standalone member).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Client address with --port.")
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="Data directory (quick standalone member).")
@click.option("--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
def server(config_path: str | None, port: int | None, host: str, data_dir: str | None,
           log_level: str) -> None:
    """Run a zkpy member (standalone, or one member of an ensemble)."""
    from .config import ConfigError, ServerConfig

    logging.basicConfig(
        level=getattr(logging, log_level.upper()), stream=sys.stderr,
        format="%(asctime)s %(levelname)-5s [%(name)s] %(message)s")
    if config_path and (port is not None or data_dir):
        raise click.UsageError("--config and --port/--data-dir exclude each other: put "
                               "clientPort and dataDir in the zoo.cfg")
    try:
        if config_path:
            cfg = ServerConfig.from_file(Path(config_path))
        elif port is not None and data_dir:
            cfg = ServerConfig.from_args(port=port, data_dir=Path(data_dir), host=host)
        else:
            raise click.UsageError("give --config zoo.cfg, or --port and --data-dir")
        ssl_context = None
        if cfg.secure_client_port is not None:
            from .tls import server_context

            assert cfg.tls is not None
            ssl_context = server_context(cfg.tls)
    except ConfigError as e:
        click.echo(f"zkpy server: invalid configuration: {e}", err=True)
        sys.exit(EXIT_INVALID_CONFIG)
    if cfg.is_distributed:
        # Serving such a config as a standalone member would split the ensemble's
        # history silently; refuse until quorum replication exists.
        n = len(cfg.voting_members)
        what = (f"describes a {n}-voter ensemble" if n > 1 else
                "asks for a quorum peer (standaloneEnabled=false)")
        click.echo(f"zkpy server: {config_path} {what}; quorum replication is not "
                   "implemented yet, so zkpy runs only standalone members (one server.N "
                   "line, or none)", err=True)
        sys.exit(EXIT_INVALID_CONFIG)
    sys.exit(run(cfg, ssl_context))


def run(cfg: ServerConfig, ssl_context: ssl.SSLContext | None = None) -> int:
    """Run the member until SIGTERM/SIGINT; returns the exit code."""
    from .runtime import AdminStartError, DataDirError, MemberRuntime

    try:
        import uvloop
    except ImportError:
        loop = asyncio.new_event_loop()
    else:
        loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    runtime = MemberRuntime(cfg, loop, ssl_context)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        return loop.run_until_complete(runtime.serve(stop))
    except DataDirError as e:
        logging.getLogger("zkpy.server").error("cannot use the data dir: %s", e)
        return EXIT_DATA_DIR
    except AdminStartError as e:
        logging.getLogger("zkpy.server").error("admin server failed to start: %s", e)
        return EXIT_ADMIN
    except OSError as e:
        logging.getLogger("zkpy.server").error("cannot start: %s", e)
        return EXIT_UNEXPECTED
    finally:
        loop.close()
