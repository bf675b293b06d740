"""Rhai lexer tables: source → tokens (kind, value) or the lexer error it reports, with positions."""

from __future__ import annotations

import pytest

from picloud.rhai.errors import ErrorParsing
from picloud.rhai.lexer import ERR, function_name_problem, tokenize
from picloud.rhai.parser import parse


def kinds(src: str, **kw: object) -> list[tuple[str, object]]:
    """Tokens without positions and without the trailing EOF."""
    return [(t[0], t[1]) for t in tokenize(src, **kw)[:-1]]  # type: ignore[arg-type]


NUMBERS = [
    ("123", ("INT", 123)),
    ("1_000_000", ("INT", 1000000)),
    ("0x_ff", ("INT", 255)),
    ("0XFF", ("INT", 255)),
    ("0o17", ("INT", 15)),
    ("0b1010", ("INT", 10)),
    ("0xffffffffffffffff", ("INT", -1)),
    ("0x8000000000000000", ("INT", -(1 << 63))),
    ("9223372036854775807", ("INT", (1 << 63) - 1)),
    ("9223372036854775808", ("FLOAT", 9223372036854775808.0)),
    ("1.5", ("FLOAT", 1.5)),
    ("1.23e2", ("FLOAT", 123.0)),
    ("1.23E+2", ("FLOAT", 123.0)),
    ("123456e-3", ("FLOAT", 123.456)),
    ("123.;", ("FLOAT", 123.0)),
    ("1_2.3_4", ("FLOAT", 12.34)),
]


@pytest.mark.parametrize(("src", "first"), NUMBERS)
def test_number_literals_lex_like_rhai(src: str, first: tuple[str, object]) -> None:
    """Given a numeric literal, when lexed, then its first token has Rhai's kind and value."""
    assert kinds(src)[0] == first


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        # A range is not a float: `1..2` lexes as 1, .., 2.
        ("1..2", [("INT", 1), ("..", None), ("INT", 2)]),
        ("1..=2", [("INT", 1), ("..=", None), ("INT", 2)]),
        # `.5` is not a number; `1.e` is 1 then a property access.
        (".5", [(".", None), ("INT", 5)]),
        ("1.e", [("INT", 1), (".", None), ("IDENT", "e")]),
        ("1.abs()", [("INT", 1), (".", None), ("IDENT", "abs"), ("()", None)]),
        # A minus right before a digit is part of the literal where an operand is expected.
        ("x = -5", [("IDENT", "x"), ("=", None), ("INT", -5)]),
        ("x -5", [("IDENT", "x"), ("-", None), ("INT", 5)]),
        ("-x", [("u-", None), ("IDENT", "x")]),
        ("-9223372036854775808", [("INT", -(1 << 63))]),
    ],
)
def test_number_and_sign_boundaries(src: str, expected: list[tuple[str, object]]) -> None:
    """Given numbers next to dots and signs, then the split matches Rhai's tokenizer."""
    assert kinds(src) == expected


@pytest.mark.parametrize(
    ("src", "text"),
    [
        (r'"a\tb\nc\\d\"e"', 'a\tb\nc\\d"e'),
        (r'"\x41\u00e9\U0001F600"', "Aé😀"),
        ('"say ""hi"""', 'say "hi"'),
        ('#"no \\n escapes"#', "no \\n escapes"),
        ('##"has "# inside"##', 'has "# inside'),
        ("`verbatim \\n`", "verbatim \\n"),
        ("`a``b`", "a`b"),
        ("`\nfirst line`", "first line"),
        ("`\r\nfirst line`", "first line"),
        ("`price: \\$5`", "price: \\$5"),
        ("`literal \\${x}`", "literal ${x}"),
        # Line continuation skips the next line's indentation up to the opening quote's column.
        ('"abc\\\n   def"', "abc  def"),
        ('  "abc\\\n    def"', "abc def"),
        ('   "Test: \\u2764\\\n     hello"', "Test: ❤ hello"),
    ],
)
def test_string_forms(src: str, text: str) -> None:
    """Given each string syntax, when lexed, then the token text has escapes resolved as Rhai does."""
    assert kinds(src) == [("STR", text)]


def test_backtick_interpolation_nests_and_resumes_text() -> None:
    """Given nested ``${}`` parts, then text segments and block tokens alternate correctly."""
    assert kinds("`a${x + `b${1}`}c`") == [
        ("ISTR", "a"), ("{", None), ("IDENT", "x"), ("+", None),
        ("ISTR", "b"), ("{", None), ("INT", 1), ("}", None), ("STR", ""),
        ("}", None), ("STR", "c"),
    ]  # fmt: skip


def test_braces_inside_interpolation_do_not_end_it() -> None:
    """Given a map literal and a block inside ``${}``, then only the matching brace resumes the text."""
    assert kinds("`${ #{a: {1}}.a }!`")[-2:] == [("}", None), ("STR", "!")]


@pytest.mark.parametrize(
    "src",
    [
        "/* a /* nested */ still comment */ 1",
        "// line comment\n1",
        "/// doc comment\n1",
        "/** doc */ 1",
        "//! module doc\n1",
    ],
)
def test_comments_are_skipped(src: str) -> None:
    """Given comments of every form (doc comments are plain comments), then only the code remains."""
    assert kinds(src) == [("INT", 1)]


