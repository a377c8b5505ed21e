"""The Java zkCli and the C cli_mt, unchanged, give the same (normalised) output
against zkpy as against Apache ZooKeeper 3.8.

The reference transcripts in tests/interop/golden/ were captured from Apache
ZooKeeper 3.8 (``python -m tests.interop.cli_sessions``); each server kind is run
live and compared with them, so passing for both kinds means the two servers
produce the same client-visible output. See cli_sessions.py for what is masked.
"""

from __future__ import annotations

import difflib
import os
import uuid

import pytest

from tests.interop.cli_sessions import (
    GOLDEN,
    normalise_cli_mt,
    normalise_zkcli,
    run_cli_mt,
    run_zkcli,
)
from tests.support.servers import CLI_MT, ZKCLI, ServerHandle, unavailable

pytestmark = [pytest.mark.interop, pytest.mark.timeout(180)]


def _need(path: str) -> None:
    if not os.path.exists(path):
        unavailable(f"{path} not installed (apt-get install zookeeper zookeeper-bin)")


def _same(got: str, want: str, what: str) -> None:
    if got != want:
        diff = "\n".join(difflib.unified_diff(want.splitlines(), got.splitlines(),
                                              "apache-zookeeper-3.8 (golden)", what,
                                              lineterm=""))
        pytest.fail(f"{what} differs from Apache ZooKeeper's output:\n{diff}")


def test_zkcli_session_matches_apache(zk_server: ServerHandle) -> None:
    _need(ZKCLI)
    root = f"/zkcli_{uuid.uuid4().hex[:10]}"
    got = normalise_zkcli(run_zkcli(zk_server.hosts, root), root, zk_server.hosts)
    _same(got, (GOLDEN / "zkcli_session.txt").read_text(), f"zkCli vs {zk_server.kind}")


def test_cli_mt_session_matches_apache(zk_server: ServerHandle) -> None:
    _need(CLI_MT)
    root = f"/climt_{uuid.uuid4().hex[:10]}"
    got = normalise_cli_mt(run_cli_mt(zk_server.hosts, root), root)
    _same(got, (GOLDEN / "cli_mt_session.txt").read_text(), f"cli_mt vs {zk_server.kind}")
