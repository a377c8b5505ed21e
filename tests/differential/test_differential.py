"""Differential tests: hypothesis-generated operation sequences run against Apache
ZooKeeper 3.8 and against a second server; every reply and every watch event must
match after normalisation (harness.py says exactly what is normalised).

- test_harness_apache_vs_apache: Apache against a second Apache JVM. Proves the
  harness (normalisation, event collection) is deterministic, so a difference in
  the zkpy test is a zkpy difference.
- test_apache_vs_zkpy: Apache against zkpy.
- *_slow variants: the same with many more examples (marker ``slow``).

Both servers are dedicated to this module (fresh, nothing else writes to them),
with container reaping pushed out of the way (its timing is not deterministic).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.differential.harness import N_SLOTS, Op, first_difference, run_program
from tests.support.servers import (
    ServerHandle,
    apache_zk_available,
    start_apache_zk,
    start_zkpy,
)

pytestmark = [pytest.mark.interop, pytest.mark.timeout(900)]

DEFAULT_EXAMPLES = 50
SLOW_EXAMPLES = 400
CONTAINER_PROPS = {"znode.container.checkIntervalMs": "3600000"}

# --------------------------------------------------------------------- strategies

slots = st.integers(0, N_SLOTS - 1)
targets = st.sampled_from(["", "a", "b", "c", "a/x", "a/y", "a/x/z", "b/e", "a/e",
                           "q-0000000000", "q-0000000001", "a/q-0000000000",
                           "a/q-0000000001", "a/q-0000000002"])
create_paths = st.sampled_from(["a", "b", "c", "a/x", "a/y", "a/x/z", "b/e", "a/e",
                                "q-", "q-", "a/q-", "a/q-", "missing/kid"])
datas = st.sampled_from([b"", b"x", b"hello", None])
modes = st.sampled_from([0, 0, 0, 1, 2, 2, 3, 3, 4])
acls = st.sampled_from(["open"] * 14 + ["read_only", "alice_all", "alice_rw_world_r",
                                        "creator", "bad_scheme", "empty"])
versions = st.sampled_from([-1, -1, 0, 1, 2])
watch = st.booleans()

create_op = st.tuples(st.just("create"), slots, create_paths, datas, modes, acls,
                      st.sampled_from([1, 15]))
delete_op = st.tuples(st.just("delete"), slots, targets, versions)
set_op = st.tuples(st.just("set"), slots, targets, datas, versions)
read_op = st.tuples(st.sampled_from(["get", "exists", "children"]), slots, targets, watch)
get_acl_op = st.tuples(st.just("get_acl"), slots, targets)
set_acl_op = st.tuples(st.just("set_acl"), slots, targets, acls, versions)
auth_op = st.tuples(st.just("auth"), slots, st.sampled_from(["alice", "bob"]))
add_watch_op = st.tuples(st.just("add_watch"), slots, targets, st.sampled_from([0, 1]))
close_op = st.tuples(st.just("close"), slots)
sub_op = st.one_of(
    st.tuples(st.just("create"), slots, create_paths, datas,
              st.sampled_from([0, 1, 2, 3, 4]), acls, st.just(1)),
    st.tuples(st.just("delete"), slots, targets, versions),
    st.tuples(st.just("set"), slots, targets, datas, versions),
    st.tuples(st.just("check"), slots, targets, versions),
)
multi_op = st.tuples(st.just("multi"), slots, st.lists(sub_op, min_size=0, max_size=4))

ops = st.one_of(create_op, create_op, create_op, delete_op, set_op, read_op, read_op,
                get_acl_op, set_acl_op, auth_op, add_watch_op, close_op, multi_op, multi_op)
programs = st.lists(ops, min_size=3, max_size=25)

# Every program starts from the same small tree, so that most generated ops meet
# existing nodes (otherwise nearly everything fails with NONODE).
PRELUDE: list[Op] = [
    ("create", 0, "a", b"a", 0, "open", 1),
    ("create", 1, "b", None, 0, "open", 15),
    ("create", 2, "a/x", b"", 0, "open", 1),
]


# ------------------------------------------------------------------------ servers


def _apache(tmp: Path) -> ServerHandle:
    if not apache_zk_available():
        pytest.skip("Apache ZooKeeper 3.8 not installed")
    return start_apache_zk(tmp, jvm_props=CONTAINER_PROPS)


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    h = _apache(tmp_path_factory.mktemp("diff-oracle"))
    try:
        yield h
    finally:
        h.stop()


@pytest.fixture(scope="module")
def oracle_twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    h = _apache(tmp_path_factory.mktemp("diff-twin"))
    try:
        yield h
    finally:
        h.stop()


@pytest.fixture(scope="module")
def zkpy_member(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    h = start_zkpy(tmp_path_factory.mktemp("diff-zkpy"))
    try:
        yield h
    finally:
        h.stop()


# -------------------------------------------------------------------------- tests


def check_same(left: ServerHandle, right: ServerHandle, program: list[Op]) -> None:
    program = PRELUDE + program
    a = run_program(left.host, left.port, program)
    b = run_program(right.host, right.port, program)
    diff = first_difference(a, b)
    assert diff is None, (f"{left.kind} and {right.kind} disagree on\n{program!r}\n{diff}")


def _settings(n: int) -> Any:
    return settings(max_examples=n, deadline=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@_settings(DEFAULT_EXAMPLES)
@given(program=programs)
def test_harness_apache_vs_apache(oracle: ServerHandle, oracle_twin: ServerHandle,
                                  program: list[Op]) -> None:
    check_same(oracle, oracle_twin, program)


@_settings(DEFAULT_EXAMPLES)
@given(program=programs)
def test_apache_vs_zkpy(oracle: ServerHandle, zkpy_member: ServerHandle,
                        program: list[Op]) -> None:
    check_same(oracle, zkpy_member, program)


@pytest.mark.slow
@_settings(SLOW_EXAMPLES)
@given(program=programs)
def test_harness_apache_vs_apache_slow(oracle: ServerHandle, oracle_twin: ServerHandle,
                                       program: list[Op]) -> None:
    check_same(oracle, oracle_twin, program)


@pytest.mark.slow
@_settings(SLOW_EXAMPLES)
@given(program=programs)
def test_apache_vs_zkpy_slow(oracle: ServerHandle, zkpy_member: ServerHandle,
                             program: list[Op]) -> None:
    check_same(oracle, zkpy_member, program)


def test_fixed_program_covers_every_op(oracle: ServerHandle, oracle_twin: ServerHandle) -> None:
    """A hand-written program touching every op kind, with facts checked on the trace
    (so the harness cannot pass by recording nothing)."""
    program: list[Op] = [
        ("create", 0, "a", b"x", 0, "open", 15),
        ("get", 1, "a", True),
        ("children", 2, "a", True),
        ("exists", 2, "a/x", True),
        ("create", 0, "a/x", None, 1, "open", 1),          # ephemeral of slot 0
        ("create", 1, "q-", b"", 2, "open", 1),
        ("create", 1, "q-", b"", 3, "open", 15),
        ("set", 0, "a", b"y", 0),
        ("set", 0, "a", b"z", 0),                         # BADVERSION
        ("create", 2, "c", b"", 4, "open", 19),            # container
        ("auth", 2, "alice"),
        ("create", 2, "b", b"", 0, "alice_all", 1),
        ("get", 1, "b", False),                           # NOAUTH
        ("set_acl", 2, "b", "open", 0),
        ("get_acl", 1, "b"),
        ("add_watch", 1, "", 1),
        ("multi", 0, [("create", 0, "a/y", b"", 0, "open", 1), ("check", 0, "a", 1),
                      ("set", 0, "a", b"m", 1)]),
        ("multi", 0, [("create", 0, "a/z", b"", 0, "open", 1), ("delete", 0, "a", 7)]),
        ("close", 0),                                     # ephemeral a/x goes
        ("delete", 1, "a/y", -1),
    ]
    a = run_program(oracle.host, oracle.port, program)
    b = run_program(oracle_twin.host, oracle_twin.port, program)
    assert first_difference(a, b) is None
    steps = {e[0]: e for e in a[1:]}
    assert steps[0][1][2]["body"]["stat"]["czxid"] == 1               # first write after root
    assert steps[8][1][2]["err"] == -103
    assert steps[5][1][2]["body"]["path"] == "q-0000000001"             # root has "a"
    assert steps[12][1][2]["err"] == -102
    assert steps[7][2][1] == [(3, 3, "a", -1)]                        # slot 1's data watch
    failed_multi = steps[17][1][2]["body"]
    assert [(t, e) for t, e, _r in failed_multi] == [(-1, 0), (-1, -103)]
    assert steps[4][2][2] == [(1, 3, "a/x", -1), (4, 3, "a", -1)]     # exists + child watch
    assert steps[18][2] == {1: [(2, 3, "a/x", -1)]}                   # recursive watch, close


def test_exists_without_read(oracle: ServerHandle, zkpy_member: ServerHandle) -> None:
    """exists on a node the session may not READ: NOAUTH and no new watch (3.8.4+ and
    zkpy; the harness translates the 3.8.0 oracle's answer), while a watch held from
    before stays. Facts checked on the traces."""
    program: list[Op] = [
        ("auth", 2, "alice"),
        ("create", 2, "b", b"", 0, "alice_all", 1),
        ("exists", 1, "b", True),                         # NOAUTH, and no watch
        ("create", 0, "c", b"", 0, "open", 1),
        ("exists", 1, "c", True),                         # a data watch on c
        ("set_acl", 0, "c", "alice_all", -1),
        ("exists", 1, "c", True),                         # NOAUTH; the watch stays
        ("exists", 2, "b", True),                         # alice may: stat + watch
        ("set", 2, "b", b"x", -1),                        # fires alice's watch only
        ("set_acl", 2, "c", "open", -1),
        ("set", 2, "c", b"x", -1),                        # slot 1's watch from step 4
        ("set_acl", 2, "b", "open", -1),
        ("set", 2, "b", b"y", -1),                        # no watch left on b
    ]
    a = run_program(oracle.host, oracle.port, program)
    b = run_program(zkpy_member.host, zkpy_member.port, program)
    assert first_difference(a, b) is None, first_difference(a, b)
    steps = {e[0]: e for e in a[1:]}
    assert steps[2][1][2]["err"] == -102 and steps[6][1][2]["err"] == -102
    assert steps[7][1][2]["err"] == 0
    assert steps[8][1][3] == [(3, 3, "b", -1)] and steps[8][2] == {}  # before its reply
    assert steps[10][2] == {1: [(3, 3, "c", -1)]}
    assert steps[12][1][3] == [] and steps[12][2] == {}
