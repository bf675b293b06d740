"""Rhai tokenizer: source text → a list of ``Token`` tuples, as rhai.rs ``tokenizer.rs`` lexes.

A token is ``(kind, value, line, column)``. ``kind`` is the source text for
keywords and symbols (``"let"``, ``"+="``, ``"()"``, ``"#{"``, ``"?."``), or one
of the data kinds below; unary ``+``/``-`` (an operator where an operand is
expected) are ``"u+"``/``"u-"`` as in Rhai, which decides this in the lexer.

Lexer errors do not raise: like Rhai, an ``ERR`` token carries them and the
parser raises when it reaches it (an earlier parse error wins). Lexing stops
after the first ``ERR``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "Token",
    "tokenize",
    "INT",
    "FLOAT",
    "STR",
    "ISTR",
    "CHAR",
    "IDENT",
    "RESERVED",
    "ERR",
    "EOF",
    "KEYWORDS",
    "RESERVED_WORDS",
    "is_valid_identifier",
    "function_name_problem",
]

Token = tuple[str, object, int, int]

INT = "INT"  #: value: int (already a signed 64-bit value)
FLOAT = "FLOAT"  #: value: float
STR = "STR"  #: value: str (a whole string, or the last segment of a backtick string)
ISTR = "ISTR"  #: value: str, the text before a ``${`` of a backtick string
CHAR = "CHAR"  #: value: one-code-point str
IDENT = "IDENT"  #: value: str
RESERVED = "RESERVED"  #: value: the reserved word/symbol (or a disabled keyword/operator)
ERR = "ERR"  #: value: (parse_error, lex_error | None, message)
EOF = "EOF"  #: value: None

#: Active keywords (their kind is their text).
KEYWORDS = frozenset(
    "true false let const if else do while until loop for in continue break return throw "
    "try catch fn private import export as switch _".split()
)

#: Reserved words: name → (callable as a function, callable in method style).
RESERVED_WORDS: dict[str, tuple[bool, bool]] = {
    **{
        w: (False, False)
        for w in (
            "use case async public package super var protected spawn shared is sync static "
            "default this thread yield new match await null with void nil module"
        ).split()
    },
    "print": (True, False),
    "debug": (True, False),
    "eval": (True, False),
    "is_def_var": (True, False),
    "Fn": (True, False),
    "curry": (True, True),
    "call": (True, True),
    "type_of": (True, True),
}

# Reserved symbols that Rhai turns into a lexer error with a hint (unless disabled/custom).
_IMPROPER = {
    "===": "'===' is not a valid operator. This is not JavaScript! Should it be '=='?",
    "!==": "'!==' is not a valid operator. This is not JavaScript! Should it be '!='?",
    "->": "'->' is not a valid symbol. This is not C or C++!",
    "<-": "'<-' is not a valid symbol. This is not Go! Should it be '<='?",
    ":=": "':=' is not a valid assignment operator. This is not Go or Pascal! "
    "Should it be simply '='?",
    ":;": "':;' is not a valid symbol. Should it be '::'?",
    "::<": "'::<>' is not a valid symbol. This is not Rust! Should it be '::'?",
    "(*": "'(* .. *)' is not a valid comment format. This is not Pascal! Should it be '/* .. */'?",
    "*)": "'(* .. *)' is not a valid comment format. This is not Pascal! Should it be '/* .. */'?",
    "# {": "'#' is not a valid symbol. Should it be '#{'?",
}

# Symbols, longest first per leading char; values are (kind, is_reserved).
_SYM3 = {
    "**=": "**=", "<<=": "<<=", ">>=": ">>=", "..=": "..=", "...": "...",
    "===": "===", "!==": "!==", "::<": "::<",
}  # fmt: skip
_SYM2 = {
    "+=": "+=", "++": "++", "-=": "-=", "->": "->", "--": "--", "*)": "*)", "*=": "*=",
    "**": "**", "/=": "/=", "==": "==", "=>": "=>", "::": "::", ":=": ":=", ":;": ":;",
    "<=": "<=", "<-": "<-", "<<": "<<", "<|": "<|", ">=": ">=", ">>": ">>", "!=": "!=",
    "!.": "!.", "||": "||", "|=": "|=", "|>": "|>", "&&": "&&", "&=": "&=", "^=": "^=",
    "%=": "%=", "?.": "?.", "??": "??", "?[": "?[", "()": "()", "(*": "(*", "..": "..",
    "#{": "#{",
}  # fmt: skip
_SYM1 = frozenset("+-*/;,.=:<>!|&^~%@$?{}()[]#")
_RESERVED_SYMBOLS = frozenset(
    "++ -- -> *) (* ... === !== ::< := :; <- <| |> !. ~ @ $ ? # #!".split()
) | {"# {"}

# After these tokens a `+`/`-` is unary (Rhai's `Token::is_next_unary`).
_NEXT_UNARY = frozenset(
    "; : , ?? .. ..= { ( [ + += u+ - -= u- * *= / /= % %= ** **= << <<= >> >>= = == != "
    "< > ! <= >= | & if while until in !in && &= || |= ^ ^= return throw ?[".split()
) | {ERR}

# Every operator/punctuation spelling, active or reserved.
_ALL_SYMBOLS = _SYM1 | frozenset(_SYM2) | frozenset(_SYM3) | _RESERVED_SYMBOLS | {"!in"}
_DATA_KINDS = frozenset({INT, FLOAT, STR, ISTR, CHAR, IDENT, EOF, ERR})

_WS = re.compile(r"[ \t\r\x0c]+")
_LINE_END = re.compile(r"\n|\r")
# A decimal integer that no `_`, `.`, exponent or radix letter continues.
_SIMPLE_INT = re.compile(r"[0-9]+(?![0-9_.eExXoObB])")
_I64_LIMIT = 1 << 63
# Symbol starts with their own rules (strings, comments, `#`, `!in`).
_SPECIAL_STARTS = frozenset("#/!")
_IDENT_TAIL = re.compile(r"[A-Za-z0-9_]*")
_HEX = frozenset("0123456789abcdefABCDEF")
_OCT = frozenset("01234567")
_BIN = frozenset("01")
_DEC = frozenset("0123456789")
_ID_FIRST = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ID_CONT = _ID_FIRST | _DEC | {"_"}
_MASK64 = (1 << 64) - 1


def is_valid_identifier(name: str) -> bool:
    """Rhai's rule: an ASCII letter first, then letters, digits or ``_``."""
    return bool(name) and name[0] in _ID_FIRST and all(c in _ID_CONT for c in name)


