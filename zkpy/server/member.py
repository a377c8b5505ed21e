"""The member: the one asyncio driver around the state machine.

Every write takes the same path, whether the ensemble has one member or seven:

    request -> StateMachine.command() -> batch (one per loop turn)
      -> txn log append + group-commit fsync -> [quorum step goes here]
      -> StateMachine.apply() -> watch events, then the reply

Reads never enter the pipeline: ClientConnection answers them from the tree at once
(or right after that connection's in-flight writes, for FIFO order).

Rules:
- Only this class reads clocks; the state machine gets ``now_ms`` values.
- Commands are applied strictly in zxid order, one batch at a time.
- A batch is acknowledged only after the log says it is durable.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from zkpy.proto import records as rec
from zkpy.proto.opcodes import OpCode
from zkpy.state.machine import Command, StateMachine

from .connection import ClientConnection
from .stats import elapsed_ms

log = logging.getLogger("zkpy.server.member")

# An entry of the write batch: the command (None for a sync barrier) and who asked
# (connection, xid, opcode, extra) or None for server-initiated commands.
Origin = tuple[ClientConnection, int, int, Any] | None


def wall_ms() -> int:
    return int(time.time() * 1000)


class Member:
    """One ensemble member (standalone = an ensemble of one)."""

    def __init__(self, state: StateMachine, *, loop: asyncio.AbstractEventLoop,
                 min_session_timeout_ms: int, max_session_timeout_ms: int,
                 max_frame_bytes: int, max_client_cnxns: int = 60,
                 max_cnxns: int = 0, global_outstanding_limit: int = 1000,
                 sessionless_timeout_s: float = 10.0,
                 txn_log: Any = None,
                 four_letter: Callable[[str, bytes], str | None] | None = None,
                 new_connection_stats: Callable[[ClientConnection], Any] | None = None,
                 server_stats: Any = None,
                 after_batch: Callable[[], None] | None = None,
                 on_storage_failure: Callable[[Exception], None] | None = None) -> None:
        self.state = state
        self.loop = loop
        self.min_session_timeout_ms = min_session_timeout_ms
        self.max_session_timeout_ms = max_session_timeout_ms
        self.max_frame_bytes = max_frame_bytes
        self.max_client_cnxns = max_client_cnxns
        self.max_cnxns = max_cnxns
        self.global_outstanding_limit = global_outstanding_limit
        self.throttled = False       # reading paused: too many writes in flight
        self.sessionless_timeout_s = sessionless_timeout_s
        self.txn_log = txn_log
        self.four_letter = four_letter
        self._new_connection_stats = new_connection_stats
        self.stats = server_stats
        self._after_batch = after_batch
        self._on_storage_failure = on_storage_failure
        self.connections: set[ClientConnection] = set()
        self.by_session: dict[int, ClientConnection] = {}
        self._per_ip: dict[str, int] = {}
        self._batch: list[tuple[Command | None, Origin]] = []
        self._batch_scheduled = False
        self._dirty: set[ClientConnection] = set()
        self._applying = False
        self.serving = True
        self.outstanding_writes = 0
        self.reads_seen = False   # a read was answered since the last write batch

    # ------------------------------------------------------------ connections

    def new_connection_stats(self, conn: ClientConnection) -> Any:
        assert self._new_connection_stats is not None
        return self._new_connection_stats(conn)

    def accept_connection(self, conn: ClientConnection) -> bool:
        ip = conn.remote[0]
        n = self._per_ip.get(ip, 0)
        if self.max_client_cnxns and n >= self.max_client_cnxns:
            log.warning("too many connections from %s (maxClientCnxns=%d)",
                        ip, self.max_client_cnxns)
            return False
        if self.max_cnxns and len(self.connections) >= self.max_cnxns:
            log.warning("too many connections (maxCnxns=%d): closing %s:%d",
                        self.max_cnxns, *conn.remote)
            return False
        self._per_ip[ip] = n + 1
        self.connections.add(conn)
        if self.throttled:
            conn.pause_reading()
        return True

    def connection_closed(self, conn: ClientConnection) -> None:
        if conn in self.connections:
            self.connections.discard(conn)
            ip = conn.remote[0]
            left = self._per_ip.get(ip, 1) - 1
            if left > 0:
                self._per_ip[ip] = left
            else:
                self._per_ip.pop(ip, None)
        conn.stats.close()
        sid = conn.conn.session_id
        if sid and self.by_session.get(sid) is conn:
            del self.by_session[sid]
        self.state.drop_watcher(conn)
        self._dirty.discard(conn)

    def try_four_letter_word(self, conn: ClientConnection, data: bytes) -> bool:
        if self.four_letter is None or len(data) < 4:
            return False
        word = data[:4]
        if not word.isalpha():
            return False
        answer = self.four_letter(word.decode("ascii"), data[4:])
        if answer is None:
            return False
        assert conn.transport is not None
        conn.transport.write(answer.encode("utf-8"))
        conn.close_after_flush()
        return True

    def touch(self, conn: ClientConnection) -> int:
        """Packets arrived on ``conn``: renew its session. Returns the wall clock (ms)
        used, which is also the time of the writes in those packets."""
        now = wall_ms()
        sid = conn.conn.session_id
        if sid:
            self.state.touch(sid, now)
        return now

    def mark_dirty(self, conn: ClientConnection) -> None:
        self._dirty.add(conn)

    def flush_dirty(self) -> None:
        dirty = self._dirty
        if dirty:
            conns = list(dirty)
            dirty.clear()  # the same set: _apply_batch holds its bound add
            for c in conns:
                c.flush()

    # ------------------------------------------------------------ sessions

    def negotiate_timeout(self, requested_ms: int) -> int:
        return max(self.min_session_timeout_ms, min(requested_ms, self.max_session_timeout_ms))

    def handshake(self, conn: ClientConnection, req: rec.ConnectRequest,
                  read_only: bool | None) -> None:
        if req.lastZxidSeen > self.state.last_zxid:
            # The client has seen a newer history than ours: it must try another member.
            log.info("refusing %s:%d: client zxid 0x%x is ahead of ours 0x%x",
                     *conn.remote, req.lastZxidSeen, self.state.last_zxid)
            conn.abort()
            return
        if req.sessionId == 0:
            cmd = self.state.create_session_command(req.timeOut, wall_ms())
            self._enqueue(cmd, (conn, 0, OpCode.CREATE_SESSION, None))
            return
        sid = req.sessionId
        passwd = req.passwd or b""
        if not (self.state.session_alive(sid) and self.state.check_password(sid, passwd)):
            conn.session_refused()
            return
        old = self.by_session.get(sid)
        if old is not None and old is not conn:
            # Re-attached elsewhere: ZooKeeper closes the old connection.
            old.abort()
        self.by_session[sid] = conn
        self.state.touch(sid, wall_ms())
        conn.session_established(sid, self.negotiate_timeout(req.timeOut), passwd)
        self.mark_dirty(conn)

    def expire_sessions(self) -> None:
        now = wall_ms()
        for sid in self.state.expired_sessions(now):
            log.info("session 0x%x expired", sid)
            self._enqueue(self.state.close_session_command(sid, now), None)

    def reap(self) -> None:
        for cmd in self.state.reap_commands(wall_ms()):
            self._enqueue(cmd, None)

    # ------------------------------------------------------------ the write pipeline

    def submit_request(self, conn: ClientConnection, xid: int, op: int, req: Any,
                       raw: bytes | None, now_ms: int) -> None:
        """``raw``: the request's own bytes (logged as they are); ``now_ms``: the wall
        clock of the read that brought it (Member.touch)."""
        self._batch.append((self.state.command(conn.conn, op, req, xid, now_ms, raw),
                            (conn, xid, op, None)))
        # The rest of _enqueue, written out: this is every client write's path.
        self.outstanding_writes += 1
        if self.outstanding_writes > self.global_outstanding_limit and not self.throttled:
            self._throttle(True)
        if not self._batch_scheduled:
            self._batch_scheduled = True
            self.loop.call_soon(self._flush_batch)

    def submit_sync(self, conn: ClientConnection, xid: int, req: rec.SyncRequest) -> None:
        # A barrier, not a txn: answered once every write submitted before it is applied.
        self._enqueue(None, (conn, xid, OpCode.SYNC, req.path))

    def submit_close_session(self, conn: ClientConnection, xid: int) -> None:
        cmd = self.state.close_session_command(conn.conn.session_id, wall_ms())
        self._enqueue(cmd, (conn, xid, OpCode.CLOSE_SESSION, None))

    def _enqueue(self, cmd: Command | None, origin: Origin) -> None:
        self._batch.append((cmd, origin))
        self.outstanding_writes += 1
        if self.outstanding_writes > self.global_outstanding_limit and not self.throttled:
            self._throttle(True)
        if not self._batch_scheduled:
            self._batch_scheduled = True
            self.loop.call_soon(self._flush_batch)

    def _flush_batch(self) -> None:
        """Once per loop turn: make the batch durable, then apply it."""
        self._batch_scheduled = False
        batch, self._batch = self._batch, []
        if not batch:
            return
        if self.txn_log is None:
            self._apply_batch(batch)
            return
        # ``wire or to_bytes()``: a client's write carries its wire form already (no call).
        payloads = [(cmd.zxid, cmd.wire or cmd.to_bytes()) for cmd, _ in batch
                    if cmd is not None]
        if not payloads:
            self._apply_batch(batch)
            return
        # One write and no reads since the last batch: a lone synchronous writer, whom the
        # round trip to the fsync helper would only delay. Otherwise reads keep flowing
        # while the helper syncs.
        inline = len(payloads) == 1 and not self.reads_seen
        self.reads_seen = False
        self.txn_log.commit(payloads, lambda err: self._durable(batch, err), inline)

    def _durable(self, batch: list[tuple[Command | None, Origin]], err: Exception | None) -> None:
        if err is not None:
            # Not durable: never acknowledge. Stop serving writes; clients see the
            # connection drop and retry elsewhere (or here after an operator fix).
            log.error("txn log failed, %d write(s) not acknowledged: %s", len(batch), err)
            self.serving = False
            for _, origin in batch:
                if origin is not None:
                    origin[0].abort()
            if self._on_storage_failure is not None:
                self._on_storage_failure(err)
            return
        self._apply_batch(batch)

    def _apply_batch(self, batch: list[tuple[Command | None, Origin]]) -> None:
        state = self.state
        by_session = self.by_session
        dirty = self._dirty.add  # every connection replied to is flushed at the end
        now = elapsed_ms()  # the replies' time, for request latency
        self.outstanding_writes -= len(batch)
        for cmd, origin in batch:
            if cmd is None:
                assert origin is not None
                conn, xid, op, path = origin
                if not conn.closing:
                    conn.command_done(xid, op, state.last_zxid, 0, rec.SyncResponse(path), now)
                    dirty(conn)
                continue
            applied = state.apply(cmd)
            for watcher, ev in applied.events:
                watcher.send_event(ev)
            if applied.new_session is not None:
                sid, timeout_ms, passwd = applied.new_session
                if origin is not None and not origin[0].closing:
                    conn = origin[0]
                    by_session[sid] = conn
                    conn.session_established(sid, timeout_ms, passwd)
                    dirty(conn)
                continue
            if applied.closed_session is not None:
                sid = applied.closed_session
                holder = by_session.pop(sid, None)
                if origin is not None and not origin[0].closing:
                    conn, xid, op, _ = origin
                    conn.command_done(xid, op, applied.zxid, applied.err, applied.response, now)
                    conn.close_after_flush()  # flushes
                elif holder is not None:
                    holder.close_after_flush()
                continue
            if origin is not None:
                conn, xid, op, _ = origin
                if not conn.closing:
                    conn.command_done(xid, op, applied.zxid, applied.err, applied.response, now)
                    dirty(conn)
        self.flush_dirty()
        if self.throttled and self.outstanding_writes <= self.global_outstanding_limit:
            self._throttle(False)
        if self._after_batch is not None:
            self._after_batch()

    def _throttle(self, on: bool) -> None:
        """globalOutstandingLimit: stop reading from every client while more writes than
        the limit wait for the disk (their requests wait in the kernel's socket buffers,
        not in our memory); read again once the backlog is back under the limit."""
        self.throttled = on
        if on:
            log.debug("throttling clients: %d writes outstanding (globalOutstandingLimit=%d)",
                     self.outstanding_writes, self.global_outstanding_limit)
        for c in self.connections:
            if on:
                c.pause_reading()
            else:
                c.resume_reading()

    # ------------------------------------------------------------ shutdown

    def close_all(self) -> None:
        for c in list(self.connections):
            c.abort()
