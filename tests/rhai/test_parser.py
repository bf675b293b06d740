"""Rhai parser tables: script → AST shape (as an S-expression), or error kind with line/column."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from picloud.rhai import nodes as n
from picloud.rhai.errors import ErrorParsing
from picloud.rhai.options import EngineOptions
from picloud.rhai.parser import parse
from picloud.rhai.values import RhaiRange


def sx(node: Any) -> str:
    """A compact S-expression of an AST node (positions left out)."""
    if node is None:
        return "_"
    if isinstance(node, list):
        return " ".join(sx(x) for x in node)
    if isinstance(node, (n.IntLit, n.FloatLit, n.BoolLit)):
        return repr(node.value).lower() if isinstance(node, n.BoolLit) else repr(node.value)
    if isinstance(node, n.StringLit):
        return repr(node.value)
    if isinstance(node, n.CharLit):
        return f"'{node.value}'"
    if isinstance(node, n.UnitLit):
        return "()"
    if isinstance(node, n.Variable):
        return "::".join((*node.namespace, node.name))
    if isinstance(node, n.ThisExpr):
        return "this"
    if isinstance(node, n.Unary):
        return f"({node.op} {sx(node.operand)})"
    if isinstance(node, n.Binary):
        return f"({node.op} {sx(node.lhs)} {sx(node.rhs)})"
    if isinstance(node, (n.And, n.Or, n.Coalesce)):
        op = {n.And: "&&", n.Or: "||", n.Coalesce: "??"}[type(node)]
        return f"({op} {sx(node.lhs)} {sx(node.rhs)})"
    if isinstance(node, n.Index):
        return f"({'?[]' if node.safe else '[]'} {sx(node.target)} {sx(node.index)})"
    if isinstance(node, n.Property):
        return f"({'?.' if node.safe else '.'} {sx(node.target)} {node.name})"
    if isinstance(node, n.MethodCall):
        dot = "?." if node.safe else "."
        return f"({dot}{node.name} {sx(node.target)}{' ' if node.args else ''}{sx(node.args)})"
    if isinstance(node, n.FnCall):
        name = "::".join((*node.namespace, node.name)) + ("!" if node.capture else "")
        return f"(call {name}{' ' if node.args else ''}{sx(node.args)})"
    if isinstance(node, n.ArrayLit):
        return f"[{sx(node.items)}]"
    if isinstance(node, n.MapLit):
        return "#{" + " ".join(f"{k}:{sx(v)}" for k, v in node.entries) + "}"
    if isinstance(node, n.InterpolatedString):
        return f"(str {sx(node.parts)})"
    if isinstance(node, n.Closure):
        return f"(|{','.join(node.params)}| {sx(node.body)} captures={','.join(node.captures)})"
    if isinstance(node, n.Block):
        return "{" + "; ".join(sx(s) for s in node.statements) + "}"
    if isinstance(node, n.If):
        return f"(if {sx(node.condition)} {sx(node.then)} {sx(node.otherwise)})"
    if isinstance(node, n.While):
        return f"(while {sx(node.condition)} {sx(node.body)})"
    if isinstance(node, n.Loop):
        return f"(loop {sx(node.body)})"
    if isinstance(node, n.DoLoop):
        return f"(do {sx(node.body)} {'until' if node.until else 'while'} {sx(node.condition)})"
    if isinstance(node, n.For):
        var = node.var if node.index_var is None else f"({node.var},{node.index_var})"
        return f"(for {var} {sx(node.iterable)} {sx(node.body)})"
    if isinstance(node, n.Switch):
        cases = " ".join(
            f"[{'|'.join(sx(v) for v in c.values)}{' if ' + sx(c.condition) if c.condition else ''} => {sx(c.body)}]"
            for c in node.cases
        )
        return f"(switch {sx(node.subject)} {cases} default={sx(node.default)})"
    if isinstance(node, (n.Break, n.Return, n.Throw)):
        word = type(node).__name__.lower()
        return f"({word} {sx(node.value)})" if node.value is not None else f"({word})"
    if isinstance(node, n.Continue):
        return "(continue)"
    if isinstance(node, n.ExprStmt):
        return sx(node.expr)
    if isinstance(node, n.Let):
        word = ("export " if node.exported else "") + ("const" if node.constant else "let")
        return f"({word} {node.name} {sx(node.value)})"
    if isinstance(node, n.Assign):
        return f"({node.op} {sx(node.target)} {sx(node.value)})"
    if isinstance(node, n.TryCatch):
        return f"(try {sx(node.body)} catch {node.catch_var or '_'} {sx(node.handler)})"
    if isinstance(node, n.Import):
        return f"(import {sx(node.path)} as {node.alias or '_'})"
    if isinstance(node, n.Export):
        return f"(export {node.name} as {node.alias or '_'})"
    raise AssertionError(f"no S-expression for {node!r}")


def stmts(src: str, **kw: Any) -> str:
    """The script's statements as S-expressions joined with ``;``."""
    return "; ".join(sx(s) for s in parse(src, **kw).statements)


