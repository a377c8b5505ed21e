"""Turn one shell line into a command name, options and positional arguments (pure).

Rules (zkCli's ZooKeeperMain.MyCommandOptions + commons-cli DefaultParser):
- A token is a run of non-space characters, or a "..." / '...' string whose quotes are
  stripped (no escapes, no variables). Quotes only matter at the start of a token, so
  ``a"b`` is one literal token, as in zkCli.
- Unlike zkCli (which silently mangles it), a token that opens a quote and never closes it
  is an error: ``UnbalancedQuoteError``. The REPL uses ``needs_continuation`` to keep
  reading lines instead.
- Options follow commons-cli: they may come before or after positionals (``set /x d -v 3``),
  a value may be glued (``-v3``), boolean short options may be concatenated (``-se``),
  ``--`` ends option parsing, a negative number is a positional, anything else starting
  with ``-`` that is not a known option is ``Unrecognized option: -z``.

No I/O here: this module is pure (tests/unit/shell/test_parser.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


class ParseError(Exception):
    """A line or its options cannot be parsed; the message is one line for the user."""


class UnbalancedQuoteError(ParseError):
    pass


@dataclass(frozen=True, slots=True)
class Flag:
    """One command option: ``-name`` (boolean) or ``-name VALUE`` when ``metavar`` is set."""

    name: str
    help: str
    metavar: str | None = None

    @property
    def takes_value(self) -> bool:
        return self.metavar is not None

    @property
    def spelling(self) -> str:
        return f"-{self.name}" + (f" {self.metavar}" if self.metavar else "")


@dataclass(slots=True)
class ParsedArgs:
    """Options by name (True for booleans, the string for valued options) + positionals."""

    options: dict[str, str | bool] = field(default_factory=dict)
    positionals: list[str] = field(default_factory=list)

    def has(self, name: str) -> bool:
        return name in self.options

    def value(self, name: str) -> str | None:
        v = self.options.get(name)
        return v if isinstance(v, str) else None


_QUOTES = ("'", '"')


def tokenize(line: str) -> list[str]:
    """Split ``line`` into tokens with zkCli's rules; raise on an unclosed quote."""
    tokens: list[str] = []
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c.isspace():
            i += 1
            continue
        if c in _QUOTES:
            end = line.find(c, i + 1)
            if end < 0:
                raise UnbalancedQuoteError(
                    f"unbalanced {c} quote starting at column {i + 1}: {line[i:]}")
            tokens.append(line[i + 1:end])
            i = end + 1
            continue
        j = i
        while j < n and not line[j].isspace():
            j += 1
        tokens.append(line[i:j])
        i = j
    return tokens


def needs_continuation(text: str) -> bool:
    """True if ``text`` (possibly several lines) ends inside a quote or with a ``\\``."""
    if text.endswith("\\"):
        return True
    try:
        tokenize(text)
    except UnbalancedQuoteError:
        return True
    return False


def join_continuation(text: str) -> str:
    """Fold trailing-backslash continuations into one line (quoted newlines are kept)."""
    return text.replace("\\\n", " ")


def _is_negative_number(tok: str) -> bool:
    try:
        float(tok)
    except ValueError:
        return False
    return tok.startswith("-")


def parse_args(tokens: Sequence[str], flags: Sequence[Flag]) -> ParsedArgs:
    """Parse the arguments of one command (``tokens`` excludes the command name)."""
    by_name = {f.name: f for f in flags}
    out = ParsedArgs()
    it = iter(range(len(tokens)))
    only_positionals = False
    for i in it:
        tok = tokens[i]
        if only_positionals or not tok.startswith("-") or tok == "-":
            out.positionals.append(tok)
            continue
        if tok == "--":
            only_positionals = True
            continue
        body = tok[2:] if tok.startswith("--") else tok[1:]
        flag = by_name.get(body)
        if flag is not None:
            if flag.takes_value:
                nxt = next(it, None)
                if nxt is None:
                    raise ParseError(f"Missing argument for option: {flag.name}")
                out.options[flag.name] = tokens[nxt]
            else:
                out.options[flag.name] = True
            continue
        # -v3 (glued value) or -se (concatenated booleans)
        first = by_name.get(body[:1])
        if first is not None and first.takes_value and len(body) > 1 and not tok.startswith("--"):
            out.options[first.name] = body[1:]
            continue
        if (not tok.startswith("--") and len(body) > 1
                and all(ch in by_name and not by_name[ch].takes_value for ch in body)):
            for ch in body:
                out.options[ch] = True
            continue
        if _is_negative_number(tok):
            out.positionals.append(tok)
            continue
        raise ParseError(f"Unrecognized option: {tok}")
    return out