def test_unterminated_block_comment_is_accepted() -> None:
    """Given ``/*`` without an end, then lexing stops quietly at EOF (as Rhai does)."""
    assert kinds("1 /* open /* nested */") == [("INT", 1)]


def test_positions_are_one_based_line_and_column() -> None:
    """Given a multi-line source, then each token carries the 1-based line/column of its first char."""
    toks = tokenize("let x =\n  `a\nb` + 'c';")
    assert [(t[0], t[2], t[3]) for t in toks] == [
        ("let", 1, 1), ("IDENT", 1, 5), ("=", 1, 7), ("STR", 2, 3),
        ("+", 3, 4), ("CHAR", 3, 6), (";", 3, 9), ("EOF", 3, 10),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("src", "word"),
    [
        ("var", "var"),
        ("null", "null"),
        ("match", "match"),
        ("++", "++"),
        ("#", "#"),
        ("@", "@"),
        ("$", "$"),
    ],
)
def test_reserved_words_and_symbols_become_reserved_tokens(src: str, word: str) -> None:
    """Given a reserved word or symbol, then it lexes as RESERVED (the parser rejects it)."""
    assert kinds(src) == [("RESERVED", word)]


LEX_ERRORS = [
    ('"abc', "BadInput", "UnterminatedString", (1, 1)),
    ('x = "abc\ndef"', "BadInput", "UnterminatedString", (1, 5)),
    ("`abc", "BadInput", "UnterminatedString", (1, 1)),
    ('##"abc"#', "BadInput", "UnterminatedString", (1, 1)),
    (r'"\uhello"', "BadInput", "MalformedEscapeSequence", (1, 4)),
    (r'"\q"', "BadInput", "MalformedEscapeSequence", (1, 3)),
    ("''", "BadInput", "MalformedChar", (1, 1)),
    ("'ab'", "BadInput", "MalformedChar", (1, 1)),
    ("0x", "BadInput", "MalformedNumber", (1, 1)),
    ("0x1_0000_0000_0000_0000", "BadInput", "MalformedNumber", (1, 1)),
    ("a === b", "BadInput", "ImproperSymbol", (1, 3)),
    ("a -> b", "BadInput", "ImproperSymbol", (1, 3)),
    ("x := 1", "BadInput", "ImproperSymbol", (1, 3)),
    ("(* c *)", "BadInput", "ImproperSymbol", (1, 1)),
    ("_x", "BadInput", "MalformedIdentifier", (1, 1)),
    ("\n  ¿", "BadInput", "UnexpectedInput", (2, 3)),
]


@pytest.mark.parametrize(("src", "parse_error", "lex_error", "pos"), LEX_ERRORS)
def test_lexer_errors_surface_as_parse_errors(
    src: str, parse_error: str, lex_error: str, pos: tuple[int, int]
) -> None:
    """Given malformed input, when parsed, then ErrorParsing carries the lexer error kind and position."""
    with pytest.raises(ErrorParsing) as info:
        parse(src)
    assert (info.value.parse_error, info.value.lex_error) == (parse_error, lex_error)
    assert (info.value.pos.line, info.value.pos.column) == pos


def test_lexer_errors_are_tokens_not_exceptions() -> None:
    """Given a lexer error, then tokenize returns an ERR token (the parser decides when to raise)."""
    toks = tokenize('1 + "oops')
    assert toks[-2][0] == ERR and toks[-1][0] == "EOF"


def test_string_longer_than_max_string_size_is_literal_too_large() -> None:
    """Given max_string_size, then a longer literal (counted in UTF-8 bytes) is LiteralTooLarge."""
    toks = tokenize('"朝に紅顔"', max_string_size=10)
    assert toks[0][0] == ERR and toks[0][1][0] == "LiteralTooLarge"  # type: ignore[index]
    assert kinds('"0123456789"', max_string_size=10) == [("STR", "0123456789")]


def test_disabled_symbols_turn_into_reserved_tokens() -> None:
    """Given disabled keywords/operators, then they lex as RESERVED; a disabled reserved word is an error."""
    assert kinds("while +=", disabled_symbols={"while", "+="}) == [
        ("RESERVED", "while"),
        ("RESERVED", "+="),
    ]
    toks = tokenize("eval(1)", disabled_symbols={"eval"})
    assert toks[0][0] == ERR and toks[0][1][1] == "ImproperSymbol"  # type: ignore[index]


@pytest.mark.parametrize(
    ("name", "problem"),
    [("foo", None), ("is_def_fn", None), ("print", "Reserved"), ("Fn", "Reserved"), ("while", "Reserved"),
     ("var", "Reserved"), ("+", "Reserved"), ("==", "Reserved"), ("_x", "NotFound"), ("a b", "NotFound"),
     ("", "NotFound")],
)  # fmt: skip
def test_function_name_problem_matches_fn_pointer_rules(name: str, problem: str | None) -> None:
    """Given a name for ``Fn(name)``, then it is valid, reserved (ErrorParsing) or not found."""
    assert function_name_problem(name) == problem