def error_of(src: str, **kw: Any) -> tuple[str, int, int]:
    """The parse error kind and its line/column."""
    with pytest.raises(ErrorParsing) as info:
        parse(src, **kw)
    return info.value.parse_error, info.value.pos.line, info.value.pos.column


PRECEDENCE = [
    # Rhai's table, not Python's.
    ("1 + 2 << 1", "(+ 1 (<< 2 1))"),
    ("1 << 3 + 1", "(+ (<< 1 3) 1)"),
    ("2 * 3 << 1", "(* 2 (<< 3 1))"),
    ("6 & 3 == 2", "(& 6 (== 3 2))"),
    ("a | b == c", "(| a (== b c))"),
    ("a ^ b & c", "(^ a (& b c))"),
    ("a || b && c", "(|| a (&& b c))"),
    ("a < b == c", "(== (< a b) c)"),
    ("x in y == true", "(== (in x y) true)"),
    ("1 < 2 < 3", "(< (< 1 2) 3)"),
    ("a ?? b + 1", "(?? a (+ b 1))"),
    ("a ?? b < c", "(< (?? a b) c)"),
    ("1 + 2..3 * 4", "(.. (+ 1 2) (* 3 4))"),
    ("0..10 == r", "(== (.. 0 10) r)"),
    ("2 ** 3 ** 2", "(** 2 (** 3 2))"),
    ("-2.0 ** -2.0", "(** -2.0 -2.0)"),
    ("-x ** 2", "(** (- x) 2)"),
    ("10 % +4", "(% 10 4)"),
    ("5 - -+ + + - -+-5", "(- 5 5)"),
    ("!!!!true", "(! (! (! (! true))))"),
    ("x !in y", "(!in x y)"),
    ("a.b.c[1].d(2)", "(.d ([] (. (. a b) c) 1) 2)"),
    ("a?.b?[0]?.c()", "(?.c (?[] (?. a b) 0))"),
    ("-a.b", "(- (. a b))"),
    ("m::sub::x + m::f(1)", "(+ m::sub::x (call m::f 1))"),
    ("f!(1, 2,)", "(call f! 1 2)"),
    ("s[1..]", "([] s (.. 1 ()))"),
    ("s[..2]", "([] s (.. 0 2))"),
    ("1 + if c { 100 } else { 0 } / x", "(+ 1 (/ (if c {100} {0}) x))"),
    ("x ?? return 5", "(?? x (return 5))"),
]


@pytest.mark.parametrize(("src", "tree"), PRECEDENCE)
def test_precedence_follows_rhai_table(src: str, tree: str) -> None:
    """Given an expression with mixed operators, when parsed, then it groups by Rhai's precedence."""
    assert stmts(src) == tree


