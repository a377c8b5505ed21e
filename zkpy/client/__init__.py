"""zkpy's ZooKeeper client: ``ZkClient`` (asyncio) and ``Client`` (blocking facade).

Modules: ``session`` (sans-I/O protocol core), ``hosts`` (connect strings, chroot),
``retry`` (reconnect back-off), ``aio`` (asyncio driver), ``sync`` (blocking facade),
``transaction`` (multi / multiRead), ``acl`` (ACL helpers), ``recipes`` (lock,
election, barrier, queue, counter).

States are plain strings: CONNECTING, CONNECTED, CONNECTEDREADONLY, SUSPENDED,
EXPIRED, CLOSED, AUTH_FAILED.
"""

from __future__ import annotations

from ..proto.opcodes import AddWatchMode, EventType, KeeperState, Perm, WatcherType
from ..proto.records import ACL, Id, Stat
from .acl import (
    CREATOR_ALL_ACL,
    OPEN_ACL_UNSAFE,
    READ_ACL_UNSAFE,
    make_acl,
    make_digest_acl,
    make_digest_id,
)
from .aio import ZkClient
from .session import (
    AUTH_FAILED,
    CLOSED,
    CONNECTED,
    CONNECTEDREADONLY,
    CONNECTING,
    EXPIRED,
    LIVE_STATES,
    SUSPENDED,
    TERMINAL_STATES,
    ConnectionClosedError,
    WatchedEvent,
)
from .sync import Client
from .transaction import RolledBackError, Transaction


class KazooState:
    """State names as constants (the values are the strings ``ZkClient.state`` takes)."""

    CONNECTING = CONNECTING
    CONNECTED = CONNECTED
    CONNECTEDREADONLY = CONNECTEDREADONLY
    SUSPENDED = SUSPENDED
    EXPIRED = EXPIRED
    CLOSED = CLOSED
    AUTH_FAILED = AUTH_FAILED


ClientState = KazooState

__all__ = [
    "ZkClient", "Client", "WatchedEvent", "Transaction", "RolledBackError",
    "ConnectionClosedError", "KazooState", "ClientState",
    "CONNECTING", "CONNECTED", "CONNECTEDREADONLY", "SUSPENDED", "EXPIRED", "CLOSED",
    "AUTH_FAILED", "LIVE_STATES", "TERMINAL_STATES",
    "ACL", "Id", "Stat", "Perm", "EventType", "KeeperState", "WatcherType", "AddWatchMode",
    "OPEN_ACL_UNSAFE", "CREATOR_ALL_ACL", "READ_ACL_UNSAFE", "make_acl", "make_digest_acl",
    "make_digest_id",
]