def function_name_problem(name: str) -> str | None:
    """How Rhai's ``Fn(name)`` judges a name (``FnPtr::try_from``).

    ``None``: a valid script function name. ``"Reserved"``: a keyword, reserved
    word or symbol (Rhai raises ``ErrorParsing`` ``Reserved(name)``, e.g.
    ``Fn("print")``). ``"NotFound"``: anything else (``ErrorFunctionNotFound``).
    """
    if name in KEYWORDS or name in RESERVED_WORDS or name in _ALL_SYMBOLS:
        return "Reserved"
    if is_valid_identifier(name):
        return None
    return "NotFound"


class _LexFail(Exception):
    """Internal: a lexer error at a position (turned into an ``ERR`` token)."""

    def __init__(
        self, lex_error: str, message: str, line: int, col: int, parse_error: str = "BadInput"
    ):
        super().__init__(message)
        self.token: Token = (ERR, (parse_error, lex_error, message), line, col)


class _Lexer:
    """One tokenizing pass over a source string."""

    __slots__ = ("disabled", "i", "interp", "line", "line_start", "max_str", "n", "out", "src")

    def __init__(self, src: str, disabled: frozenset[str], max_string_size: int) -> None:
        self.src = src
        self.n = len(src)
        self.i = 0
        self.line = 1
        self.line_start = 0
        self.out: list[Token] = []
        self.disabled = disabled
        self.max_str = max_string_size
        # Brace depths at which an open `${ ... }` interpolation resumes its backtick string.
        self.interp: list[int] = []

    # ------------------------------------------------------------------ helpers

    def col(self, i: int) -> int:
        """1-based column of source index ``i`` on the current line."""
        return i - self.line_start + 1

    def newline_at(self, i: int) -> None:
        """Record that ``src[i]`` is a line feed."""
        self.line += 1
        self.line_start = i + 1

    def emit(self, kind: str, value: object, line: int, col: int) -> None:
        """Append a token, mapping disabled and reserved symbols the way Rhai's iterator does."""
        if kind == RESERVED:
            text = value
            assert isinstance(text, str)
            if text in _IMPROPER:
                raise _LexFail("ImproperSymbol", _IMPROPER[text], line, col)
            if text in self.disabled:
                what = "keyword" if is_valid_identifier(text) else "symbol"
                raise _LexFail("ImproperSymbol", f"reserved {what} '{text}' is disabled", line, col)
        elif self.disabled and kind not in _DATA_KINDS:
            text = kind[1:] if kind in ("u+", "u-") else kind
            if text in self.disabled:
                self.out.append((RESERVED, text, line, col))
                return
        self.out.append((kind, value, line, col))

    # ------------------------------------------------------------------ main loop

    def run(self) -> list[Token]:
        """Tokenize everything; stop at the first lexer error."""
        try:
            self._loop()
        except _LexFail as fail:
            self.out.append(fail.token)
        line, col = self.line, self.col(min(self.i, self.n))
        self.out.append((EOF, None, line, col))
        return self.out

    def _loop(self) -> None:
        src, n = self.src, self.n
        out = self.out
        append = out.append
        emit = self.emit
        disabled = self.disabled
        ident_tail = _IDENT_TAIL.match
        simple_int = _SIMPLE_INT.match
        while True:
            i = self.i
            if i >= n:
                return
            c = src[i]
            if c == "\n":
                self.line += 1
                self.line_start = self.i = i + 1
                continue
            if c == " " or c == "\t" or c == "\r" or c == "\x0c":
                self.i = _WS.match(src, i).end()  # type: ignore[union-attr]
                continue
            line, col = self.line, i - self.line_start + 1
            if c in _ID_FIRST or c == "_":
                j = ident_tail(src, i + 1).end()  # type: ignore[union-attr]
                word = src[i:j]
                self.i = j
                if word in KEYWORDS:
                    if disabled:
                        emit(word, None, line, col)
                    else:
                        append((word, None, line, col))
                elif word in RESERVED_WORDS:
                    emit(RESERVED, word, line, col)
                elif c == "_" and word != "_":
                    # The tail is ASCII alphanumeric, so only a leading `_` makes a bad name.
                    raise _LexFail(
                        "MalformedIdentifier", f"Variable name is not proper: '{word}'", line, col
                    )
                else:
                    append((IDENT, word, line, col))
                continue
            if c in _DEC:
                m = simple_int(src, i)
                if m is not None:
                    value = int(m.group())
                    if value < _I64_LIMIT:
                        self.i = m.end()
                        append((INT, value, line, col))
                        continue
                self._number(i, line, col, negated=False)
                continue
            cc = src[i + 1] if i + 1 < n else ""
            if c == "-" and cc in _DEC and cc and (not out or out[-1][0] in _NEXT_UNARY):
                self._number(i + 1, line, col, negated=True)
                continue
            if c in _SYM1 and c not in _SPECIAL_STARTS:
                three = src[i : i + 3]
                if three in _SYM3:
                    sym, self.i = three, i + 3
                elif c + cc in _SYM2:
                    sym, self.i = c + cc, i + 2
                else:
                    sym, self.i = c, i + 1
                if (sym == "+" or sym == "-") and (not out or out[-1][0] in _NEXT_UNARY):
                    sym = "u" + sym
                if sym in _RESERVED_SYMBOLS:
                    emit(RESERVED, sym, line, col)
                elif sym == "{":
                    if self.interp:
                        self.interp[-1] += 1
                    emit("{", None, line, col)
                elif sym == "}":
                    emit("}", None, line, col)
                    self._close_brace()
                elif disabled:
                    emit(sym, None, line, col)
                else:
                    append((sym, None, line, col))
                continue
            if c == '"':
                self.i = i + 1
                text, _ = self._string(
                    i, '"', verbatim=False, continuation=True, interpolation=False
                )
                append((STR, text, line, col))
                continue
            if c == "`":
                j = i + 1
                # A line break right after the opening backtick is dropped.
                if j < n and src[j] == "\r":
                    j += 1
                    if j < n and src[j] == "\n":
                        j += 1
                    self.line += 1
                    self.line_start = j
                elif j < n and src[j] == "\n":
                    j += 1
                    self.newline_at(j - 1)
                self.i = j
                self._backtick(i, line, col)
                continue
            if c == "'":
                if cc == "'":
                    raise _LexFail("MalformedChar", "Invalid character: ''", line, col)
                self.i = i + 1
                text, _ = self._string(
                    i, "'", verbatim=False, continuation=False, interpolation=False
                )
                if len(text) != 1:
                    raise _LexFail("MalformedChar", f"Invalid character: '{text}'", line, col)
                append((CHAR, text, line, col))
                continue
            if c == "#":
                if cc in ('"', "#") and cc:
                    self._raw_string(i, line, col)
                elif cc == "{":
                    self.i = i + 2
                    self._open_brace()
                    emit("#{", None, line, col)
                elif cc == "!":
                    self.i = i + 1
                    emit(RESERVED, "#!", line, col)
                elif cc == " " and i + 2 < n and src[i + 2] == "{":
                    self.i = i + 3
                    emit(RESERVED, "# {", line, col)
                else:
                    self.i = i + 2 if cc == " " else i + 1
                    emit(RESERVED, "#", line, col)
                continue
            if c == "/":
                if cc == "/":
                    # A line comment ends at LF or at a lone CR.
                    m = _LINE_END.search(src, i)
                    self.i = n if m is None else m.start()
                    continue
                if cc == "*":
                    self._block_comment(i + 2)
                    continue
            if c == "!" and cc == "i" and i + 2 < n and src[i + 2] == "n":
                if i + 3 < n and src[i + 3] in _ID_CONT:
                    self.i = i + 1
                    emit("!", None, line, col)
                else:
                    self.i = i + 3
                    emit("!in", None, line, col)
                continue
            if c in _SYM1:
                # `/` and `!` forms not handled above.
                sym = c + cc if c + cc in _SYM2 or c + cc in ("!=",) else c
                three = src[i : i + 3]
                if three in _SYM3:
                    sym = three
                self.i = i + len(sym)
                if sym in _RESERVED_SYMBOLS:
                    emit(RESERVED, sym, line, col)
                else:
                    emit(sym, None, line, col)
                continue
            raise _LexFail("UnexpectedInput", f"Unexpected '{c}'", line, col)

    # ------------------------------------------------------------------ braces / interpolation

    def _open_brace(self) -> None:
        if self.interp:
            self.interp[-1] += 1

    def _close_brace(self) -> None:
        """A ``}``: if it closes a ``${`` block, continue lexing the backtick string."""
        if not self.interp:
            return
        self.interp[-1] -= 1
        if self.interp[-1] == 0:
            self.interp.pop()
            self._backtick(self.i - 1, self.line, self.col(self.i))

    def _backtick(self, start: int, line: int, col: int) -> None:
        """Lex (the rest of) a backtick string; at ``${`` emit ``ISTR`` and lex the block."""
        text, interpolated = self._string(
            start, "`", verbatim=True, continuation=False, interpolation=True
        )
        if interpolated:
            self.out.append((ISTR, text, line, col))
            # The `{` after `$` is lexed as a normal token and opens the block.
            self.interp.append(0)
        else:
            self.out.append((STR, text, line, col))

    # ------------------------------------------------------------------ literals

    def _number(self, i: int, line: int, col: int, *, negated: bool) -> None:
        """Lex a number starting at ``src[i]`` (a digit), like Rhai (``_`` separators, radix)."""
        src, n = self.src, self.n
        first = src[i]
        digits = [first]
        valid = _DEC
        radix = 0
        has_period = has_e = False
        j = i + 1
        while j < n:
            ch = src[j]
            if ch == "_":
                j += 1
            elif ch in valid:
                digits.append(ch)
                j += 1
            elif ch == "." and not has_period and not radix:
                nxt = src[j + 1] if j + 1 < n else ""
                if nxt in _DEC and nxt:
                    digits.append(".")
                    has_period = True
                    j += 1
                elif nxt == "" or nxt == "_" or nxt == "." or nxt in _ID_FIRST:
                    break
                else:
                    # `123.` followed by a symbol or space is the float 123.0
                    digits.append(".0")
                    has_period = True
                    j += 1
            elif ch in "eE" and not has_e and not radix:
                nxt = src[j + 1] if j + 1 < n else ""
                if nxt and nxt in _DEC:
                    digits.append("e")
                    j += 1
                elif nxt in ("+", "-") and nxt:
                    digits.append("e" + nxt)
                    j += 2
                else:
                    break
                has_e = has_period = True
            elif ch in "xXoObB" and first == "0" and len(digits) <= 1:
                digits.append(ch)
                j += 1
                valid = _HEX if ch in "xX" else _OCT if ch in "oO" else _BIN
                radix = 16 if ch in "xX" else 8 if ch in "oO" else 2
            else:
                break
        self.i = j
        text = "".join(digits)
        if negated:
            text = "-" + text
        if radix:
            # Rhai slices off two characters after negation, so `-0x1` is malformed.
            body = text[2:]
            try:
                value = int(body, radix) if body and body.isalnum() else -1
                if value < 0 or value > _MASK64:
                    raise ValueError(body)
            except ValueError:
                raise _LexFail("MalformedNumber", f"Invalid number: '{body}'", line, col) from None
            if value >= 1 << 63:
                value -= 1 << 64
            self.out.append((INT, value, line, col))
            return
        if not has_period:
            value = int(text)
            if -(1 << 63) <= value < (1 << 63):
                self.out.append((INT, value, line, col))
                return
        try:
            fvalue = float(text)
        except ValueError:
            raise _LexFail("MalformedNumber", f"Invalid number: '{text}'", line, col) from None
        self.out.append((FLOAT, fvalue, line, col))

    def _string(
        self, start: int, term: str, *, verbatim: bool, continuation: bool, interpolation: bool
    ) -> tuple[str, bool]:
        """Scan string text from ``self.i`` to ``term``; returns ``(text, stopped_at_${)``.

        ``start`` is the index of the opening quote (errors point there).
        """
        src, n = self.src, self.n
        start_line, start_col = self.line, self.col(start)
        result: list[str] = []
        size = 0
        max_str = self.max_str
        escape = False
        skip_until = 0  # skip leading spaces up to this column after a line continuation
        j = self.i
        while True:
            if j >= n:
                self.i = j
                # Verbatim strings and a trailing continuation hit EOF "inside text": unterminated.
                raise _LexFail(
                    "UnterminatedString", "Open string is not terminated", start_line, start_col
                )
            ch = src[j]
            j += 1
            if interpolation and not escape:
                if ch == "$" and j < n and src[j] == "{":
                    self.i = j
                    return self._check_size("".join(result), start_line, start_col), True
                if ch == "\\" and j < n and src[j] == "$":
                    if j + 1 < n and src[j + 1] == "{":
                        j += 1
                        ch = "$"
            if max_str and size > max_str:
                self._too_long(start_line, start_col)
            if ch == term and not escape:
                if j < n and src[j] == term:
                    j += 1
                else:
                    self.i = j
                    return self._check_size("".join(result), start_line, start_col), False
            if ch == "\r" and j < n and src[j] == "\n":
                continue
            if escape:
                escape = False
                if ch == "n":
                    result.append("\n")
                elif ch == "r":
                    result.append("\r")
                elif ch == "t":
                    result.append("\t")
                elif ch == "\\":
                    result.append("\\")
                elif ch in "xuU":
                    width = 2 if ch == "x" else 4 if ch == "u" else 8
                    seq = "\\" + ch
                    value = 0
                    for _ in range(width):
                        if j >= n:
                            raise self._bad_escape(seq, j)
                        d = src[j]
                        j += 1
                        seq += d
                        if d not in _HEX:
                            raise self._bad_escape(seq, j - 1)
                        value = value * 16 + int(d, 16)
                    if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
                        raise self._bad_escape(seq, j - 1)
                    result.append(chr(value))
                elif ch == "\n" and continuation:
                    self.newline_at(j - 1)
                    skip_until = start_col + 1
                    continue
                elif ch == "\n":
                    raise _LexFail(
                        "UnterminatedString", "Open string is not terminated", start_line, start_col
                    )
                elif ch == term:
                    result.append(term)
                else:
                    raise self._bad_escape("\\" + ch, j - 1)
                size += len(result[-1].encode()) if result else 0
                continue
            if ch == "\\" and not verbatim:
                escape = True
                continue
            if ch == "\n":
                if not verbatim:
                    raise _LexFail(
                        "UnterminatedString", "Open string is not terminated", start_line, start_col
                    )
                self.newline_at(j - 1)
                result.append("\n")
                size += 1
                continue
            if skip_until and ch.isspace() and (j - self.line_start) < skip_until:
                continue
            skip_until = 0
            result.append(ch)
            size += 1 if ch < "\x80" else len(ch.encode())

    def _check_size(self, text: str, line: int, col: int) -> str:
        if self.max_str and len(text.encode()) > self.max_str:
            self._too_long(line, col)
        return text

    def _too_long(self, line: int, col: int) -> None:
        raise _LexFail(
            None,  # type: ignore[arg-type]
            f"Length of string exceeds the maximum limit ({self.max_str})",
            line,
            col,
            parse_error="LiteralTooLarge",
        )

    def _bad_escape(self, seq: str, j: int) -> _LexFail:
        return _LexFail(
            "MalformedEscapeSequence", f"Invalid escape sequence: '{seq}'", self.line, self.col(j)
        )

    def _raw_string(self, start: int, line: int, col: int) -> None:
        """Lex ``#"..."#`` / ``##"..."##``: ends at a quote followed by as many ``#``."""
        src, n = self.src, self.n
        j = start + 1
        hashes = 1
        while j < n and src[j] == "#":
            hashes += 1
            j += 1
        if j >= n:
            raise _LexFail("UnterminatedString", "Open string is not terminated", line, col)
        if src[j] != '"':
            raise _LexFail("UnexpectedInput", f"Unexpected '{src[j]}'", line, col)
        j += 1
        closer = '"' + "#" * hashes
        end = src.find(closer, j)
        if end < 0:
            raise _LexFail("UnterminatedString", "Open string is not terminated", line, col)
        text = src[j:end]
        for k in range(j, end):
            if src[k] == "\n":
                self.newline_at(k)
        self.i = end + len(closer)
        self._check_size(text, line, col)
        self.out.append((STR, text, line, col))

    def _block_comment(self, j: int) -> None:
        """Skip a (nested) block comment body starting after ``/*``; EOF ends it silently."""
        src, n = self.src, self.n
        level = 1
        while j < n:
            ch = src[j]
            if ch == "/" and j + 1 < n and src[j + 1] == "*":
                level += 1
                j += 2
            elif ch == "*" and j + 1 < n and src[j + 1] == "/":
                level -= 1
                j += 2
                if level == 0:
                    break
            else:
                if ch == "\n":
                    self.newline_at(j)
                j += 1
        self.i = j


def tokenize(
    source: str, disabled_symbols: Iterable[str] = (), max_string_size: int = 0
) -> list[Token]:
    """Tokenize ``source``; the list always ends with ``EOF`` (after at most one ``ERR``)."""
    return _Lexer(source, frozenset(disabled_symbols), max_string_size).run()