STATEMENTS = [
    # A statement-level `if` ends the statement; `let v = if ...` is an expression.
    ("if true { 1 } else { 2 } + 10", "(if true {1} {2}); 10"),
    ("let v = if true { 1 } else { 2 } + 10;", "(let v (+ (if true {1} {2}) 10))"),
    ("if a { 1 } else if b { 2 } else { 3 }", "(if a {1} {(if b {2} {3})})"),
    ("do { x += 1 } until x > 5", "(do {(+= x 1)} until (> x 5))"),
    ("do { x -= 1; } while x > 0;", "(do {(-= x 1)} while (> x 0))"),
    ("loop { break 42; }", "(loop {(break 42)})"),
    ("while x < 3 { x += 1; continue; }", "(while (< x 3) {(+= x 1); (continue)})"),
    ("for (v, i) in arr { print(v) }", "(for (v,i) arr {(call print v)})"),
    ('for c in "abc" {}', "(for c 'abc' {})"),
    ("let x; const Y = 1;", "(let x _); (const Y 1)"),
    ("let x = 1; x **= 2;", "(let x 1); (**= x 2)"),
    ("y[1] += 4", "(+= ([] y 1) 4)"),
    ("try { throw 1; } catch (e) { e }", "(try {(throw 1)} catch e {e})"),
    ("try { throw; } catch { 0 }", "(try {(throw)} catch _ {0})"),
    ("return;", "(return)"),
    ("{ let a = 1; a }", "{(let a 1); a}"),
    ("x || { throw; };", "(|| x {(throw)})"),
    (
        "switch x { 1 | 2 => 'a', 3 if y => 'b', 0..5 => 'c', _ => 'd' }",
        "(switch x [1|2 => 'a'] [3 if y => 'b'] [(.. 0 5) => 'c'] default='d')",
    ),
    (
        "switch x { 1 => { a } 2 => if b { c } _ => () }",
        "(switch x [1 => {a}] [2 => (if b {c} _)] default=())",
    ),
    ('import "a/b" as m; m::f()', "(import 'a/b' as m); (call m::f)"),
    ('import "x";', "(import 'x' as _)"),
    ("let a = 1; export a as b;", "(let a 1); (export a as b)"),
    ("export const X = 1;", "(export const X 1)"),
    ("`a${x}b${ `c${y}` }`", "(str 'a' {x} 'b' {(str 'c' {y})})"),
    ("`${}` + `plain`", "(+ (str {}) 'plain')"),
    ('#{a: 1, "b c": 2, `d`: 3,}', "#{a:1 b c:2 d:3}"),
    ("[1, [2, 3],]", "[1 [2 3]]"),
    ("let f = |a, b| a + b + c;", "(let f (|a,b| (+ (+ a b) c) captures=c))"),
    (
        "let x = 1; let f = || { let y = 2; x + y };",
        "(let x 1); (let f (|| {(let y 2); (+ x y)} captures=x))",
    ),
    ("let f = |x| || x + z;", "(let f (|x| (|| (+ x z) captures=x,z) captures=z))"),
    ("#{ foo: || x = this }", "#{foo:(|| {(= x this)} captures=x)}"),
    ("fn foo() {} let f = || foo;", "(let f (|| foo captures=))"),
    ("42.type_of()", "(.type_of 42)"),
    ("f.call(1).curry(2)", "(.curry (.call f 1) 2)"),
    ("(x)", "x"),
    ("-9223372036854775808", "-9223372036854775808"),
    ("-(9223372036854775808)", "-9.223372036854776e+18"),
]


@pytest.mark.parametrize(("src", "tree"), [s for s in STATEMENTS if s[1]])
def test_statement_shapes(src: str, tree: str) -> None:
    """Given statements of every kind, when parsed, then the AST has the expected shape."""
    assert stmts(src) == tree


def test_functions_are_hoisted_in_source_order_with_their_flags() -> None:
    """Given function definitions, then Script.functions lists them with private flag and this-type."""
    script = parse(
        'fn a(x, y,) { x } private fn b() { 1 } fn int.c() { this } fn "Point".d(k) { k } fn a(x) { x }'
    )
    assert [(f.name, f.params, f.private, f.this_type) for f in script.functions] == [
        ("a", ["x", "y"], False, None),
        ("b", [], True, None),
        ("c", [], False, "i64"),
        ("d", ["k"], False, "Point"),
        ("a", ["x"], False, None),
    ]
    assert script.statements == []


def test_imports_record_literal_paths_at_any_depth() -> None:
    """Given imports at top level, in blocks and in functions, then Script.imports lists the literal paths."""
    script = parse('import "a" as a; fn f() { import "b" as b; } { import "c"; } import x as y;')
    assert script.imports == ["a", "b", "c"]


