"""Script validation at save time: names, compilation, module shape and the import list.

Pure functions over the Rhai parser, shared by the admin API (the primary
gate) and the module resolver (``check_module_shape`` again at load time, in
case a row reached the database another way).

Rules:

* ``kind`` is ``endpoint`` or ``module`` (else ``InvalidInput`` ``invalid_script_kind``).
* A module's name matches ``MODULE_NAME`` and is not in ``RESERVED_MODULE_NAMES``
  (``invalid_script_name`` / ``reserved_module_name``, 400): it is what
  ``import "<name>"`` spells, so it must not shadow a standard namespace.
* An endpoint's name matches ``ENDPOINT_NAME``: 1–128 letters, digits, ``_``,
  ``.`` or ``-``, starting with a letter, digit or ``_`` (no spaces or
  slashes, so it is safe in URLs, logs and the dashboard).
* The source compiles with the default engine options, else
  ``ScriptCompileError`` (422) with ``details`` ``{line, column, kind, …}``.
* A module's top level holds only ``fn`` definitions, ``const`` / ``export
  const`` declarations whose values are constant expressions (literals,
  arrays, maps, operators and other constants — no calls, closures, blocks
  or control flow), ``export NAME [as ALIAS]`` and ``import "<literal>" [as m]``.
  Anything else is ``ScriptCompileError`` with code ``module_shape`` (422: the
  source parses but is not acceptable as a module), naming the first offending
  statement's line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from picloud.errors import InvalidInput, ScriptCompileError
from picloud.rhai import nodes as N
from picloud.rhai.engine import AST, Engine
from picloud.rhai.errors import ErrorParsing, RhaiError

__all__ = [
    "ENDPOINT_NAME",
    "MODULE_NAME",
    "RESERVED_MODULE_NAMES",
    "SCRIPT_KINDS",
    "ScriptKind",
    "ShapeProblem",
    "ValidatedScript",
    "check_module_shape",
    "check_script_name",
    "compile_source",
    "module_shape_problems",
    "validate_script",
]

ScriptKind = Literal["endpoint", "module"]
SCRIPT_KINDS: tuple[str, ...] = ("endpoint", "module")

#: What ``import "<name>"`` may name (v1.1.3, also a CHECK in the database).
MODULE_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]{0,63}", re.ASCII)
#: Names of endpoint scripts.
ENDPOINT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}", re.ASCII)
#: Standard and platform namespaces a module may not be named after (v1.1.3).
RESERVED_MODULE_NAMES = frozenset(
    {
        "log",
        "regex",
        "random",
        "time",
        "json",
        "base64",
        "hex",
        "url",
        "kv",
        "docs",
        "dead_letters",
        "http",
        "files",
        "pubsub",
        "secrets",
        "email",
        "users",
        "queue",
    }
)


@dataclass(frozen=True, slots=True)
class ValidatedScript:
    """What saving a script needs besides its source."""

    imports: list[str] = field(default_factory=list)
    """Literal ``import "<name>"`` paths, in source order, without duplicates."""


@dataclass(frozen=True, slots=True)
class ShapeProblem:
    """One top-level statement a module may not contain."""

    line: int
    column: int
    statement: str
    """What was found: ``let``, ``expression``, ``assignment``, ``const value`` …"""
    message: str


# One engine with default options; parsing does not touch its mutable state.
_ENGINE = Engine()


def check_script_name(name: Any, kind: str) -> str:
    """Return ``name`` if it is valid for ``kind``, else raise ``InvalidInput``."""
    if kind not in SCRIPT_KINDS:
        raise InvalidInput(
            f"script kind must be one of {', '.join(SCRIPT_KINDS)}",
            code="invalid_script_kind",
            details={"field": "kind"},
        )
    if not isinstance(name, str):
        raise InvalidInput(
            "script name must be a string", code="invalid_script_name", details={"field": "name"}
        )
    if kind == "module":
        if MODULE_NAME.fullmatch(name) is None:
            raise InvalidInput(
                "module name must start with a letter or _ and contain only letters, digits "
                "and _ (at most 64 characters)",
                code="invalid_script_name",
                details={"field": "name", "pattern": MODULE_NAME.pattern},
            )
        if name in RESERVED_MODULE_NAMES:
            raise InvalidInput(
                f"'{name}' is reserved for a built-in namespace",
                code="reserved_module_name",
                details={"field": "name"},
            )
    elif ENDPOINT_NAME.fullmatch(name) is None:
        raise InvalidInput(
            "script name must be 1-128 letters, digits, _, . or -, not starting with . or -",
            code="invalid_script_name",
            details={"field": "name", "pattern": ENDPOINT_NAME.pattern},
        )
    return name


def _source_line(source: str, line: int) -> str:
    lines = source.splitlines()
    return lines[line - 1][:200] if 0 < line <= len(lines) else ""


def compile_source(source: str, name: str = "") -> AST:
    """Compile with the default engine options; a failure is ``ScriptCompileError`` (422)."""
    if not isinstance(source, str):
        raise InvalidInput("script source must be a string", details={"field": "source"})
    try:
        return _ENGINE.compile(source)
    except ErrorParsing as e:
        kind = e.parse_error
        err: RhaiError = e
    except RhaiError as e:  # e.g. an internal parser failure: still the author's script
        kind = e.kind
        err = e
    details: dict[str, Any] = {"line": err.pos.line, "column": err.pos.column, "kind": kind}
    if name:
        details["name"] = name
    if err.pos.line:
        details["source_line"] = _source_line(source, err.pos.line)
    raise ScriptCompileError(str(err), details=details)


# ------------------------------------------------------------------ module shape

_LITERALS = (N.IntLit, N.FloatLit, N.StringLit, N.CharLit, N.BoolLit, N.UnitLit)


def _is_constant(e: N.Expr) -> bool:
    """Whether evaluating ``e`` runs no user or host code (values and operators only)."""
    if isinstance(e, (*_LITERALS, N.Variable)):
        return True
    if isinstance(e, N.ArrayLit):
        return all(_is_constant(x) for x in e.items)
    if isinstance(e, N.MapLit):
        return all(_is_constant(x) for _, x in e.entries)
    if isinstance(e, N.Unary):
        return _is_constant(e.operand)
    if isinstance(e, (N.Binary, N.And, N.Or, N.Coalesce)):
        return _is_constant(e.lhs) and _is_constant(e.rhs)
    if isinstance(e, N.Index):
        return _is_constant(e.target) and _is_constant(e.index)
    if isinstance(e, N.Property):
        return _is_constant(e.target)
    if isinstance(e, N.InterpolatedString):
        return all(_is_constant(p) for p in e.parts)
    if isinstance(e, N.Block):
        # Interpolation parts are single-expression blocks.
        return (
            len(e.statements) == 1
            and isinstance(e.statements[0], N.ExprStmt)
            and _is_constant(e.statements[0].expr)
        )
    return False


def _statement_name(s: N.Stmt) -> str:
    if isinstance(s, N.Let):
        return "let"
    if isinstance(s, N.Assign):
        return "assignment"
    if isinstance(s, N.TryCatch):
        return "try"
    if isinstance(s, N.ExprStmt):
        name = type(s.expr).__name__
        return {
            "FnCall": "function call",
            "MethodCall": "method call",
            "If": "if",
            "Switch": "switch",
            "While": "while",
            "Loop": "loop",
            "DoLoop": "do",
            "For": "for",
            "Block": "block",
            "Return": "return",
            "Throw": "throw",
        }.get(name, "expression")
    return type(s).__name__.lower()


def module_shape_problems(script: AST | N.Script) -> list[ShapeProblem]:
    """Every top-level statement of a module that is not ``fn``, ``const``, ``export`` or ``import``."""
    tree = script.script if isinstance(script, AST) else script
    problems: list[ShapeProblem] = []
    for s in tree.statements:
        line, column = s.pos.line, s.pos.column
        if isinstance(s, N.Let):
            if not s.constant:
                problems.append(
                    ShapeProblem(
                        line,
                        column,
                        "let",
                        f"a module may not declare variables (use const {s.name})",
                    )
                )
            elif s.value is not None and not _is_constant(s.value):
                vp = s.value.pos
                problems.append(
                    ShapeProblem(
                        vp.line or line,
                        vp.column or column,
                        "const value",
                        f"const {s.name} must be a constant expression (no calls, "
                        "closures, blocks or control flow)",
                    )
                )
        elif isinstance(s, N.Import):
            if not isinstance(s.path, N.StringLit):
                problems.append(
                    ShapeProblem(
                        line,
                        column,
                        "import",
                        'a module may only import a literal name (import "name")',
                    )
                )
        elif isinstance(s, N.Export):
            continue
        else:
            what = _statement_name(s)
            problems.append(
                ShapeProblem(
                    line,
                    column,
                    what,
                    f"a module may only contain fn, const and import at top level, found {what}",
                )
            )
    return problems


def check_module_shape(script: AST | N.Script, name: str = "") -> None:
    """Raise ``ScriptCompileError`` (code ``module_shape``) naming the first offending statement."""
    problems = module_shape_problems(script)
    if not problems:
        return
    first = problems[0]
    details: dict[str, Any] = {
        "line": first.line,
        "column": first.column,
        "kind": "module_shape",
        "statement": first.statement,
        "problems": len(problems),
    }
    if name:
        details["name"] = name
    source = script.source if isinstance(script, AST) else ""
    if source and first.line:
        details["source_line"] = _source_line(source, first.line)
    raise ScriptCompileError(
        f"{first.message} (line {first.line}, position {first.column})",
        code="module_shape",
        details=details,
    )


def validate_script(source: str, kind: str, name: str) -> ValidatedScript:
    """Check name, compilation and (for modules) shape; return the literal imports.

    Raises:
        InvalidInput: bad kind (``invalid_script_kind``), name (``invalid_script_name``) or a
            reserved module name (``reserved_module_name``).
        ScriptCompileError: the source does not compile (``script_compile_error``) or a module
            has executable top-level code (``module_shape``).
    """
    check_script_name(name, kind)
    ast = compile_source(source, name)
    if kind == "module":
        check_module_shape(ast, name)
    return ValidatedScript(imports=list(dict.fromkeys(ast.script.imports)))
