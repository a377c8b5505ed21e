"""The interactive shell: a prompt_toolkit PromptSession and the read-eval loop.

- prompt ``[zkpy: host:port(STATE) /cwd N] `` with the state coloured (CONNECTED green,
  CONNECTING/SUSPENDED yellow, otherwise red); N counts the lines run, as zkCli's;
- completion of commands, flags and live znode paths (completion.py, in a thread);
- history in ``$XDG_STATE_HOME/zkpy/shell_history`` (Ctrl-R searches it), auto-suggest;
- Enter inside an open quote or after a trailing ``\\`` continues the line;
- Ctrl-C clears the line, or cancels the running command; Ctrl-D exits;
- watch events print above the prompt (patch_stdout) without breaking the typed line;
- bottom toolbar: server, session id, negotiated timeout, state, RO badge, printwatches.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

from .commands import REGISTRY
from .completion import ChildrenCache, ZnodeCompleter
from .context import Shell
from .errors import ExitCode
from .parser import join_continuation, needs_continuation

STATE_STYLE = {
    "CONNECTED": "ansigreen", "CONNECTEDREADONLY": "ansigreen",
    "CONNECTING": "ansiyellow", "SUSPENDED": "ansiyellow", "NOT_CONNECTED": "ansiyellow",
}


def history_path() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state")
    return Path(base) / "zkpy" / "shell_history"


def prompt_fragments(sh: Shell, color: bool) -> list[tuple[str, str]]:
    state = sh.state
    style = STATE_STYLE.get(state, "ansired") if color else ""
    return [("", f"[zkpy: {sh.server_label}("), (style, state),
            ("", f") {sh.cwd} {len(sh.history)}] ")]


def toolbar_text(sh: Shell) -> str:
    client = sh.client
    sid = getattr(client, "session_id", 0) if client is not None else 0
    timeout = getattr(client, "session_timeout_ms", None) if client is not None else None
    ro = " RO" if sh.state == "CONNECTEDREADONLY" else ""
    parts = [f"server {sh.server_label}", f"session 0x{(sid or 0) & (2**64 - 1):x}",
             f"timeout {timeout if timeout is not None else sh.timeout_ms} ms",
             f"{sh.state}{ro}", f"watches: {'print' if sh.printwatches else 'quiet'}"]
    return " | ".join(parts)


def build_session(sh: Shell, *, pt_input: Any = None, pt_output: Any = None,
                  history_file: Path | None = None) -> Any:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
    from prompt_toolkit.completion import ThreadedCompleter
    from prompt_toolkit.filters import is_searching
    from prompt_toolkit.history import FileHistory, History, InMemoryHistory
    from prompt_toolkit.key_binding import KeyBindings

    history: History
    try:
        path = history_file or history_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        history = FileHistory(str(path))
    except OSError:
        history = InMemoryHistory()

    loop = asyncio.get_running_loop()

    def fetch(parent: str) -> Any:
        client = sh.client
        if client is None or sh.state not in ("CONNECTED", "CONNECTEDREADONLY"):
            raise RuntimeError("not connected")
        return client.get_children(parent)

    cache = ChildrenCache(fetch, loop)
    sh.completion_cache = cache  # type: ignore[attr-defined]
    completer = ThreadedCompleter(ZnodeCompleter(REGISTRY, cache, lambda: sh.cwd))

    kb = KeyBindings()

    @kb.add("enter", filter=~is_searching)
    def _enter(event: Any) -> None:
        buf = event.current_buffer
        # Enter takes the highlighted completion (already previewed in the line) and runs
        if buf.complete_state is not None and buf.complete_state.current_completion:
            buf.apply_completion(buf.complete_state.current_completion)
        if needs_continuation(buf.text):
            buf.insert_text("\n")
        else:
            buf.validate_and_handle()

    @kb.add("c-c", filter=~is_searching)
    def _clear(event: Any) -> None:
        event.current_buffer.reset()

    @kb.add("f2")
    def _toggle_watches(event: Any) -> None:
        sh.printwatches = not sh.printwatches

    return PromptSession(
        history=history, auto_suggest=AutoSuggestFromHistory(), completer=completer,
        complete_while_typing=True, bottom_toolbar=lambda: toolbar_text(sh),
        key_bindings=kb, enable_open_in_editor=True, search_ignore_case=True,
        input=pt_input, output=pt_output, refresh_interval=0.5,
        color_depth=None, enable_suspend=True)


async def run_command(sh: Shell, line: str) -> int:
    """Run one line; Ctrl-C (SIGINT while the terminal is not in raw mode) cancels it."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(sh.run_line(line))
    installed = False
    try:
        loop.add_signal_handler(signal.SIGINT, task.cancel)
        installed = True
    except (NotImplementedError, RuntimeError, ValueError):
        pass
    try:
        return await task
    except asyncio.CancelledError:
        if asyncio.current_task() is not None and asyncio.current_task().cancelling():  # type: ignore[union-attr]
            raise
        name = line.split()[0] if line.split() else ""
        if name == "watch":
            sh.last_exit = ExitCode.OK
            return ExitCode.OK
        sh.out.error("Interrupted")
        sh.last_exit = ExitCode.INTERRUPTED
        return ExitCode.INTERRUPTED
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGINT)


async def run_repl(sh: Shell, *, pt_input: Any = None, pt_output: Any = None,
                   history_file: Path | None = None) -> int:
    from prompt_toolkit.formatted_text import FormattedText
    from prompt_toolkit.patch_stdout import patch_stdout

    session = build_session(sh, pt_input=pt_input, pt_output=pt_output,
                            history_file=history_file)
    color = sh.out.color

    last = {"state": "CONNECTING"}

    def on_state(state: str) -> None:
        previous, last["state"] = last["state"], state
        if state != previous and (state != "CONNECTED" or previous == "SUSPENDED"):
            sh.out.notice(f"Connection state: {previous} -> {state}")
        app = session.app
        if app.is_running:
            app.invalidate()

    sh.on_state_change = on_state
    sh.confirm = lambda q: _confirm(session, q)
    if sh.client is None:
        sh.start_connect()
    with patch_stdout(raw=True):
        while not sh.quit_requested:
            try:
                text = await session.prompt_async(
                    lambda: FormattedText(prompt_fragments(sh, color)))
            except KeyboardInterrupt:
                continue
            except EOFError:
                break
            line = join_continuation(text)
            if not line.strip():
                continue
            await run_command(sh, line)
    return sh.last_exit


async def _confirm(session: Any, question: str) -> bool:
    from prompt_toolkit import PromptSession

    ask: PromptSession[str] = PromptSession(input=session.input, output=session.output)
    try:
        answer = await ask.prompt_async(f"{question} [y/N] ")
    except (KeyboardInterrupt, EOFError):
        return False
    return answer.strip().lower() in ("y", "yes")
