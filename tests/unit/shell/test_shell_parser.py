"""shell.parser: zkCli's tokenizer rules and commons-cli style option parsing."""

from __future__ import annotations

import pytest

from shell.parser import (
    Flag,
    ParseError,
    UnbalancedQuoteError,
    join_continuation,
    needs_continuation,
    parse_args,
    tokenize,
)

FLAGS = (Flag("s", "stat"), Flag("w", "watch"), Flag("v", "version", "version"),
         Flag("R", "recursive"))


@pytest.mark.parametrize("line,tokens", [
    ("ls /", ["ls", "/"]),
    ("  ls    -s   /a  ", ["ls", "-s", "/a"]),
    ('create /x "hello world"', ["create", "/x", "hello world"]),
    ("create /x 'it is'", ["create", "/x", "it is"]),
    ('create /x ""', ["create", "/x", ""]),
    ('set /x a"b', ["set", "/x", 'a"b']),           # quotes only count at a token start
    ("set /x 'a \"b\" c'", ["set", "/x", 'a "b" c']),
    ('get "/a b"x', ["get", "/a b", "x"]),
    ("", []),
    ("\t", []),
])
def test_tokenize_zkcli_rules(line: str, tokens: list[str]) -> None:
    assert tokenize(line) == tokens


def test_tokenize_unbalanced_quote_is_an_error() -> None:
    with pytest.raises(UnbalancedQuoteError, match="unbalanced \" quote"):
        tokenize('create /x "abc')


def test_needs_continuation() -> None:
    assert needs_continuation('create /x "abc')
    assert needs_continuation("create /x \\")
    assert not needs_continuation('create /x "abc"')
    assert join_continuation("ls \\\n/a") == "ls  /a"


def test_parse_args_options_anywhere() -> None:
    a = parse_args(["/x", "data", "-v", "3"], FLAGS)
    assert a.positionals == ["/x", "data"] and a.value("v") == "3"
    a = parse_args(["-s", "-w", "/a"], FLAGS)
    assert a.has("s") and a.has("w") and a.positionals == ["/a"]


def test_parse_args_glued_and_concatenated() -> None:
    a = parse_args(["-v3", "/x"], FLAGS)
    assert a.value("v") == "3"
    a = parse_args(["-sw", "/x"], FLAGS)
    assert a.has("s") and a.has("w")


def test_parse_args_negative_number_and_double_dash() -> None:
    a = parse_args(["/x", "-1"], FLAGS)
    assert a.positionals == ["/x", "-1"]
    a = parse_args(["--", "-s"], FLAGS)
    assert a.positionals == ["-s"] and not a.has("s")
    assert parse_args(["-"], FLAGS).positionals == ["-"]


def test_parse_args_errors_in_commons_cli_words() -> None:
    with pytest.raises(ParseError, match="^Unrecognized option: -z$"):
        parse_args(["-z", "/x"], FLAGS)
    with pytest.raises(ParseError, match="^Missing argument for option: v$"):
        parse_args(["/x", "-v"], FLAGS)