def test_switch_cases_carry_folded_constants() -> None:
    """Given literal switch cases, then each case has its runtime constants (ranges as RhaiRange)."""
    (stmt,) = parse(
        "switch x { 'a' | \"b\" => 1, [1, 2] => 2, 0..=9 => 3, -5.. => 4, () => 5 }"
    ).statements
    assert isinstance(stmt, n.ExprStmt) and isinstance(stmt.expr, n.Switch)
    consts = [c.constants for c in stmt.expr.cases]
    assert consts == [
        ["a", "b"],
        [[1, 2]],
        [RhaiRange(0, 9, True)],
        [RhaiRange(-5, (1 << 63) - 1)],
        [None],
    ]
    assert [c.is_range for c in stmt.expr.cases] == [False, False, True, True, False]


def test_expression_mode_accepts_plain_expressions() -> None:
    """Given eval_expression-style input, then if/switch with expression branches and closures parse."""
    script = parse(
        "if x > 0 { 42 } else { switch x { 0 => 1, _ => [1].map(|v| v * 2) } }",
        expression_only=True,
    )
    assert len(script.statements) == 1
    assert stmts(
        "[1].map(|v| { v * 2 }).reduce(|a, v| if a > v { a } else { v }, 0)", expression_only=True
    ) == ("(.reduce (.map [1] (|v| {(* v 2)} captures=)) (|a,v| (if (> a v) {a} {v}) captures=) 0)")


ERRORS = [
    # (source, options, parse_error, line, column)
    ("[1, 2, 3]['x']", {}, "MalformedIndexExpr", 1, 11),
    ("#{a: 1}[0]", {}, "MalformedIndexExpr", 1, 9),
    ("(x+y) = 42;", {}, "AssignmentToInvalidLHS", 1, 3),
    ("x.foo() = 42;", {}, "AssignmentToInvalidLHS", 1, 3),
    ("123 = 42;", {}, "AssignmentToConstant", 1, 1),
    ("const x = 1;\n{ x += 1; }", {}, "AssignmentToConstant", 2, 3),
    ("let x = 0;\nbreak;", {}, "LoopBreak", 2, 1),
    ("loop { let f = || { continue; }; }", {}, "LoopBreak", 1, 21),
    ("fn f(a) {}\nfn f(b) {}", {}, "FnDuplicatedDefinition", 2, 1),
    ("fn f(a, b, a) {}", {}, "FnDuplicatedParam", 1, 12),
    ("|a, a| a", {}, "FnDuplicatedParam", 1, 5),
    ("x.f!()", {}, "MalformedCapture", 1, 3),
    ("switch x { _ => 1, 2 => 3 }", {}, "WrongSwitchDefaultCase", 1, 12),
    ("switch x { 1 => 1, _ if y => 3 }", {}, "WrongSwitchCaseCondition", 1, 22),
    ("switch x { 1..5 => 1, 7 => 3 }", {}, "WrongSwitchIntegerCase", 1, 23),
    ("switch x { y => 1 }", {}, "ExprExpected", 1, 12),
    ("{ export x; }", {}, "WrongExport", 1, 3),
    ("{ fn f() {} }", {}, "WrongFnDefinition", 1, 3),
    ("fn f() { fn g() {} }", {}, "WrongFnDefinition", 1, 10),
    ("let var = 1;", {}, "Reserved", 1, 5),
    ("x.print()", {}, "Reserved", 1, 3),
    ("a ~ b", {}, "UnknownOperator", 1, 3),
    ("x.", {}, "PropertyExpected", 1, 3),
    ("#{`a${1}`: 1}", {}, "PropertyExpected", 1, 3),
    ("#{a: 1, a: 2}", {}, "DuplicatedProperty", 1, 9),
    ("let x = 1\nlet y = 2;", {}, "MissingToken", 2, 1),
    ("f(1, 2", {}, "MissingToken", 1, 7),
    ("(1 + 2", {}, "MissingToken", 1, 7),
    ("1 +", {}, "UnexpectedEOF", 1, 4),
    ("if x = 1 { }", {}, "BadInput", 1, 6),
    ("if 1 { }", {}, "MismatchedType", 1, 4),
    ("for x in 42 {}", {}, "MismatchedType", 1, 10),
    ("for (a, a) in x {}", {}, "DuplicatedVariable", 1, 9),
    ("this", {}, "BadInput", 1, 1),
    ("let x = [1, 2, 3];", {"max_array_size": 3}, "LiteralTooLarge", 1, 17),
    ("#{a: 1, b: 2}", {"max_map_size": 1}, "LiteralTooLarge", 1, 12),
    ('let s = "0123456789A";', {"max_string_size": 10}, "LiteralTooLarge", 1, 9),
    ("fn a() {} fn b() {}", {"max_functions": 1}, "TooManyFunctions", 1, 11),
    ("let f = || 1;", {"max_functions": 0}, "TooManyFunctions", 1, 9),
    ("let y = x;", {"strict_variables": True}, "VariableUndefined", 1, 9),
    ("fn f() { m::x }", {"strict_variables": True}, "ModuleUndefined", 1, 10),
    ("let x = 1; let x = 2;", {"allow_shadowing": False}, "VariableExists", 1, 16),
    ("let x = if a { 1 } else { 2 };", {"allow_if_expression": False}, "BadInput", 1, 9),
    ("let x = switch a { _ => 1 };", {"allow_switch_expression": False}, "BadInput", 1, 9),
    ("let x = { 1 };", {"allow_statement_expression": False}, "BadInput", 1, 9),
    ("let x = loop { break 1; };", {"allow_loop_expressions": False}, "BadInput", 1, 9),
    ("loop { }", {"allow_looping": False}, "BadInput", 1, 1),
    ("let f = |x| x;", {"allow_anonymous_fn": False}, "BadInput", 1, 9),
    ("while x {}", {"disabled_symbols": frozenset({"while"})}, "Reserved", 1, 1),
    ("x += 1;", {"disabled_symbols": frozenset({"+="})}, "UnknownOperator", 1, 3),
    ("print(1)", {"disabled_symbols": frozenset({"print"})}, "BadInput", 1, 1),
]


