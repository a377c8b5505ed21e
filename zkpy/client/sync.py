"""Client: a blocking facade over ZkClient, running its event loop in a background thread.

Rules:
- Same method names and arguments as ZkClient; each call runs the coroutine on the
  client's loop and waits for it with a bound (``request_timeout_s``), raising
  OperationTimeoutError when the bound passes.
- Watch callbacks and state listeners run in order on one dedicated callback thread,
  so a callback may call blocking Client methods (as kazoo allows).
- Calling a blocking method from the client's own loop thread is an error (it would
  deadlock); use ZkClient there.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from ..errors import OperationTimeoutError
from ..proto import records as rec
from .aio import ZkClient
from .transaction import Transaction

log = logging.getLogger("zkpy.client")

_STOP = object()

_DELEGATED = (
    "create", "delete", "exists", "get", "set", "get_children", "get_acl", "set_acl", "sync",
    "add_auth", "add_watch", "remove_watches", "check_watches", "get_ephemerals",
    "get_all_children_number", "whoami", "get_config", "reconfig", "multi_read",
    "ensure_path", "delete_recursive",
)


class SyncTransaction:
    """Transaction whose ``commit()`` blocks."""

    def __init__(self, client: Client, txn: Transaction) -> None:
        self._client = client
        self._txn = txn

    def create(self, *a: Any, **kw: Any) -> SyncTransaction:
        self._txn.create(*a, **kw)
        return self

    def delete(self, path: str, version: int = -1) -> SyncTransaction:
        self._txn.delete(path, version)
        return self

    def set_data(self, path: str, data: bytes | None, version: int = -1) -> SyncTransaction:
        self._txn.set_data(path, data, version)
        return self

    def check(self, path: str, version: int) -> SyncTransaction:
        self._txn.check(path, version)
        return self

    def commit(self) -> list[Any]:
        result: list[Any] = self._client._call(self._txn.commit())
        return result

    def __len__(self) -> int:
        return len(self._txn)


class SyncProxy:
    """Runs the coroutine methods of an async object (a recipe) on the client's loop."""

    def __init__(self, client: Client, target: Any) -> None:
        self._client = client
        self._target = target

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        def call(*a: Any, **kw: Any) -> Any:
            timeout_s = kw.pop("_timeout_s", None)
            res = attr(*a, **kw)
            if asyncio.iscoroutine(res):
                return self._client._call(res, timeout_s)
            return res
        return call

    def __enter__(self) -> Any:
        self._client._call(self._target.__aenter__())
        return self

    def __exit__(self, *exc: object) -> None:
        self._client._call(self._target.__aexit__(*exc))


