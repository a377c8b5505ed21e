"""Wire one member together: config -> state machine, data dir, listeners, timers.

This is the only place that knows every part of a running member; each part
(config, state machine, member pipeline, connections, storage, 4lw, admin) stays
ignorant of the others.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import random
import secrets
import ssl
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from zkpy.proto.records import Id
from zkpy.state.machine import StateMachine
from zkpy.state.types import StateConfig
from zkpy.storage.engine import Storage
from zkpy.storage.errors import CorruptHistoryError, StorageError
from zkpy.storage.stateimage import open_member_storage, snapshot_image

from .admin import AdminServer
from .config import ServerConfig
from .connection import ClientConnection
from .fourlw import FourLetterWords
from .member import Member, wall_ms
from .stats import ServerStats
from .status import LastSnapshot, QuorumInfo, directory_size
from .tls import peer_ids

log = logging.getLogger("zkpy.server")

# Txns between two gc.freeze() calls (see MemberRuntime._freeze_long_lived): each one
# costs a collection of what was created since, a few ms at this size.
FREEZE_EVERY_TXNS = 20_000


class DataDirError(Exception):
    """The data dir cannot be created, read or written."""


class AdminStartError(Exception):
    """The admin HTTP server could not bind its port."""


class MemberRuntime:
    """A running member; also the MemberStatus that 4lw, admin and metrics read."""

    def __init__(self, cfg: ServerConfig, loop: asyncio.AbstractEventLoop,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        """``ssl_context``: the secure client port's (tls.server_context), required when
        ``cfg.secure_client_port`` is set."""
        self.cfg = cfg
        self.loop = loop
        self.ssl_context = ssl_context
        self._stats = ServerStats()
        self.fourlw = FourLetterWords(self, cfg)
        self.admin: AdminServer | None = None
        self.storage: Storage | None = None
        self.exit_code = 0
        self._stop: asyncio.Event | None = None
        self._servers: list[asyncio.AbstractServer] = []
        self._frozen_at_zxid = 0
        self._timers: list[asyncio.Task[None]] = []

    def _open_state(self) -> tuple[StateMachine, Storage]:
        """Recover the state machine from the data dir and open the txn log."""
        cfg = self.cfg
        state_cfg = StateConfig(**cfg.to_state_config(), secret=self._session_secret())
        # Recovery only builds the tree: no cyclic GC while it does (collections would
        # walk the growing tree again and again: a 348k-znode snapshot loads in 1.3 s
        # instead of 2.2 s); serve() collects and freezes right after.
        gc.disable()
        try:
            storage, state, _ = open_member_storage(
                state_cfg, cfg.data_dir, cfg.data_log_dir, rng=random.Random(),
                now_ms=wall_ms(), loop=self.loop, snap_count_txns=cfg.snap_count,
                snap_size_limit_bytes=cfg.snap_size_limit_kb * 1024,
                prealloc_bytes=cfg.pre_alloc_size_kb * 1024, force_sync=cfg.force_sync)
        except CorruptHistoryError as e:
            raise DataDirError(f"refusing to start on a damaged history: {e}") from e
        except StorageError as e:
            raise DataDirError(str(e)) from e
        finally:
            gc.enable()
        return state, storage

    def _session_secret(self) -> int:
        """Session passwords derive from (session id, secret): the secret must outlive
        restarts or recovered sessions could not re-attach. Kept in dataDir."""
        path = Path(self.cfg.data_dir) / "session-secret"
        try:
            return int(path.read_text().strip(), 16)
        except FileNotFoundError:
            pass
        except ValueError as e:
            raise DataDirError(f"{path}: not a secret written by zkpy") from e
        secret = secrets.randbits(63)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w") as f:
            f.write(f"{secret:x}\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        return secret

    # ------------------------------------------------------------ lifecycle

    def _prepare_data_dir(self) -> None:
        for d in {Path(self.cfg.data_dir), Path(self.cfg.data_log_dir)}:
            try:
                d.mkdir(parents=True, exist_ok=True)
                probe = d / ".zkpy-write-probe"
                probe.write_bytes(b"")
                probe.unlink()
            except OSError as e:
                raise DataDirError(f"{d}: {e.strerror or e}") from e

    async def serve(self, stop: asyncio.Event) -> int:
        cfg = self.cfg
        self._stop = stop
        self._prepare_data_dir()
        self.state, self.storage = self._open_state()
        self._freeze_long_lived()  # the recovered tree, before any client connects
        self.member = member = Member(
            self.state, loop=self.loop,
            min_session_timeout_ms=cfg.min_session_timeout_ms,
            max_session_timeout_ms=cfg.max_session_timeout_ms,
            max_frame_bytes=cfg.max_frame_bytes,
            max_client_cnxns=cfg.max_client_cnxns,
            max_cnxns=cfg.max_cnxns,
            global_outstanding_limit=cfg.global_outstanding_limit,
            txn_log=self.storage,
            four_letter=self.fourlw.answer,
            new_connection_stats=lambda c: self._stats.new_connection(),
            server_stats=self._stats,
            after_batch=self._after_batch,
            on_storage_failure=self._storage_failed,
        )
        if cfg.client_port is not None:
            host = cfg.client_port_address or None
            bound = await self._listen(lambda: ClientConnection(member), host, cfg.client_port)
            log.info("serving clients on %s:%d (pid %d)", host or "*", bound, os.getpid())
        if cfg.secure_client_port is not None:
            await self._serve_tls(member)
        if cfg.admin_enabled:
            self.admin = AdminServer(self, words=self.fourlw)
            try:
                await self.admin.start()
            except OSError as e:
                raise AdminStartError(str(e)) from e
        self._timers.append(self.loop.create_task(
            self._every(cfg.tick_ms / 2000.0, member.expire_sessions)))
        self._timers.append(self.loop.create_task(
            self._every(cfg.container_check_interval_ms / 1000.0, member.reap)))
        self._timers.append(self.loop.create_task(self._every(0.05, self._clock)))
        self._timers.append(self.loop.create_task(self.storage.purge_every(
            cfg.autopurge_purge_interval_hours, cfg.autopurge_snap_retain_count)))
        await stop.wait()
        log.info("shutting down")
        for t in self._timers:
            t.cancel()
        for s in self._servers:
            s.close()
        if self.admin is not None:
            await self.admin.close()
        member.close_all()
        await self.storage.close()
        return self.exit_code

    async def _serve_tls(self, member: Member) -> None:
        cfg = self.cfg
        assert cfg.tls is not None and cfg.secure_client_port is not None
        if self.ssl_context is None:
            raise ValueError("secureClientPort is set but no SSL context was given")
        settings = cfg.tls
        host = cfg.secure_client_port_address or None

        def tls_ids(ssl_object: Any) -> list[Id] | None:
            return peer_ids(ssl_object, settings)

        bound = await self._listen(
            lambda: ClientConnection(member, tls_ids=tls_ids), host, cfg.secure_client_port,
            ssl=self.ssl_context, ssl_handshake_timeout=settings.handshake_timeout_ms / 1000.0)
        log.info("serving TLS clients on %s:%d (ssl.clientAuth=%s)", host or "*", bound,
                 settings.client_auth)

    async def _listen(self, factory: Any, host: str | None, port: int, **kw: Any) -> int:
        """A client listener (clientPortListenBacklog applies to both); the bound port."""
        backlog = self.cfg.client_port_listen_backlog
        server = await self.loop.create_server(
            factory, host=host, port=port, reuse_address=True,
            backlog=backlog if backlog > 0 else 100, **kw)
        self._servers.append(server)
        return int(server.sockets[0].getsockname()[1]) if server.sockets else port

    def _after_batch(self) -> None:
        assert self.storage is not None
        state = self.state
        self.storage.after_apply(state.last_zxid, lambda: snapshot_image(state))
        if state.last_zxid - self._frozen_at_zxid >= FREEZE_EVERY_TXNS:
            self._freeze_long_lived()

    def _freeze_long_lived(self) -> None:
        """Move what is alive now (the tree above all) out of the cyclic GC's reach. A
        full collection walks every tracked object: 85 ms for a 348k-znode tree here, paid
        while clients wait. Freezing after recovery and then every FREEZE_EVERY_TXNS txns
        bounds that walk by what changed since. The collection before the freeze keeps
        garbage cycles out of the frozen set; what is frozen and dies later is freed by
        reference counting (znodes, and closed connections, which break their cycle)."""
        gc.collect()
        gc.freeze()
        self._frozen_at_zxid = self.state.last_zxid

    def _storage_failed(self, err: Exception) -> None:
        # A write we cannot make durable is never acknowledged. The log cannot take
        # later zxids without a gap, so the member stops (as ZooKeeper exits on a txn
        # log failure); on restart recovery holds exactly what was durable.
        log.error("stopping the member (exit 3): a write that cannot be made durable is "
                  "never acknowledged; restart it once the data log dir is writable again "
                  "(recovery keeps exactly what was durable)")
        self.exit_code = 3
        assert self._stop is not None
        self._stop.set()

    def _clock(self) -> None:
        self._stats.now_ms = int(time.monotonic() * 1000)

    async def _every(self, interval_s: float, fn: Any) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                fn()
            except Exception:  # fail loudly: a dead timer would silently stop expiry
                log.exception("periodic task %s failed", getattr(fn, "__name__", fn))
                os._exit(1)

    # ------------------------------------------------------------ MemberStatus

    @property
    def config(self) -> ServerConfig:
        return self.cfg

    @property
    def server_stats(self) -> ServerStats:
        return self._stats

    @property
    def mode(self) -> str:
        return "standalone"

    @property
    def serving(self) -> bool:
        return self.member.serving

    @property
    def read_only(self) -> bool:
        return False

    @property
    def last_zxid(self) -> int:
        return self.state.last_zxid

    @property
    def node_count(self) -> int:
        return self.state.node_count()

    @property
    def outstanding_requests(self) -> int:
        return self.member.outstanding_writes

    @property
    def approximate_data_size(self) -> int:
        return self.state.approximate_data_size()

    @property
    def ephemerals_count(self) -> int:
        return sum(len(v) for v in self.state.ephemerals_by_session().values())

    @property
    def watch_count(self) -> int:
        return self.state.watch_summary().total

    @property
    def global_sessions(self) -> int:
        return self.state.session_count()

    def connections(self) -> Iterable[ClientConnection]:
        return list(self.member.connections)

    def data_watches(self) -> Mapping[int, Collection[str]]:
        out: dict[int, list[str]] = {}
        for watcher, paths in self.state.watch_summary().by_watcher.items():
            sid = getattr(getattr(watcher, "conn", None), "session_id", 0)
            out.setdefault(sid, []).extend(paths)
        return out

    def ephemerals_by_session(self) -> Mapping[int, Collection[str]]:
        return self.state.ephemerals_by_session()

    def session_expiry(self) -> Mapping[int, Collection[int]]:
        return {t: sorted(s) for t, s in sorted(self.state.sessions.buckets.items())}

    def dir_sizes(self) -> tuple[int, int]:
        return (directory_size(self.cfg.snap_version_dir),
                directory_size(self.cfg.log_version_dir))

    def quorum_info(self) -> QuorumInfo | None:
        return None

    def last_snapshot(self) -> LastSnapshot | None:
        return None

    def digest_log(self) -> Sequence[tuple[int, int]]:
        return ()

    def extra_metrics(self) -> Mapping[str, int | float]:
        return {}
