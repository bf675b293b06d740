"""Script validation: names, compile errors with positions, module shape, imports."""

from __future__ import annotations

import pytest

from picloud.errors import InvalidInput, PicloudError, ScriptCompileError
from picloud.rhai import Engine
from picloud.rhai.parser import parse
from picloud.scripts.validation import (
    RESERVED_MODULE_NAMES,
    ValidatedScript,
    check_module_shape,
    module_shape_problems,
    validate_script,
)
from picloud.sdk import NAMESPACES

# ------------------------------------------------------------------ names


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("module", "util"),
        ("module", "_private"),
        ("module", "Str2"),
        ("module", "a" * 64),
        ("module", "JSON"),
        ("module", "json_helpers"),
        ("endpoint", "checkout"),
        ("endpoint", "orders.create-v2"),
        ("endpoint", "9lives"),
        ("endpoint", "_x"),
        ("endpoint", "json"),
        ("endpoint", "a" * 128),
    ],
)
def test_valid_names_are_accepted(kind: str, name: str) -> None:
    # Given a valid name for its kind, then validation passes
    assert validate_script("fn f() { 1 }", kind, name) == ValidatedScript([])


@pytest.mark.parametrize(
    ("kind", "name", "code"),
    [
        ("module", "", "invalid_script_name"),
        ("module", "9lives", "invalid_script_name"),
        ("module", "has-dash", "invalid_script_name"),
        ("module", "has.dot", "invalid_script_name"),
        ("module", "a" * 65, "invalid_script_name"),
        ("module", "ünï", "invalid_script_name"),
        ("module", "util\n", "invalid_script_name"),
        ("endpoint", "", "invalid_script_name"),
        ("endpoint", "-x", "invalid_script_name"),
        ("endpoint", ".hidden", "invalid_script_name"),
        ("endpoint", "a b", "invalid_script_name"),
        ("endpoint", "a/b", "invalid_script_name"),
        ("endpoint", "a" * 129, "invalid_script_name"),
        ("endpoint", "x\n", "invalid_script_name"),
        ("lambda", "x", "invalid_script_kind"),
        ("Module", "x", "invalid_script_kind"),
    ],
)
def test_invalid_names_and_kinds_are_400(kind: str, name: str, code: str) -> None:
    # Given a bad name or kind, then validation refuses it before compiling
    with pytest.raises(InvalidInput) as info:
        validate_script("this does not even parse (", kind, name)
    assert info.value.code == code and info.value.http_status == 400


def test_a_name_that_is_not_a_string_is_400() -> None:
    with pytest.raises(InvalidInput) as info:
        validate_script("1", "module", 7)  # type: ignore[arg-type]
    assert info.value.code == "invalid_script_name"


@pytest.mark.parametrize("name", sorted(RESERVED_MODULE_NAMES))
def test_reserved_module_names_are_refused(name: str) -> None:
    # Given a module named after a built-in namespace, then it is refused
    with pytest.raises(InvalidInput) as info:
        validate_script("fn f() { 1 }", "module", name)
    assert info.value.code == "reserved_module_name" and info.value.http_status == 400


def test_every_stdlib_namespace_is_a_reserved_module_name() -> None:
    # Given the namespaces install_stdlib registers, then none can be shadowed by a module
    assert set(NAMESPACES) <= RESERVED_MODULE_NAMES
    assert len(RESERVED_MODULE_NAMES) == 18


# ------------------------------------------------------------------ compile errors


