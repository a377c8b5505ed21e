"""Generate man/zkpy-shell.1 (roff) from the command registry, the click options and the
exit-code table, so the page cannot drift (tests/shell/test_manpage.py compares).

Regenerate with ``python -m shell.manpage > man/zkpy-shell.1``.
"""

from __future__ import annotations

import click

from .commands import COMMANDS, GROUPS
from .errors import EXIT_CODE_DOC


def esc(text: str) -> str:
    """Escape text for roff: backslashes, dashes, and a leading dot or quote."""
    out = text.replace("\\", "\\e").replace("-", "\\-")
    if out.startswith((".", "'")):
        out = "\\&" + out
    return out


def _options() -> list[tuple[str, str]]:
    from .main import shell

    rows = []
    for p in shell.params:
        if not isinstance(p, click.Option):
            continue
        names = ", ".join(p.opts + p.secondary_opts)
        if p.name == "hosts":
            names += ", -server"
        elif p.name == "timeout_ms":
            names += ", -timeout"
        elif p.name in ("client_configuration", "waitforconnection"):
            names += ", -" + p.opts[0].lstrip("-")
        metavar = "" if p.is_flag else " " + (p.metavar or p.name.upper())
        rows.append((names + metavar, p.help or ""))
    rows.append(("-h, --help", "show the options and exit."))
    return rows


def render_manpage() -> str:
    lines = [
        '.TH ZKPY\\-SHELL 1 "" "zkpy" "User Commands"',
        ".SH NAME",
        "zkpy\\-shell \\- a zkCli\\-compatible ZooKeeper shell and batch runner",
        ".SH SYNOPSIS",
        ".B zkpy shell",
        "[\\fB\\-server\\fR \\fIHOSTS\\fR | \\fB\\-\\-server\\fR/\\fB\\-s\\fR \\fIHOSTS\\fR] "
        "[\\fB\\-timeout\\fR \\fIMS\\fR] [\\fB\\-r\\fR] [\\fB\\-f\\fR \\fISCRIPT\\fR] "
        "[\\fB\\-\\-keep\\-going\\fR] [\\fB\\-\\-format\\fR text|json] [\\fB\\-\\-no\\-color\\fR] "
        "[\\fB\\-\\-debug\\fR] [\\fICOMMAND\\fR [\\fIARGS\\fR...]]",
        ".SH DESCRIPTION",
        esc("zkpy shell speaks ZooKeeper's client protocol. Every zkCli command works with "
            "zkCli's names, flags, output formats and error wording; the shell adds a "
            "current znode (cd, pwd and relative paths), tree, find, a live watch stream, "
            "srvr and mntr of the connected member, JSON output and binary-safe data."),
        ".PP",
        esc("With COMMAND, runs that one command and exits with its status. With -f SCRIPT, "
            "or when standard input is not a terminal, runs one command per line (lines "
            "starting with # are comments; a line ending in a backslash or inside an open "
            "quote continues on the next), prints data on standard output and messages on "
            "standard error, shows no prompt or banner, and stops at the first failing "
            "command with its exit status (--keep-going runs on and exits with the first "
            "failure's status). Otherwise starts the interactive prompt."),
        ".PP",
        esc("Tokens are separated by spaces; \"...\" and '...' quote (no escapes). Options "
            "may follow the positional arguments (set /x data -v 3). --format text|json "
            "may also be given on any command line."),
        ".SH OPTIONS",
    ]
    for names, help_ in _options():
        lines += [".TP", f"\\fB{esc(names)}\\fR", esc(help_)]
    lines.append(".SH COMMANDS")
    for group, title in GROUPS:
        members = sorted((s for s in COMMANDS if s.group == group), key=lambda s: s.name.lower())
        if not members:
            continue
        lines.append(f".SS {esc(title)}")
        for spec in members:
            lines += [".TP", f"\\fB{esc(spec.usage.rstrip())}\\fR"]
            text = spec.summary[0].upper() + spec.summary[1:] + "."
            if spec.aliases:
                text += f" Aliases: {', '.join(spec.aliases)}."
            if not spec.zkcli:
                text += " (zkpy; zkCli has no such command.)"
            lines.append(esc(text))
            if spec.details:
                lines += [".br", esc(spec.details)]
            for flag in spec.flags:
                lines += [".br", f"\\fB{esc(flag.spelling)}\\fR  {esc(flag.help)}"]
            for ex in spec.examples:
                lines += [".br", f"Example: \\fB{esc(ex)}\\fR"]
    lines += [
        ".SH INTERACTIVE USE",
        esc("The prompt is [zkpy: host:port(STATE) /cwd N] with the connection state in "
            "colour. Tab completes commands, flags and znode paths (looked up on the server, "
            "cached for two seconds, never blocking typing). History is kept in "
            "$XDG_STATE_HOME/zkpy/shell_history; Ctrl\\-R searches it. Ctrl\\-C clears the "
            "line or cancels the running command; Ctrl\\-D exits. Watch events print above "
            "the prompt. F2 toggles the printing of watch events. The bottom toolbar shows "
            "the server, session id, negotiated timeout and state."),
        ".SH EXIT STATUS",
    ]
    for code, text in EXIT_CODE_DOC:
        lines += [".TP", f"\\fB{int(code)}\\fR", esc(text[0].upper() + text[1:] + ".")]
    lines += [
        ".SH ENVIRONMENT",
        ".TP", "\\fBZKPY_HOSTS\\fR", esc("default for --server."),
        ".TP", "\\fBNO_COLOR\\fR", esc("if set, no colour is used."),
        ".TP", "\\fBXDG_STATE_HOME\\fR", esc("where the history file lives."),
        ".SH EXAMPLES",
        ".nf",
        esc("zkpy shell -server 127.0.0.1:2181 ls /"),
        esc("zkpy shell -s 127.0.0.1:2181 get -s /app/config"),
        esc("zkpy shell -s 127.0.0.1:2181 -f setup.zk --keep-going"),
        esc("printf 'create /app\\ncreate /app/cfg v1\\n' | zkpy shell -s 127.0.0.1:2181"),
        esc("zkpy shell -s 127.0.0.1:2181 --format json stat /app"),
        esc("zkpy shell -s 127.0.0.1:2181 get /app/blob > blob.bin"),
        esc("zkpy shell -s 127.0.0.1:2181 watch -n 1 /locks/lock-0000000001"),
        ".fi",
        ".SH SEE ALSO",
        "zkCli.sh(1), zkpy(1)",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(render_manpage())
