"""Read the roff pages in man/ for the drift tests (tests/unit/*/test_*_man_pages.py).

An option is "documented" when it appears on the line after a ``.TP`` in its section;
an exit code is listed when its ``.B CODE`` line is in ``.SH EXIT STATUS``.
"""

from __future__ import annotations

import re
from pathlib import Path

import click

MAN = Path(__file__).resolve().parents[2] / "man"
_OPT = re.compile(r"(?<![\w-])(--?[A-Za-z][A-Za-z0-9-]*)")


def plain(line: str) -> str:
    """A roff line without font escapes, ``\\-`` as ``-`` and quotes as spaces."""
    return re.sub(r"\\f[BIRP]", "", line).replace("\\-", "-").replace('"', " ")


def sections(page: str) -> dict[str, list[str]]:
    """Section title (``.SH`` text, or ``cmd:`` + the first word of a ``.SS``) -> its lines."""
    out: dict[str, list[str]] = {}
    current = ""
    for line in (MAN / page).read_text(encoding="utf-8").splitlines():
        if line.startswith((".SH ", ".SS ")):
            title = plain(line[4:]).strip()
            current = ("cmd:" + title.split()[0]) if line.startswith(".SS") else title
            out[current] = []
        else:
            out.setdefault(current, []).append(line)
    return out


def sh_block(page: str, title: str) -> list[str]:
    """Every line under ``.SH title`` up to the next ``.SH``, its ``.SS`` subsections included."""
    out: list[str] = []
    inside = False
    for line in (MAN / page).read_text(encoding="utf-8").splitlines():
        if line.startswith(".SH "):
            inside = plain(line[4:]).strip() == title
            continue
        if inside:
            out.append(line)
    return out


def documented_options(lines: list[str]) -> set[str]:
    found: set[str] = set()
    for prev, line in zip(lines, lines[1:], strict=False):
        if prev.strip() == ".TP":
            found.update(_OPT.findall(plain(line)))
    return found


def click_options(cmd: click.Command) -> set[str]:
    """Every spelling of the command's visible options (not --help, which click adds)."""
    return {o for p in cmd.params if isinstance(p, click.Option) and not p.hidden
            for o in (*p.opts, *p.secondary_opts)}


def exit_codes(page: str) -> set[int]:
    """The codes of the ``.B N`` lines in the page's EXIT STATUS section."""
    return {int(ln.split()[1]) for ln in sections(page)["EXIT STATUS"] if ln.startswith(".B ")}
