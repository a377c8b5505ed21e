"""ZkClient: the asyncio driver of the sans-I/O ``ClientSession``.

Rules:
- One task (``_run``) owns the connection: it picks the next host, connects with a
  bounded timeout, waits until the link is lost, and backs off (bounded, jittered)
  before the next round of hosts. It stops only when the session is CLOSED, EXPIRED
  or AUTH_FAILED, and every state change reaches the listeners (kazoo#89: never retry
  forever silently).
- Bytes move in ``_Link.data_received``: all complete frames are decoded there and
  their futures resolved at once; a request costs one future (no task per request).
- Timers: one ``loop.call_at`` handle fires ``session.tick`` at the session's next
  deadline (ping, read timeout, handshake timeout, client-side expiry).
- Watch callbacks and state listeners run one at a time, in order, on a dispatcher
  task (never concurrently, never inside ``data_received``). A callback may be a plain
  function or return an awaitable, which is awaited before the next callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from ..errors import (
    ConnectionLossError,
    MarshallingError,
    NodeExistsError,
    NoNodeError,
    NoWatcherError,
)
from ..paths import join
from ..proto import records as rec
from ..proto.jute import Record
from ..proto.opcodes import AddWatchMode, KeeperState, OpCode, WatcherType
from ..proto.ops import decode_multi_results, encode_multi
from .acl import OPEN_ACL_UNSAFE
from .hosts import HostCycle, HostPort, add_chroot, parse_connect_string, strip_chroot
from .retry import Backoff
from .session import (
    CONNECTED,
    CONNECTING,
    EXPIRED,
    LIVE_STATES,
    TERMINAL_STATES,
    WATCH_CHILD,
    WATCH_DATA,
    WATCH_EXIST,
    WATCH_PERSISTENT,
    WATCH_RECURSIVE,
    ClientSession,
    CloseConnection,
    Completion,
    ConnectionClosedError,
    Notify,
    StateChange,
    WatchedEvent,
)
from .transaction import (
    Transaction,
    check_path,
    create_flags,
    create_record,
    read_results,
)

log = logging.getLogger("zkpy.client")

Watcher = Callable[[WatchedEvent], Any]
WatchArg = Watcher | bool | None
Listener = Callable[[str], Any]

CONFIG_NODE = "/zookeeper/config"


class _Link(asyncio.Protocol):
    """One TCP connection; forwards bytes to the client while it is the current link."""

    def __init__(self, client: ZkClient) -> None:
        self.client = client
        self.transport: asyncio.Transport | None = None
        self.lost = asyncio.Event()
        self.handshaken = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.client._on_data(self, data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.client._on_lost(self)
        self.lost.set()


# Readers: decode a successful reply body (frame, offset after ReplyHeader).
def _read_stat(fr: bytes, off: int) -> rec.Stat:
    return rec.Stat.decode(fr, off)[0]


def _read_get(fr: bytes, off: int) -> tuple[bytes | None, rec.Stat]:
    r, _ = rec.GetDataResponse.RECORD.decode(fr, off)  # its fields, decoded once
    return r.data, r.stat  # type: ignore[attr-defined]


def _read_children(fr: bytes, off: int) -> list[str]:
    r, _ = rec.GetChildrenResponse.decode(fr, off)
    return list(r.children or [])


def _read_children2(fr: bytes, off: int) -> tuple[list[str], rec.Stat]:
    r, _ = rec.GetChildren2Response.decode(fr, off)
    return list(r.children or []), r.stat


def _read_acl(fr: bytes, off: int) -> tuple[list[rec.ACL], rec.Stat]:
    r, _ = rec.GetACLResponse.decode(fr, off)
    return list(r.acl or []), r.stat


def _read_int(fr: bytes, off: int) -> int:
    return rec.GetAllChildrenNumberResponse.decode(fr, off)[0].totalNumber


def _read_whoami(fr: bytes, off: int) -> list[tuple[str, str]]:
    r, _ = rec.WhoAmIResponse.decode(fr, off)
    return [(ci.authScheme or "", ci.user or "") for ci in (r.clientInfo or [])]


class ZkClient:
    """asyncio ZooKeeper client. See the module docstring for the concurrency rules."""

    def __init__(self, hosts: str, *, session_timeout_ms: int = 30000, read_only: bool = False,
                 auth: list[tuple[str, str]] | None = None,
                 default_acl: list[rec.ACL] | None = None, connect_timeout_s: float = 10.0,
                 default_watcher: Watcher | None = None,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        """``ssl_context``: talk TLS to every host (a secure client port); the host name
        of the connect string is what its ``check_hostname`` checks."""
        cs = parse_connect_string(hosts)
        self.ssl_context = ssl_context
        self.hosts = hosts
        self._host_list: tuple[HostPort, ...] = cs.hosts
        self.chroot = cs.chroot
        self.read_only = read_only
        self.default_acl = list(default_acl) if default_acl is not None else OPEN_ACL_UNSAFE
        self.connect_timeout_s = connect_timeout_s
        self.default_watcher = default_watcher
        self._requested_timeout_ms = session_timeout_ms
        self._initial_auth = [(s, c.encode("utf-8") if isinstance(c, str) else c)
                              for s, c in (auth or [])]
        self._rng = random.Random()
        self._session = self._new_session()
        self._listeners: list[Listener] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._link: _Link | None = None
        self._connected_host: HostPort | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._wake: asyncio.Event | None = None
        self._state_changed: asyncio.Event | None = None
        self._dispatch_q: deque[tuple[Callable[[Any], Any], Any]] = deque()
        self._dispatch_wake: asyncio.Event | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        # The blocking facade replaces this to run callbacks on its own thread.
        self._callback_runner: Callable[[Callable[[Any], Any], Any], Any] | None = None
        self.last_error: BaseException | None = None

    def _new_session(self) -> ClientSession:
        s = ClientSession(session_timeout_ms=self._requested_timeout_ms,
                          read_only=self.read_only, chroot=self.chroot,
                          host_count=len(self._host_list), default_watcher=self.default_watcher)
        for scheme, cred in self._initial_auth:
            s.submit_auth(scheme, cred, None, 0)
        s.drain()
        return s

    # ------------------------------------------------------------------ properties

    @property
    def state(self) -> str:
        return self._session.state

    @property
    def session_id(self) -> int:
        return self._session.session_id

    @property
    def session_timeout_ms(self) -> int:
        return self._session.negotiated_timeout_ms

    @property
    def session_passwd(self) -> bytes:
        return self._session.passwd

    @property
    def last_zxid(self) -> int:
        return self._session.last_zxid

    @property
    def connected_host(self) -> str | None:
        if self._connected_host is None or self._session.state not in LIVE_STATES:
            return None
        return str(self._connected_host)

    @property
    def connected(self) -> bool:
        return self._session.state in LIVE_STATES

    def add_listener(self, fn: Listener) -> None:
        """``fn(state)`` after every state change, in order with watch events."""
        if fn not in self._listeners:
            self._listeners.append(fn)

    def remove_listener(self, fn: Listener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(fn)

    # ------------------------------------------------------------------ plumbing

    def _now_ms(self) -> int:
        assert self._loop is not None
        return int(self._loop.time() * 1000)

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
            self._wake = asyncio.Event()
            self._state_changed = asyncio.Event()
            self._dispatch_wake = asyncio.Event()
        elif self._loop is not loop:
            raise RuntimeError("ZkClient used from two event loops")
        return loop

    def _flush(self) -> None:
        s = self._session
        data = s.data_to_send()
        link = self._link
        if data and link is not None and link.transport is not None:
            link.transport.write(data)
        outputs = s.drain()
        for out in outputs:
            if type(out) is Completion:
                fut = out.token
                if fut is None or fut.done():
                    continue
                if out.error is not None:
                    fut.set_exception(out.error)
                else:
                    fut.set_result(out.value)
            elif type(out) is Notify:
                for w in out.watchers:
                    self._dispatch_q.append((w, out.event))
                self._dispatch_wake.set()  # type: ignore[union-attr]
            elif type(out) is StateChange:
                log.debug("state %s -> %s", out.old, out.new)
                for fn in list(self._listeners):
                    self._dispatch_q.append((fn, out.new))
                self._dispatch_wake.set()  # type: ignore[union-attr]
                self._state_changed.set()  # type: ignore[union-attr]
                if out.new in TERMINAL_STATES:
                    self._wake.set()  # type: ignore[union-attr]
            elif type(out) is CloseConnection:
                log.debug("dropping connection: %s", out.reason)
                if link is not None and link.transport is not None:
                    link.transport.abort()
        self._schedule_timer()

    def _schedule_timer(self) -> None:
        deadline_ms = self._session.next_deadline_ms()
        if deadline_ms is None:
            return
        at = deadline_ms / 1000.0
        if self._timer is not None and not self._timer.cancelled() and self._timer_at <= at:
            return  # the timer fires no later than needed; it reschedules itself
        if self._timer is not None:
            self._timer.cancel()
        assert self._loop is not None
        self._timer_at = at
        self._timer = self._loop.call_at(at, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._session.tick(self._now_ms())
        self._flush()

    def _on_lost(self, link: _Link) -> None:
        """The current link died: fail its requests and change state right away (the
        connection task then moves on to the next host)."""
        if link is not self._link:
            return
        self._link = None
        self._session.connection_lost(self._now_ms())
        self._flush()

    def _on_data(self, link: _Link, data: bytes) -> None:
        if link is not self._link:
            return
        s = self._session
        s.receive_data(data, self._now_ms())
        if s.connected:
            link.handshaken = True
        self._flush()

    async def _dispatch_loop(self) -> None:
        q = self._dispatch_q
        wake = self._dispatch_wake
        assert wake is not None
        while True:
            while q:
                fn, arg = q.popleft()
                runner = self._callback_runner
                try:
                    if runner is not None:
                        runner(fn, arg)
                        continue
                    res = fn(arg)
                    if isinstance(res, Awaitable):
                        await res
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("zkpy client callback %r failed", fn)
            wake.clear()
            await wake.wait()

    # ------------------------------------------------------------------ connection task

    async def _sleep_or_wake(self, delay_s: float) -> None:
        assert self._wake is not None
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay_s)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        s = self._session
        hosts = HostCycle(self._host_list, self._rng)
        backoff = Backoff(self._rng, initial_s=0.05, max_s=1.0)
        while s.state not in TERMINAL_STATES and not s.closing:
            host = hosts.next()
            now = self._now_ms()
            timeout_ms = s.connect_timeout_ms
            remaining = s.expiry_remaining_ms(now)
            if remaining is not None:
                timeout_ms = min(timeout_ms, max(remaining, 1))
            link = _Link(self)
            handshaken = False
            try:
                ctx = self.ssl_context
                await asyncio.wait_for(
                    loop.create_connection(
                        lambda link=link: link, host.host, host.port, ssl=ctx,
                        server_hostname=host.host if ctx is not None else None),
                    timeout_ms / 1000.0)
            except (OSError, TimeoutError) as e:  # ssl.SSLError is an OSError
                self.last_error = e
                log.debug("connect to %s failed: %r", host, e)
                s.connection_lost(self._now_ms())
                self._flush()
            else:
                self._link = link
                self._connected_host = host
                s.connection_made(self._now_ms())
                self._flush()
                try:
                    await link.lost.wait()
                finally:
                    handshaken = link.handshaken
                    if link.transport is not None:
                        link.transport.abort()
                    self._on_lost(link)
            if s.state in TERMINAL_STATES or s.closing:
                break
            if handshaken:
                # We had a working session on this link: try the next host at once.
                backoff.reset()
                hosts.reset_round()
                continue
            if hosts.completed_round:
                hosts.reset_round()
                delay = backoff.next_delay_s()
                remaining = s.expiry_remaining_ms(self._now_ms())
                if remaining is not None:
                    delay = min(delay, max(remaining, 0) / 1000.0 + 0.001)
                await self._sleep_or_wake(delay)
                s.tick(self._now_ms())
                self._flush()

    # ------------------------------------------------------------------ lifecycle

    async def start(self, timeout_s: float | None = None) -> None:
        """Connect (or reconnect after EXPIRED/CLOSED with a new session); raise
        ConnectionLossError if not connected within ``timeout_s`` (default
        ``connect_timeout_s``), AuthFailedError if the server refuses our auth."""
        self._ensure_loop()
        s = self._session
        if s.state in LIVE_STATES:
            return
        if s.state in TERMINAL_STATES:
            await self._stop_connection_task()
            self._session = s = self._new_session()
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch_loop())
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        timeout = self.connect_timeout_s if timeout_s is None else timeout_s
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        assert self._state_changed is not None
        while s.state not in LIVE_STATES:
            if s.state in TERMINAL_STATES:
                err = s._dead_error(None)
                await self._stop_tasks()
                raise err
            left = deadline - loop.time()
            if left <= 0:
                await self._abandon()
                err = ConnectionLossError()
                detail = f": {self.last_error!r}" if self.last_error else ""
                err.args = (f"could not connect to {self.hosts} within {timeout}s{detail}",)
                raise err
            self._state_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._state_changed.wait(), left)

    async def _abandon(self) -> None:
        """Give up connecting: local close, no server round trip."""
        s = self._session
        if s.state not in TERMINAL_STATES:
            s.close(None, self._now_ms())
            if self._link is not None and self._link.transport is not None:
                self._link.transport.abort()
            s.connection_lost(self._now_ms())
            self._flush()
        await self._stop_tasks()

    async def close(self, timeout_s: float = 10.0) -> None:
        """closeSession (bounded wait for its reply), then CLOSED; idempotent."""
        if self._loop is None:
            self._session.close(None, 0)
            self._session.drain()
            return
        s = self._session
        if s.state not in TERMINAL_STATES:
            fut = self._loop.create_future()
            s.close(fut, self._now_ms())
            self._flush()
            wait_s = min(timeout_s, max(1.0, s.negotiated_timeout_ms / 1000.0))
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(fut), wait_s)
            if s.state not in TERMINAL_STATES:
                if self._link is not None and self._link.transport is not None:
                    self._link.transport.abort()
                s.connection_lost(self._now_ms())
                self._flush()
        await self._stop_tasks()

    async def _stop_connection_task(self) -> None:
        if self._wake is not None:
            self._wake.set()
        task, self._task = self._task, None
        if task is None or task is asyncio.current_task():
            return
        # It ends by itself once the session is terminal, unless it is inside a
        # connection attempt: do not wait for that attempt's timeout.
        await asyncio.wait({task}, timeout=0.5)
        if not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=2.0)
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.error("zkpy client connection task failed", exc_info=task.exception())

    async def _stop_tasks(self) -> None:
        await self._stop_connection_task()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        # Let queued callbacks (e.g. the Closed event) run, within a bound.
        disp, self._dispatcher = self._dispatcher, None
        if disp is not None:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 5.0
            while self._dispatch_q and loop.time() < deadline and not disp.done():
                await asyncio.sleep(0.005)
            disp.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await disp

    async def __aenter__(self) -> ZkClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ requests

    def _watcher(self, watch: WatchArg) -> Hashable | None:
        if watch is None or watch is False:
            return None
        if watch is True:
            return self.default_watcher
        if not callable(watch):
            raise TypeError("watch must be a callable, True or None")
        return watch

    def _submit(self, op: int, body: bytes, path: str | None,
                reader: Callable[[bytes, int], Any] | None = None,
                watch: tuple[str, str, Hashable] | None = None,
                on_ok: Callable[[], None] | None = None) -> asyncio.Future[Any]:
        loop = self._ensure_loop()
        if self._task is None and self._session.state not in TERMINAL_STATES:
            raise ConnectionLossError(path)  # not started
        fut = loop.create_future()
        self._session.submit(op, body, fut, self._now_ms(), path=path, reader=reader,
                             watch=watch, on_ok=on_ok)
        self._flush()
        return fut

    def _spath(self, path: str, sequential: bool = False) -> str:
        check_path(path, sequential)
        return add_chroot(self.chroot, path)

    async def create(self, path: str, data: bytes | None = b"", acl: list[rec.ACL] | None = None,
                     *, ephemeral: bool = False, sequence: bool = False, container: bool = False,
                     ttl_ms: int = 0, include_stat: bool = False) -> str | tuple[str, rec.Stat]:
        op, flags = create_flags(ephemeral=ephemeral, sequence=sequence, container=container,
                                 ttl_ms=ttl_ms)
        if op == OpCode.CREATE and include_stat:
            op = OpCode.CREATE2
        sp = self._spath(path, sequence)
        acl = self.default_acl if acl is None else acl
        body = create_record(op, sp, data, acl, flags, ttl_ms).to_bytes()
        chroot = self.chroot
        if op == OpCode.CREATE:
            def read(fr: bytes, off: int) -> Any:
                return strip_chroot(chroot, rec.CreateResponse.decode(fr, off)[0].path)
        else:
            def read(fr: bytes, off: int) -> Any:
                r = rec.Create2Response.decode(fr, off)[0]
                p = strip_chroot(chroot, r.path)
                return (p, r.stat) if include_stat else p
        result: str | tuple[str, rec.Stat] = await self._submit(op, body, path, read)
        return result

    async def delete(self, path: str, version: int = -1) -> None:
        await self._submit(OpCode.DELETE, rec.DeleteRequest(self._spath(path), version).to_bytes(),
                           path)

    async def exists(self, path: str, watch: WatchArg = None) -> rec.Stat | None:
        sp = self._spath(path)
        w = self._watcher(watch)
        try:
            st: rec.Stat = await self._submit(
                OpCode.EXISTS, rec.ExistsRequest(sp, w is not None).to_bytes(), path, _read_stat,
                (WATCH_EXIST, sp, w) if w is not None else None)
        except NoNodeError:
            return None
        return st

    async def get(self, path: str, watch: WatchArg = None) -> tuple[bytes | None, rec.Stat]:
        sp = self._spath(path)
        w = self._watcher(watch)
        result: tuple[bytes | None, rec.Stat] = await self._submit(
            OpCode.GET_DATA, rec.GetDataRequest(sp, w is not None).to_bytes(), path, _read_get,
            (WATCH_DATA, sp, w) if w is not None else None)
        return result

    async def set(self, path: str, data: bytes | None, version: int = -1) -> rec.Stat:
        st: rec.Stat = await self._submit(
            OpCode.SET_DATA, rec.SetDataRequest(self._spath(path), data, version).to_bytes(),
            path, _read_stat)
        return st

    async def get_children(self, path: str, watch: WatchArg = None,
                           include_stat: bool = False) -> list[str] | tuple[list[str], rec.Stat]:
        sp = self._spath(path)
        w = self._watcher(watch)
        wreg = (WATCH_CHILD, sp, w) if w is not None else None
        if include_stat:
            res2: tuple[list[str], rec.Stat] = await self._submit(
                OpCode.GET_CHILDREN2, rec.GetChildren2Request(sp, w is not None).to_bytes(), path,
                _read_children2, wreg)
            return res2
        res: list[str] = await self._submit(
            OpCode.GET_CHILDREN, rec.GetChildrenRequest(sp, w is not None).to_bytes(), path,
            _read_children, wreg)
        return res

    async def get_acl(self, path: str) -> tuple[list[rec.ACL], rec.Stat]:
        res: tuple[list[rec.ACL], rec.Stat] = await self._submit(
            OpCode.GET_ACL, rec.GetACLRequest(self._spath(path)).to_bytes(), path, _read_acl)
        return res

    async def set_acl(self, path: str, acl: list[rec.ACL], version: int = -1) -> rec.Stat:
        st: rec.Stat = await self._submit(
            OpCode.SET_ACL, rec.SetACLRequest(self._spath(path), acl, version).to_bytes(), path,
            _read_stat)
        return st

    async def sync(self, path: str) -> str:
        chroot = self.chroot

        def read(fr: bytes, off: int) -> str:
            return strip_chroot(chroot, rec.SyncResponse.decode(fr, off)[0].path or "")
        res: str = await self._submit(OpCode.SYNC, rec.SyncRequest(self._spath(path)).to_bytes(),
                                      path, read)
        return res

    async def add_auth(self, scheme: str, credential: str | bytes) -> None:
        """addAuth; AuthFailedError (and state AUTH_FAILED) if the server rejects it."""
        loop = self._ensure_loop()
        if self._task is None and self._session.state not in TERMINAL_STATES:
            raise ConnectionLossError()
        cred = credential.encode("utf-8") if isinstance(credential, str) else bytes(credential)
        fut = loop.create_future()
        self._session.submit_auth(scheme, cred, fut, self._now_ms())
        self._flush()
        await fut

    async def add_watch(self, path: str, watch: Watcher, mode: AddWatchMode) -> None:
        sp = self._spath(path)
        w = self._watcher(watch)
        if w is None:
            raise TypeError("add_watch needs a watcher")
        mode = AddWatchMode(mode)
        kind = WATCH_RECURSIVE if mode == AddWatchMode.PERSISTENT_RECURSIVE else WATCH_PERSISTENT
        await self._submit(OpCode.ADD_WATCH, rec.AddWatchRequest(sp, int(mode)).to_bytes(), path,
                           None, (kind, sp, w))

    async def remove_watches(self, path: str, watcher_type: WatcherType,
                             watch: WatchArg = None, local: bool = False) -> None:
        """Remove watches of ``watcher_type`` on ``path`` (only ``watch`` if given).
        Raises NoWatcherError when nothing matches. ``local`` removes them client-side
        only (the server keeps its watch; its events are then dropped)."""
        sp = self._spath(path)
        wt = WatcherType(watcher_type)
        w = self._watcher(watch) if watch is not None else None
        s = self._session
        mine = s.local_watchers(sp, wt)
        if w is not None and w not in mine:
            raise NoWatcherError(path)
        if local:
            if not mine:
                raise NoWatcherError(path)
            s.remove_local_watches(sp, wt, w)
            self._ensure_loop()
            self._flush()
            return
        # Other local watchers of this type still need the server's watch: only check it.
        op = OpCode.CHECK_WATCHES if (w is not None and len(mine) > 1) else OpCode.REMOVE_WATCHES
        try:
            await self._submit(op, rec.RemoveWatchesRequest(sp, int(wt)).to_bytes(), path, None,
                               on_ok=lambda: s.remove_local_watches(sp, wt, w) and None)
        except MarshallingError:
            # ZooKeeper < 3.9 knows no WatcherType 4/5 (Persistent/PersistentRecursive):
            # a 3.8 client removes those with Any. Do the same when Any removes nothing
            # else of ours on this path; otherwise the error stands.
            if wt not in (WatcherType.PERSISTENT, WatcherType.PERSISTENT_RECURSIVE):
                raise
            if set(s.local_watchers(sp, WatcherType.ANY)) != set(mine) or op != OpCode.REMOVE_WATCHES:
                raise
            await self._submit(OpCode.REMOVE_WATCHES,
                               rec.RemoveWatchesRequest(sp, int(WatcherType.ANY)).to_bytes(),
                               path, None,
                               on_ok=lambda: s.remove_local_watches(sp, wt, w) and None)

    async def check_watches(self, path: str, watcher_type: WatcherType) -> None:
        sp = self._spath(path)
        await self._submit(OpCode.CHECK_WATCHES,
                           rec.CheckWatchesRequest(sp, int(WatcherType(watcher_type))).to_bytes(),
                           path)

    async def get_ephemerals(self, prefix: str = "/") -> list[str]:
        sprefix = add_chroot(self.chroot, prefix) if prefix.startswith("/") else prefix
        chroot = self.chroot

        def read(fr: bytes, off: int) -> list[str]:
            r = rec.GetEphemeralsResponse.decode(fr, off)[0]
            return [strip_chroot(chroot, p) for p in (r.ephemerals or [])]
        res: list[str] = await self._submit(
            OpCode.GET_EPHEMERALS, rec.GetEphemeralsRequest(sprefix).to_bytes(), prefix, read)
        return res

    async def get_all_children_number(self, path: str) -> int:
        res: int = await self._submit(
            OpCode.GET_ALL_CHILDREN_NUMBER,
            rec.GetAllChildrenNumberRequest(self._spath(path)).to_bytes(), path, _read_int)
        return res

    async def whoami(self) -> list[tuple[str, str]]:
        res: list[tuple[str, str]] = await self._submit(OpCode.WHO_AM_I, b"", None, _read_whoami)
        return res

    async def get_config(self, watch: WatchArg = None) -> tuple[bytes | None, rec.Stat]:
        """Data of /zookeeper/config (never under the chroot, as in the Java client)."""
        w = self._watcher(watch)
        res: tuple[bytes | None, rec.Stat] = await self._submit(
            OpCode.GET_DATA, rec.GetDataRequest(CONFIG_NODE, w is not None).to_bytes(),
            CONFIG_NODE, _read_get, (WATCH_DATA, CONFIG_NODE, w) if w is not None else None)
        return res

    async def reconfig(self, joining: str | None = None, leaving: str | None = None,
                       new_members: str | None = None,
                       from_config: int = -1) -> tuple[bytes | None, rec.Stat]:
        res: tuple[bytes | None, rec.Stat] = await self._submit(
            OpCode.RECONFIG,
            rec.ReconfigRequest(joining, leaving, new_members, from_config).to_bytes(),
            CONFIG_NODE, _read_get)
        return res

    async def multi_read(self, ops: list[tuple[str, str]]) -> list[Any]:
        """multiRead: ``ops`` are ``("get", path)`` / ``("get_children", path)``; results
        are ``(data, stat)``, a list of names, or a ZkError instance per op."""
        if not ops:
            return []
        sub: list[tuple[int, Record]] = []
        paths: list[str] = []
        for kind, path in ops:
            sp = self._spath(path)
            paths.append(sp)
            if kind in ("get", "get_data", OpCode.GET_DATA):
                sub.append((OpCode.GET_DATA, rec.GetDataRequest(sp, False)))
            elif kind in ("get_children", "ls", OpCode.GET_CHILDREN):
                sub.append((OpCode.GET_CHILDREN, rec.GetChildrenRequest(sp, False)))
            else:
                raise ValueError(f"multi_read op must be 'get' or 'get_children', not {kind!r}")
        body = bytearray()
        encode_multi(body, sub)
        chroot = self.chroot

        def read(fr: bytes, off: int) -> list[Any]:
            return read_results(decode_multi_results(fr, off)[0], chroot, paths)
        res: list[Any] = await self._submit(OpCode.MULTI_READ, bytes(body), None, read)
        return res

    def transaction(self) -> Transaction:
        async def send(body: bytes, read: Callable[[bytes, int], Any]) -> Any:
            return await self._submit(OpCode.MULTI, body, None, read)
        return Transaction(self.chroot, self.default_acl, send)

    # ------------------------------------------------------------------ helpers

    async def ensure_path(self, path: str, acl: list[rec.ACL] | None = None) -> None:
        """Create ``path`` and any missing ancestors (existing nodes are fine)."""
        check_path(path)
        if path == "/":
            return
        if await self.exists(path) is not None:
            return
        cur = ""
        for part in path.strip("/").split("/"):
            cur = f"{cur}/{part}"
            try:
                await self.create(cur, b"", acl)
            except NodeExistsError:
                pass

    async def delete_recursive(self, path: str) -> None:
        """Delete ``path`` and everything below it (missing nodes are fine)."""
        check_path(path)
        try:
            children = await self.get_children(path)
        except NoNodeError:
            return
        assert isinstance(children, list)
        for c in children:
            await self.delete_recursive(join(path, c))
        if path == "/":
            return
        try:
            await self.delete(path)
        except NoNodeError:
            pass


__all__ = ["ZkClient", "WatchedEvent", "KeeperState", "CONNECTING", "CONNECTED", "EXPIRED",
           "ConnectionClosedError"]
