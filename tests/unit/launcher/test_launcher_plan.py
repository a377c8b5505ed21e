"""launcher.plan: what each verb does from each observed member state."""

from __future__ import annotations

import pytest

from launcher.plan import (
    CheckPorts,
    CleanStalePid,
    Fail,
    MemberState,
    Note,
    Observed,
    SendSignal,
    Spawn,
    Terminate,
    Verb,
    WaitGone,
    WaitReady,
    WriteConfig,
    plan,
    render_plan,
)
from launcher.spec import build_spec

SPEC3 = build_spec("dev", 3, base_port=3000)
SPEC1 = build_spec("one", 1, base_port=3000)
RUN = MemberState.RUNNING
STOP = MemberState.STOPPED


def obs(*states: tuple[MemberState, int | None]) -> dict[str, Observed]:
    return {f"zk{i}": Observed(s, pid) for i, (s, pid) in enumerate(states, 1)}


def kinds(actions: list) -> list[str]:  # type: ignore[type-arg]
    return [type(a).__name__ for a in actions]


def test_plan_start_from_stopped_checks_all_ports_before_any_spawn() -> None:
    actions = plan(SPEC3, Verb.START, obs((STOP, None), (STOP, None), (STOP, None)))
    assert kinds(actions) == ["CheckPorts"] * 3 + ["WriteConfig", "Spawn"] * 3 + ["WaitReady"]
    assert actions[-1] == WaitReady(("zk1", "zk2", "zk3"))
    assert actions[0] == CheckPorts("zk1", "127.0.0.1", (("client", 3000), ("quorum", 3707),
                                                        ("election", 4707), ("admin", 8899)))


def test_plan_start_standalone_checks_only_client_and_admin_ports() -> None:
    actions = plan(SPEC1, Verb.START, obs((STOP, None)))
    assert actions[0] == CheckPorts("zk1", "127.0.0.1", (("client", 3000), ("admin", 8899)))


def test_plan_start_running_member_is_a_note_not_an_error() -> None:
    actions = plan(SPEC3, Verb.START, obs((RUN, 11), (STOP, None), (RUN, 13)))
    assert Note("zk1", "zk1 already running (pid 11)") in actions
    assert [a.member for a in actions if isinstance(a, Spawn)] == ["zk2"]
    assert actions[-1] == WaitReady(("zk2",))


def test_plan_start_everything_running_waits_for_nothing() -> None:
    actions = plan(SPEC1, Verb.START, obs((RUN, 11)))
    assert actions == [Note("zk1", "zk1 already running (pid 11)")]


def test_plan_start_cleans_a_stale_pid_first() -> None:
    actions = plan(SPEC1, Verb.START, obs((MemberState.STALE, 99)))
    assert actions[0] == CleanStalePid("zk1", 99)
    assert kinds(actions)[1:] == ["CheckPorts", "WriteConfig", "Spawn", "WaitReady"]


def test_plan_start_paused_member_points_at_resume() -> None:
    (note,) = plan(SPEC1, Verb.START, obs((MemberState.PAUSED, 5)))
    assert isinstance(note, Note) and "resume" in note.message


def test_plan_stop_signals_everyone_then_waits() -> None:
    actions = plan(SPEC3, Verb.STOP, obs((RUN, 1), (STOP, None), (MemberState.PAUSED, 3)))
    assert actions == [Terminate("zk1", 1), Note("zk2", "zk2 already stopped"),
                       Terminate("zk3", 3), WaitGone("zk1", 1), WaitGone("zk3", 3)]


def test_plan_stop_stale_only_cleans() -> None:
    assert plan(SPEC1, Verb.STOP, obs((MemberState.STALE, 7))) == [CleanStalePid("zk1", 7)]


def test_plan_kill_default_is_sigkill_and_waits() -> None:
    assert plan(SPEC1, Verb.KILL, obs((RUN, 4))) == [SendSignal("zk1", 4, "KILL"),
                                                     WaitGone("zk1", 4)]


def test_plan_kill_other_signal_does_not_wait() -> None:
    assert plan(SPEC1, Verb.KILL, obs((RUN, 4)), kill_signal="sigterm") == [
        SendSignal("zk1", 4, "TERM")]


def test_plan_pause_resume() -> None:
    assert plan(SPEC1, Verb.PAUSE, obs((RUN, 4))) == [SendSignal("zk1", 4, "STOP")]
    assert plan(SPEC1, Verb.RESUME, obs((MemberState.PAUSED, 4))) == [
        SendSignal("zk1", 4, "CONT")]
    assert isinstance(plan(SPEC1, Verb.PAUSE, obs((MemberState.PAUSED, 4)))[0], Note)
    assert isinstance(plan(SPEC1, Verb.RESUME, obs((RUN, 4)))[0], Note)
    assert plan(SPEC1, Verb.PAUSE, obs((STOP, None))) == [
        Fail("zk1", "zk1 is not running; cannot pause it")]


def test_plan_restart_is_stop_then_start() -> None:
    actions = plan(SPEC1, Verb.RESTART, obs((RUN, 4)))
    assert kinds(actions) == ["Terminate", "WaitGone", "CheckPorts", "WriteConfig", "Spawn",
                              "WaitReady"]
    actions = plan(SPEC1, Verb.RESTART, obs((STOP, None)))
    assert kinds(actions) == ["CheckPorts", "WriteConfig", "Spawn", "WaitReady"]


def test_plan_selected_members_only() -> None:
    sel = [SPEC3.member("2")]
    actions = plan(SPEC3, Verb.STOP, obs((RUN, 1), (RUN, 2), (RUN, 3)), sel)
    assert actions == [Terminate("zk2", 2), WaitGone("zk2", 2)]


def test_plan_needs_observations_for_selected_members() -> None:
    with pytest.raises(ValueError, match="zk3"):
        plan(SPEC3, Verb.START, obs((RUN, 1), (RUN, 2)))


def test_render_plan_numbers_every_step() -> None:
    actions = plan(SPEC1, Verb.START, obs((STOP, None)))
    text = render_plan(SPEC1, Verb.START, actions)
    assert text.splitlines()[0] == "Plan: start one (4 step(s); nothing was done)"
    assert "   1. zk1: check ports free on 127.0.0.1 (client 3000, admin 8899)" in text
    assert "   4. wait until ready" in text
    assert all(isinstance(a, (CheckPorts, WriteConfig, Spawn, WaitReady)) for a in actions)