@pytest.mark.parametrize(
    ("source", "line", "column", "parse_error"),
    [
        ("let x = ;", 1, 9, "BadInput"),
        ("fn ok() { 1 }\nlet y = (1 + ;\n", 2, 14, "BadInput"),
        ('let s = "unterminated', 1, 9, "BadInput"),
        ("fn f() {} fn f() {}", 1, 11, "FnDuplicatedDefinition"),
        ("let x = 1\nlet y = 2;", 2, 1, "MissingToken"),
        ("x = [1, 2", 1, 10, "MissingToken"),
        ("let debug = 1;", 1, 5, "Reserved"),
        ("if true { 1 } else", 1, 19, "MissingToken"),
    ],
)
@pytest.mark.parametrize("kind", ["endpoint", "module"])
def test_compile_errors_are_422_with_line_column_and_kind(
    source: str, line: int, column: int, parse_error: str, kind: str
) -> None:
    # Given a source that does not compile
    with pytest.raises(ScriptCompileError) as info:
        validate_script(source, kind, "m")
    err = info.value
    # Then it is a 422 naming where and what, with Rhai's message
    assert err.http_status == 422 and err.code == "script_compile_error"
    assert err.details is not None
    assert (err.details["line"], err.details["column"]) == (line, column), err.details
    assert err.details["kind"] == parse_error
    assert err.details["name"] == "m"
    assert err.details["source_line"] == source.splitlines()[line - 1]
    assert f"line {line}, position {column}" in err.message


def test_compile_error_kind_is_rhais_parse_error_kind() -> None:
    # Given a parse error, then details.kind is Rhai's ParseErrorType name
    with pytest.raises(ScriptCompileError) as info:
        validate_script("fn f() {} fn f() {}", "endpoint", "e")
    assert info.value.details is not None
    assert info.value.details["kind"] == "FnDuplicatedDefinition"
    body = info.value.to_dict()["error"]
    assert body["code"] == "script_compile_error" and body["details"]["line"] == 1


def test_a_source_that_is_not_a_string_is_400() -> None:
    with pytest.raises(InvalidInput):
        validate_script(None, "endpoint", "e")  # type: ignore[arg-type]


# ------------------------------------------------------------------ module shape

GOOD_MODULES = [
    "",
    "// only a comment",
    "fn double(x) { x * 2 }",
    "private fn helper() { 1 } fn api() { helper() }",
    "const LIMIT = 10;",
    'export const VERSION = "1.2";',
    "const A = 60 * 60; const B = A * 24; const C = -B;",
    "const M = #{a: [1, 2.5, \"x\", 'c', true, ()], b: #{c: 1 .. 3}};",
    "const S = `v${1 + 1}`;",
    "const T = [1, 2][0] + #{x: 1}.x;",
    "const U = () ?? 1; const V = true && !false || false;",
    "const W;",
    "const Y = { 1 };",
    'import "other" as o; const X = o::VALUE;',
    'import "other";',
    "const A = 1; export A as B;",
    'fn f() { let x = 1; loop { break; } print(x); import "deep" as d; d::g() }',
    "fn int.twice() { this * 2 }",
]


@pytest.mark.parametrize("source", GOOD_MODULES)
def test_modules_with_only_fn_const_and_import_pass(source: str) -> None:
    # Given a module of declarations only, then it validates
    validate_script(source, "module", "m")
    assert module_shape_problems(parse(source)) == []


BAD_MODULES = [
    ("let x = 1;", 1, 1, "let"),
    ("fn f() { 1 }\nlet counter = 0;", 2, 1, "let"),
    ("export let x = 1;", 1, 8, "let"),
    ('print("loaded");', 1, 1, "function call"),
    ("const A = 1;\nA + 1", 2, 3, "expression"),  # a binary expression is at its operator
    ("1;", 1, 1, "expression"),
    ('"text";', 1, 1, "expression"),
    ("const A = [1];\nA.push(2);", 2, 3, "method call"),
    ("if true { 1 }", 1, 1, "if"),
    ("switch 1 { _ => 2 }", 1, 1, "switch"),
    ("while false {}", 1, 1, "while"),
    ("loop { break; }", 1, 1, "loop"),
    ("do { } while false;", 1, 1, "do"),
    ("for i in 0..3 {}", 1, 1, "for"),
    ("{ 1 }", 1, 1, "block"),
    ("return 1;", 1, 1, "return"),
    ('throw "x";', 1, 1, "throw"),
    ("try { 1 } catch { }", 1, 1, "try"),
    ("fn f() {}\n  x = 2;", 2, 5, "assignment"),
    ("let x; x = 1;", 1, 1, "let"),
    ("const A = make();", 1, 11, "const value"),
    ('const A = kv::collection("x");', 1, 15, "const value"),
    ("const A = [1, f()];", 1, 11, "const value"),
    ("const A = |x| x;", 1, 11, "const value"),
    ("const A = if true { 1 } else { 2 };", 1, 11, "const value"),
    ("const A = `x${f()}`;", 1, 11, "const value"),
    ('const A = "a".len();', 1, 15, "const value"),
    ('const P = "x"; import P as m;', 1, 16, "import"),
]


