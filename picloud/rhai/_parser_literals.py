"""Literal rules of the Rhai parser: arrays, object maps, interpolated strings, closures."""

from __future__ import annotations

from picloud.rhai import nodes as n
from picloud.rhai._parser_base import STANDARD_KEYWORDS, ParserBase
from picloud.rhai.lexer import EOF, ERR, IDENT, ISTR, RESERVED, STR, is_valid_identifier

__all__ = ["LiteralParser"]


class LiteralParser(ParserBase):
    """Array/map literals, backtick strings with ``${}``, anonymous functions."""

    # ------------------------------------------------------------------ literals

    def parse_array_literal(self, lv: int) -> n.ArrayLit:
        """``[a, b, ...]`` with optional trailing comma; ``LiteralTooLarge`` over max_array_size."""
        toks = self.toks
        open_tok = toks[self.p]
        self.p += 1
        items: list[n.Expr] = []
        max_array = self.max_array
        while True:
            tok = toks[self.p]
            # Rhai checks the size before looking for `]`, so a full literal is already too large.
            if max_array and len(items) >= max_array:
                self.fail(
                    "LiteralTooLarge",
                    f"Size of array literal exceeds the maximum limit ({max_array})",
                    tok,
                    "Size of array literal", max_array,
                )  # fmt: skip
            if tok[0] == "]":
                self.p += 1
                break
            if tok[0] == EOF:
                self.missing("]", "to end this array literal", tok)
            items.append(self.parse_expr(self.level_up(lv, tok)))
            tok = toks[self.p]
            if tok[0] == ",":
                self.p += 1
            elif tok[0] != "]":
                if tok[0] == EOF:
                    self.missing("]", "to end this array literal", tok)
                self.missing(",", "to separate the items of this array literal", tok)
        return n.ArrayLit(self.pos_of(open_tok), items)

    def parse_map_literal(self, lv: int) -> n.MapLit:
        """``#{key: value, "quoted key": value}``; duplicate keys are ``DuplicatedProperty``."""
        toks = self.toks
        open_tok = toks[self.p]
        self.p += 1
        entries: list[tuple[str, n.Expr]] = []
        seen: set[str] = set()
        max_map = self.max_map
        missing_rbrace = "to end this object map literal"
        while True:
            tok = toks[self.p]
            if tok[0] == "}":
                self.p += 1
                break
            if tok[0] == EOF:
                self.missing("}", missing_rbrace, tok)
            self.p += 1
            kind = tok[0]
            if kind == IDENT or kind == STR:
                key = str(tok[1])
                if key in seen:
                    self.fail(
                        "DuplicatedProperty",
                        f"Duplicated property for object map literal: {key}",
                        tok,
                        key,
                    )
            elif kind == ISTR:
                self.fail("PropertyExpected", "Expecting name of a property", tok)
            elif kind == RESERVED and is_valid_identifier(str(tok[1])):
                self.reserved(tok)
            elif kind == ERR:
                self.raise_token_error(tok)
            elif not entries:
                self.missing("}", missing_rbrace, tok)
            else:
                self.fail("PropertyExpected", "Expecting name of a property", tok)
            colon = toks[self.p]
            self.p += 1
            if colon[0] != ":":
                self.missing(
                    ":", f"to follow the property '{key}' in this object map literal", colon
                )
            if max_map and len(entries) >= max_map:
                self.fail(
                    "LiteralTooLarge",
                    "Number of properties in object map literal exceeds the maximum limit "
                    f"({max_map})",
                    toks[self.p], "Number of properties in object map literal", max_map,
                )  # fmt: skip
            value = self.parse_expr(self.level_up(lv, tok))
            seen.add(key)
            entries.append((key, value))
            tok = toks[self.p]
            if tok[0] == ",":
                self.p += 1
            elif tok[0] != "}":
                if tok[0] == IDENT:
                    self.missing(",", "to separate the items of this object map literal", tok)
                self.missing("}", missing_rbrace, tok)
        return n.MapLit(self.pos_of(open_tok), entries)

    def parse_interpolated(self, lv: int) -> n.Expr:
        """Backtick string with ``${ block }`` parts (the lexer resumes the text after ``}``)."""
        toks = self.toks
        first = toks[self.p]
        self.p += 1
        parts: list[n.Expr] = []
        if first[1]:
            parts.append(n.StringLit(self.pos_of(first), first[1]))  # type: ignore[arg-type]
        while True:
            parts.append(self.parse_block(lv))
            tok = toks[self.p]
            self.p += 1
            if tok[0] == STR or tok[0] == ISTR:
                if tok[1]:
                    parts.append(n.StringLit(self.pos_of(tok), tok[1]))  # type: ignore[arg-type]
                if tok[0] == STR:
                    break
            else:
                self.unexpected(tok)
        return n.InterpolatedString(self.pos_of(first), parts)

    # ------------------------------------------------------------------ closures

    def parse_anon_fn(self, lv: int) -> n.Closure:
        """``|a, b| body`` / ``|| body``: a fresh scope; outer names used become captures."""
        toks = self.toks
        start = toks[self.p]
        self.p += 1
        outer = self.state
        inner = self.new_state()
        params: list[str] = []
        if start[0] == "|" and not self.match("|"):
            while True:
                tok = toks[self.p]
                self.p += 1
                kind = tok[0]
                if kind == "|":
                    break
                if kind == IDENT:
                    name = str(tok[1])
                    if name in params:
                        self.fail(
                            "FnDuplicatedParam",
                            f"Duplicated parameter {name} for function ",
                            tok,
                            "",
                            name,
                        )
                    inner.stack.append((name, False))
                    params.append(name)
                elif kind == ERR:
                    self.raise_token_error(tok)
                elif kind == RESERVED:
                    self.reserved(tok)
                elif kind in STANDARD_KEYWORDS:
                    self.fail("VariableExpected", "Expecting name of a variable", tok)
                else:
                    self.missing(
                        "|", "to close the parameters list of anonymous function or closure", tok
                    )
                tok = toks[self.p]
                self.p += 1
                if tok[0] == "|":
                    break
                if tok[0] != ",":
                    self.missing(",", "to separate the parameters of anonymous function", tok)
        # A closure body gets Rhai's fresh settings: function scope, no loop, no strict mode
        # (captures are checked against the enclosing scope below), engine-level options.
        saved = self.save_flags()
        expression_only = self.disallow_stmts
        self.state = inner
        self.fn_scope = True
        self.closure_scope = True
        self.breakable = False
        self.global_level = False
        self.no_pipe = False
        self.strict = False
        self.restore_engine_options()
        try:
            if expression_only:
                # Expression API: the body is one expression (rhai.rs would accept any
                # statement here, e.g. `|| let y = 1`; the expression API promises none).
                self.stmt_expr = self.loop_expr = False
                lv = self.level_up(lv, start)
                if toks[self.p][0] == "{":
                    body_expr: n.Expr = self.parse_block(self.level_up(lv))
                else:
                    body_expr = self.parse_expr(lv)
                stmt: n.Stmt | None = n.ExprStmt(body_expr.pos, body_expr)
            else:
                stmt, _ = self.parse_stmt(self.level_up(lv, start))
        finally:
            self.state = outer
            self.restore_flags(saved)
        # Counted after its body, as Rhai adds it to the function library then.
        self.fn_count += 1
        if stmt is None:
            body: n.Expr = n.Block(self.pos_of(start), [])
        elif isinstance(stmt, n.ExprStmt):
            body = stmt.expr
        else:
            body = n.Block(stmt.pos, [stmt])
        captures: list[str] = []
        for name, cpos in inner.externals:
            found, is_func = self.access_var(outer, name, cpos)
            if (
                not found
                and not is_func
                and not self.closure_scope
                and self.strict
                and name not in self.scope_names
            ):
                self.fail("VariableUndefined", f"Undefined variable: {name}", cpos, name)
            captures.append(name)
        return n.Closure(self.pos_of(start), params, body, captures)