@pytest.mark.parametrize(("src", "opts", "kind", "line", "column"), ERRORS)
def test_parse_errors_have_rhai_kind_and_position(
    src: str, opts: dict[str, Any], kind: str, line: int, column: int
) -> None:
    """Given an invalid script, when parsed, then ErrorParsing has Rhai's kind at the offending token."""
    assert error_of(src, options=EngineOptions(**opts)) == (kind, line, column)


@pytest.mark.parametrize(
    "src",
    [
        "40 + 2;",
        "40 + { 2 }",
        "x = 42",
        "let x = 42",
        "do { 1 } while x",
        "if x { let y = 1; y } else { 2 }",
        "|x| {}",
        "[1].map(|x| { let r = 2; x * r })",
        "switch x { 1 => { 2 } }",
        # Stricter than rhai.rs, which accepts these two forms through its statement parser.
        "if c { x = 1 } else { 2 }",
        "[1].map(|x| x = 1)",
        "|| let y = 1",
        "|| loop { break 1; }",
        "|| { x += 1 }",
    ],
)
def test_expression_mode_rejects_statements(src: str) -> None:
    """Given eval_expression input with statements, blocks, `;` or assignments, then it is a parse error."""
    with pytest.raises(ErrorParsing):
        parse(src, expression_only=True)


def test_strict_variables_accept_scope_params_loop_vars_and_imports() -> None:
    """Given strict mode, then host scope names, params, loop/catch vars, functions and imports are declared."""
    strict = EngineOptions(strict_variables=True)
    parse(
        'import "m" as m; fn g(a) { a + K + m::x } let f = g; '
        "for (v, i) in [1] { v + i } try {} catch (e) { e } h + K + m::y",
        strict, scope_names=["h"], scope_constants=["K"],
    )  # fmt: skip
    with pytest.raises(ErrorParsing):
        parse("fn g() { h }", strict)


