"""The replicated ZooKeeper state machine (pure, deterministic). See machine.py."""

from .machine import SnapshotHeader, SnapshotNode, StateMachine
from .types import Applied, Command, Conn, MultiResponse, StateConfig

__all__ = ["Applied", "Command", "Conn", "MultiResponse", "SnapshotHeader", "SnapshotNode",
           "StateConfig", "StateMachine"]