@pytest.mark.parametrize(("source", "line", "column", "statement"), BAD_MODULES)
def test_modules_with_executable_top_level_code_are_refused(
    source: str, line: int, column: int, statement: str
) -> None:
    # Given a module whose top level would run code
    with pytest.raises(ScriptCompileError) as info:
        validate_script(source, "module", "m")
    err = info.value
    # Then it is a 422 module_shape naming the first offending statement
    assert err.code == "module_shape" and err.http_status == 422
    assert err.details is not None
    assert (err.details["line"], err.details["column"], err.details["statement"]) == (
        line,
        column,
        statement,
    )
    assert err.details["kind"] == "module_shape"
    assert f"line {line}, position {column}" in err.message


@pytest.mark.parametrize(("source", "line", "column", "statement"), BAD_MODULES)
def test_endpoints_may_run_top_level_code(
    source: str, line: int, column: int, statement: str
) -> None:
    # Given the same sources as endpoints, then they are fine (shape applies to modules only)
    validate_script(source, "endpoint", "e")


def test_every_problem_is_listed_and_the_first_is_reported() -> None:
    # Given a module with three offending statements
    source = "let a = 1;\nfn ok() {}\nprint(a);\nconst C = f();"
    problems = module_shape_problems(parse(source))
    # Then all are found in source order
    assert [(p.line, p.statement) for p in problems] == [
        (1, "let"),
        (3, "function call"),
        (4, "const value"),
    ]
    with pytest.raises(ScriptCompileError) as info:
        validate_script(source, "module", "m")
    assert info.value.details is not None and info.value.details["problems"] == 3


@pytest.mark.parametrize("form", ["ast", "script"])
def test_check_module_shape_runs_at_load_time_on_an_ast_or_a_tree(form: str) -> None:
    # Given a compiled module that reached the database without the API's checks
    ast = Engine().compile("fn f() { 1 }\nlet x = 1;")
    target = ast if form == "ast" else ast.script
    # When the resolver re-checks it, then it is refused the same way
    with pytest.raises(ScriptCompileError) as info:
        check_module_shape(target, "util")
    assert info.value.code == "module_shape"
    assert info.value.details is not None and info.value.details["line"] == 2
    assert info.value.details["name"] == "util"
    # And a good module passes
    check_module_shape(Engine().compile("fn f() { 1 }"))


# ------------------------------------------------------------------ imports


@pytest.mark.parametrize(
    ("source", "imports"),
    [
        ("1", []),
        ('import "util" as u; u::f()', ["util"]),
        ('import "b" as b; import "a" as a; import "b" as again;', ["b", "a"]),
        ('fn f() { import "inner" as i; i::g() } import "outer" as o;', ["inner", "outer"]),
        ('let p = "dyn"; import p as m;', []),
        ('// import "commented" as c;\nlet s = "import \\"in string\\"";', []),
    ],
)
def test_imports_are_the_literal_paths_in_source_order(source: str, imports: list[str]) -> None:
    # Given an endpoint source, then imports lists each literal path once, in order
    assert validate_script(source, "endpoint", "e").imports == imports


def test_module_imports_are_recorded_too() -> None:
    got = validate_script('import "a" as a; import "b"; fn f() { a::g() }', "module", "m")
    assert got.imports == ["a", "b"]


def test_every_validation_error_is_a_picloud_error() -> None:
    # Given any refusal, then the HTTP layer can render it (never a bare Python error)
    for args in [("(", "endpoint", "e"), ("let x = 1;", "module", "m"), ("1", "module", "json")]:
        with pytest.raises(PicloudError):
            validate_script(*args)
