"""Control-flow rules of the Rhai parser: if, switch, while/loop, do, for, try/catch."""

from __future__ import annotations

from typing import Any

from picloud.rhai import nodes as n
from picloud.rhai._parser_base import NO_VALUE, ParserBase, literal_value, start_pos
from picloud.rhai.errors import ErrorParsing
from picloud.rhai.lexer import EOF, ERR
from picloud.rhai.values import RhaiRange

__all__ = ["FlowParser"]


class FlowParser(ParserBase):
    """``if``/``switch``/loops/``try``: expressions in Rhai, statements when they start one."""

    def parse_if(self, lv: int) -> n.If:
        """if := 'if' expr block ['else' (if | block)]"""
        tok = self.toks[self.p]
        self.p += 1
        lv = self.level_up(lv, tok)
        self.ensure_not_statement_expr("a boolean")
        cond = self.ensure_bool(self.parse_expr(lv))
        self.ensure_not_assignment()
        then = self.parse_block(lv)
        otherwise = None
        if self.match("else"):
            nxt = self.toks[self.p]
            if nxt[0] == "if":
                inner = self.parse_if(lv)
                otherwise = n.Block(inner.pos, [n.ExprStmt(inner.pos, inner)])
            else:
                otherwise = self.parse_block(lv)
        return n.If(self.pos_of(tok), cond, then, otherwise)

    def parse_while_loop(self, lv: int) -> n.Expr:
        """while := 'while' expr block | 'loop' block"""
        tok = self.toks[self.p]
        self.p += 1
        lv = self.level_up(lv, tok)
        cond = None
        if tok[0] == "while":
            self.ensure_not_statement_expr("a boolean")
            cond = self.ensure_bool(self.parse_expr(lv))
            self.ensure_not_assignment()
        body = self.parse_loop_body(lv)
        if cond is None:
            return n.Loop(self.pos_of(tok), body)
        return n.While(self.pos_of(tok), cond, body)

    def parse_loop_body(self, lv: int) -> n.Block:
        """A block in which ``break``/``continue`` are allowed."""
        saved = self.breakable
        self.breakable = True
        try:
            return self.parse_block(lv)
        finally:
            self.breakable = saved

    def parse_do(self, lv: int) -> n.DoLoop:
        """do := 'do' block ('while' | 'until') expr"""
        tok = self.toks[self.p]
        self.p += 1
        lv = self.level_up(lv, tok)
        body = self.parse_loop_body(lv)
        kw = self.toks[self.p]
        self.p += 1
        if kw[0] not in ("while", "until"):
            self.missing("while", "for the do statement", kw)
        self.ensure_not_statement_expr("a boolean")
        cond = self.ensure_bool(self.parse_expr(lv))
        self.ensure_not_assignment()
        return n.DoLoop(self.pos_of(tok), body, cond, kw[0] == "until")

    def parse_for(self, lv: int) -> n.For:
        """for := 'for' (name | '(' name ',' name ')') 'in' expr block"""
        toks = self.toks
        tok = toks[self.p]
        self.p += 1
        lv = self.level_up(lv, tok)
        counter = None
        if self.match("("):
            name, _ = self.parse_var_name()
            if not self.match(","):
                self.missing(",", "after the iteration variable name", toks[self.p])
            counter, ctok = self.parse_var_name()
            if counter == name:
                self.fail(
                    "DuplicatedVariable", f"Duplicated variable name: {counter}", ctok, counter
                )
            if not self.match(")"):
                self.missing(")", "to close the iteration variable", toks[self.p])
        else:
            name, _ = self.parse_var_name()
        kw = toks[self.p]
        self.p += 1
        if kw[0] != "in":
            self.missing("in", "after the iteration variable", kw)
        self.ensure_not_statement_expr("a boolean")
        iterable = self.parse_expr(lv)
        self.ensure_iterable(iterable)
        stack = self.state.stack
        mark = len(stack)
        if counter is not None:
            stack.append((counter, False))
        stack.append((name, False))
        try:
            body = self.parse_loop_body(lv)
        finally:
            del stack[mark:]
        return n.For(self.pos_of(tok), name, counter, iterable, body)

    def ensure_iterable(self, expr: n.Expr) -> None:
        """Reject literals that can never be iterated (``MismatchedType``)."""
        what = None
        if isinstance(expr, n.UnitLit):
            what = "()"
        elif isinstance(expr, n.BoolLit):
            what = "a boolean"
        elif isinstance(expr, n.IntLit):
            what = "a number"
        elif isinstance(expr, n.FloatLit):
            what = "a floating-point number"
        elif isinstance(expr, n.CharLit):
            what = "a character"
        elif isinstance(expr, n.MapLit):
            what = "an object map"
        if what is not None:
            self.fail(
                "MismatchedType", f"Expecting an iterable value, not {what}", start_pos(expr),
                "an iterable value", what,
            )  # fmt: skip

    def parse_switch(self, lv: int) -> n.Switch:
        """switch := 'switch' expr '{' (case '=>' stmt ','?)* '}'"""
        toks = self.toks
        sw_tok = toks[self.p]
        self.p += 1
        lv = self.level_up(lv, sw_tok)
        subject = self.parse_expr(lv)
        brace = toks[self.p]
        self.p += 1
        if brace[0] != "{":
            self.missing("{", "to start a switch block", brace)
        cases: list[n.SwitchCase] = []
        default: n.Expr | None = None
        has_default = False
        def_tok: Any = None
        ranges_seen = False
        while True:
            tok = toks[self.p]
            kind = tok[0]
            if kind == "}":
                self.p += 1
                break
            if kind == EOF:
                self.missing("}", "to end this switch block", tok)
            values: list[n.Expr] = []
            cond: n.Expr | None = None
            if kind == "_" and not has_default:
                def_tok = tok
                self.p += 1
                if_tok = toks[self.p]
                if if_tok[0] == "if":
                    self.fail(
                        "WrongSwitchCaseCondition",
                        "This switch case cannot have a condition",
                        if_tok,
                    )
            elif has_default:
                self.fail("WrongSwitchDefaultCase", "Default switch case must be the last", def_tok)
            else:
                while True:
                    saved = self.no_pipe
                    self.no_pipe = True
                    try:
                        values.append(self.parse_expr(lv))
                    except ErrorParsing as err:
                        # Rhai reports any failure inside a case value this way.
                        raise ErrorParsing(
                            "ExprExpected", "Expecting literal expression", err.pos, "literal"
                        ) from None
                    finally:
                        self.no_pipe = saved
                    if not self.match("|"):
                        break
                if self.match("if"):
                    self.ensure_not_statement_expr("a boolean")
                    cond = self.ensure_bool(self.parse_expr(lv))
                    self.ensure_not_assignment()
            arrow = toks[self.p]
            self.p += 1
            if arrow[0] != "=>":
                self.missing("=>", "in this switch case", arrow)
            if self.disallow_stmts:
                body = self.parse_expr(lv)
                need_comma = True
            else:
                stmt, self_terminated = self.parse_stmt(lv)
                need_comma = not self_terminated
                if stmt is None:
                    body = n.UnitLit(self.pos_of(arrow))
                elif isinstance(stmt, n.ExprStmt):
                    body = stmt.expr
                else:
                    body = n.Block(stmt.pos, [stmt])
            if not values:
                has_default = True
                default = body
            else:
                constants: list[Any] = []
                for value in values:
                    const = literal_value(value)
                    if const is NO_VALUE:
                        self.fail(
                            "ExprExpected",
                            "Expecting a literal expression",
                            start_pos(value),
                            "a literal",
                        )
                    if isinstance(const, RhaiRange):
                        if const.start < const.stop:
                            ranges_seen = True
                    elif ranges_seen and type(const) in (int, float):
                        self.fail(
                            "WrongSwitchIntegerCase",
                            "Numeric switch case cannot follow a range case",
                            start_pos(value),
                        )
                    constants.append(const)
                is_range = all(isinstance(c, RhaiRange) for c in constants)
                cases.append(
                    n.SwitchCase(start_pos(values[0]), values, constants, cond, body, is_range)
                )
            tok = toks[self.p]
            kind = tok[0]
            if kind == ",":
                self.p += 1
            elif kind == "}":
                pass
            elif kind == EOF:
                self.missing(")", "to end this switch block", tok)
            elif kind == ERR:
                self.raise_token_error(tok)
            elif need_comma:
                self.missing(",", "to separate the items in this switch block", tok)
        return n.Switch(self.pos_of(sw_tok), subject, cases, default)

    def parse_try_catch(self, lv: int) -> n.TryCatch:
        """try := 'try' block 'catch' ['(' name ')'] block"""
        toks = self.toks
        tok = toks[self.p]
        self.p += 1
        lv = self.level_up(lv, tok)
        body = self.parse_block(lv)
        if not self.match("catch"):
            self.missing("catch", "for the 'try' statement", toks[self.p])
        var = None
        if self.match("("):
            var, _ = self.parse_var_name()
            if not self.match(")"):
                self.missing(")", "to enclose the catch variable", toks[self.p])
            self.state.stack.append((var, False))
        try:
            handler = self.parse_block(lv)
        finally:
            if var is not None:
                self.state.stack.pop()
        return n.TryCatch(self.pos_of(tok), body, var, handler)