def test_expression_depth_limits_are_global_and_per_function() -> None:
    """Given nesting past max_expr_depth / max_function_expr_depth, then ExprTooDeep, never RecursionError."""
    deep = "(" * 40 + "1" + ")" * 40
    assert error_of(deep)[0] == "ExprTooDeep"
    assert error_of(f"fn f() {{ {'(' * 20}1{')' * 20} }}")[0] == "ExprTooDeep"
    parse("(" * 20 + "1" + ")" * 20)
    for unlimited in (EngineOptions(max_expr_depth=0), EngineOptions(max_expr_depth=100_000)):
        assert error_of("[" * 50_000, options=unlimited)[0] == "ExprTooDeep"


def test_long_flat_chain_counts_depth_like_rhai() -> None:
    """Given `1 + 2 + ...`, then each operator adds one level, as Rhai counts it."""
    opts = EngineOptions(max_expr_depth=32, max_function_expr_depth=16)
    parse(" + ".join(["1"] * 31), opts)
    assert error_of(" + ".join(["1"] * 32), options=opts)[0] == "ExprTooDeep"


def test_parse_never_raises_anything_but_error_parsing() -> None:
    """Given truncated prefixes of a rich script, then parse either succeeds or raises ErrorParsing."""
    src = (
        "fn f(a, b) { if a { b } else { switch a { 1 => `x${a}`, _ => #{k: [1, 2]} } } }\n"
        "let g = |x| x?.y?[0] ?? -1; for (v, i) in 0..=3 { do { v -= 1 } until v < 0 }\n"
        'try { import "m" as m; m::f!(1) } catch (e) { throw e; } export const X = 0x_ff;'
    )
    for end in range(len(src) + 1):
        try:
            parse(src[:end])
        except ErrorParsing:
            pass


def test_three_hundred_line_script_parses() -> None:
    """Given a 300-line script, then it parses into every function and statement.

    Its speed is measured in bench/rhai_bench.py, not asserted here."""
    lines = [
        "fn helper(a, b) { let x = a * b + 1; if x > 10 { x } else { -x } }",
        "let total = 0;",
        "for (v, i) in [1, 2, 3, 4] { total += helper(v, i) ** 2 % 7; }",
        'let m = #{ name: "n", list: [1, 2.5, "s", \'c\'], nested: #{ k: total >> 1 } };',
        "m.list[1] = switch total % 3 { 0 => `zero ${total}`, 1 | 2 => m.nested.k, _ => () };",
        'let f = |x| x.len() > 2 && total != 0 || m?.name == "n";',
        "while total > 0 { total -= 1; if total == 5 { break; } }",
        "try { throw #{ code: 1 }; } catch (e) { print(e.code); }",
    ]
    body = "\n".join(line.replace("helper", f"helper{i}") for i in range(38) for line in lines)
    assert body.count("\n") >= 300
    script = parse(body)
    assert len(script.functions) == 38
    assert len(script.statements) == 38 * (len(lines) - 1)


_FUZZ_WORDS = [
    "let", "const", "x", "f", "=", "+=", "+", "-", "**", "(", ")", "()", "[", "]", "{", "}", "#{", ":", ",", ";",
    "if", "else", "while", "loop", "do", "until", "for", "in", "!in", "switch", "=>", "_", "|", "||", "&&", "??",
    "?.", "?[", ".", "..", "..=", "fn", "private", "return", "break", "continue", "throw", "try", "catch", "import",
    "export", "as", "this", "1", "2.5", "0x1f", '"s"', "'c'", "`a${", "`", "}`", "::", "!", "true", "print", "var",
    "\n", "/*", "*/", "#", "@", "\\", "'",
]  # fmt: skip


@given(st.lists(st.sampled_from(_FUZZ_WORDS), max_size=30), st.booleans())
@settings(max_examples=300, deadline=None)
def test_random_token_soup_only_ever_raises_error_parsing(
    words: list[str], expression_only: bool
) -> None:
    """Given arbitrary token sequences, when parsed, then the result is an AST or ErrorParsing, nothing else."""
    try:
        parse(" ".join(words), expression_only=expression_only)
    except ErrorParsing:
        pass