class Client:
    """Blocking ZooKeeper client (``Client(hosts, ...).start()``), same API as ZkClient."""

    def __init__(self, hosts: str, *, request_timeout_s: float | None = None,
                 **kwargs: Any) -> None:
        self._aio = ZkClient(hosts, **kwargs)
        # A request resolves within read timeout + reconnect attempts; this is only a
        # backstop against a wedged loop.
        self.request_timeout_s = request_timeout_s if request_timeout_s is not None else (
            self._aio.connect_timeout_s + self._aio._requested_timeout_ms / 1000.0 + 5.0)
        self._loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self._run_loop, name="zkpy-client-loop",
                                             daemon=True)
        self._cb_q: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._cb_thread = threading.Thread(target=self._run_callbacks,
                                           name="zkpy-client-callbacks", daemon=True)
        self._aio._callback_runner = self._queue_callback
        self._loop_thread.start()
        self._cb_thread.start()
        self._stopped = False

    # ------------------------------------------------------------------ threads

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def _queue_callback(self, fn: Callable[[Any], Any], arg: Any) -> None:
        self._cb_q.put((fn, arg))

    def _run_callbacks(self) -> None:
        while True:
            item = self._cb_q.get()
            if item is _STOP:
                return
            fn, arg = item
            try:
                fn(arg)
            except Exception:
                log.exception("zkpy client callback %r failed", fn)

    def _call(self, coro: Coroutine[Any, Any, Any], timeout_s: float | None = None) -> Any:
        if threading.current_thread() is self._loop_thread:
            coro.close()
            raise RuntimeError("blocking Client method called on its own event loop thread")
        if self._stopped:
            coro.close()
            raise RuntimeError("Client is stopped; create a new one")
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return fut.result(timeout_s if timeout_s is not None else self.request_timeout_s)
        except concurrent.futures.TimeoutError:
            fut.cancel()
            raise OperationTimeoutError() from None

    # ------------------------------------------------------------------ lifecycle

    def start(self, timeout_s: float | None = None) -> None:
        bound = (timeout_s if timeout_s is not None else self._aio.connect_timeout_s) + 10.0
        self._call(self._aio.start(timeout_s), bound)

    def close(self, timeout_s: float = 10.0) -> None:
        """Close the session and stop both threads (bounded)."""
        if self._stopped:
            return
        try:
            self._call(self._aio.close(timeout_s), timeout_s + 10.0)
        finally:
            self._stopped = True
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._loop_thread.join(5.0)
            if not self._loop.is_running():
                self._loop.close()
            self._cb_q.put(_STOP)
            if threading.current_thread() is not self._cb_thread:
                self._cb_thread.join(5.0)

    stop = close

    def __enter__(self) -> Client:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ properties

    @property
    def state(self) -> str:
        return self._aio.state

    @property
    def session_id(self) -> int:
        return self._aio.session_id

    @property
    def session_timeout_ms(self) -> int:
        return self._aio.session_timeout_ms

    @property
    def session_passwd(self) -> bytes:
        return self._aio.session_passwd

    @property
    def connected_host(self) -> str | None:
        return self._aio.connected_host

    @property
    def chroot(self) -> str:
        return self._aio.chroot

    @property
    def last_zxid(self) -> int:
        return self._aio.last_zxid

    @property
    def connected(self) -> bool:
        return self._aio.connected

    @property
    def aio(self) -> ZkClient:
        """The underlying asyncio client (its loop runs in the background thread)."""
        return self._aio

    def add_listener(self, fn: Callable[[str], Any]) -> None:
        self._aio.add_listener(fn)

    def remove_listener(self, fn: Callable[[str], Any]) -> None:
        self._aio.remove_listener(fn)

    def transaction(self) -> SyncTransaction:
        return SyncTransaction(self, self._aio.transaction())

    def __getattr__(self, name: str) -> Any:
        if name in _DELEGATED:
            method = getattr(self._aio, name)

            def call(*a: Any, **kw: Any) -> Any:
                return self._call(method(*a, **kw))
            call.__name__ = name
            call.__doc__ = method.__doc__
            return call
        raise AttributeError(name)

    # ------------------------------------------------------------------ recipes

    def Lock(self, path: str, identifier: str = "") -> Any:  # noqa: N802 - kazoo's name
        from .recipes.lock import Lock
        return SyncProxy(self, Lock(self._aio, path, identifier))

    def Election(self, path: str, identifier: str = "") -> Any:  # noqa: N802
        from .recipes.election import Election
        return SyncProxy(self, Election(self._aio, path, identifier))

    def Barrier(self, path: str) -> Any:  # noqa: N802
        from .recipes.barrier import Barrier
        return SyncProxy(self, Barrier(self._aio, path))

    def DoubleBarrier(self, path: str, num_clients: int, identifier: str = "") -> Any:  # noqa: N802
        from .recipes.barrier import DoubleBarrier
        return SyncProxy(self, DoubleBarrier(self._aio, path, num_clients, identifier))

    def Queue(self, path: str) -> Any:  # noqa: N802
        from .recipes.queue import Queue
        return SyncProxy(self, Queue(self._aio, path))

    def Counter(self, path: str, default: int = 0) -> Any:  # noqa: N802
        from .recipes.counter import Counter
        return SyncProxy(self, Counter(self._aio, path, default))


__all__ = ["Client", "SyncTransaction", "SyncProxy", "rec"]
