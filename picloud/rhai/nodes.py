"""Rhai abstract syntax tree: the contract between the parser and the compiler.

Change policy: after the first commit this module only grows (new classes, new
fields *with defaults* at the end); existing names and field meanings stay.
Changes since the first commit are listed here:

- Docstrings only (no field changes): ``FnDef.this_type`` holds Rhai's type
  name (``fn int.f()`` → ``"i64"``, ``fn float.f()`` → ``"f64"``); operand
  order of ``in``; open ranges; ``SwitchCase.is_range`` with mixed cases;
  a closure body that is not an expression is a ``Block``.

Conventions
-----------
* Every node has ``pos`` (1-based line/column of its first or operator token).
* Nodes are ``dataclass(slots=True, eq=False)``: compared and hashed by
  identity, so the compiler may key caches on them.
* ``Expr`` nodes produce a value. Rhai's control flow (``if``, ``switch``,
  loops, blocks) is an expression too; at statement level it is wrapped in an
  ``ExprStmt``. ``break``/``continue``/``return``/``throw`` are ``Expr`` nodes
  as well, because Rhai allows them on the right of ``??``.
* ``Stmt`` nodes appear only in ``Block.statements`` / ``Script.statements``.
* The value of a ``Block`` is the value of its last statement (even when it
  ends with ``;``); ``Let``/``Assign``/``Import``/``Export`` give ``()``,
  ``TryCatch`` gives its body's value (``()`` when the handler ran).
* Operators are kept as their source text (``"+"``, ``"!in"``, ``"..="``).
  Unary minus on a numeric literal is folded into the literal by the parser
  (``-1`` is ``IntLit(-1)``), as Rhai does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from picloud.rhai.errors import Position

__all__ = [
    "Node",
    "Expr",
    "Stmt",
    "IntLit",
    "FloatLit",
    "StringLit",
    "CharLit",
    "BoolLit",
    "UnitLit",
    "InterpolatedString",
    "ArrayLit",
    "MapLit",
    "Variable",
    "ThisExpr",
    "Unary",
    "Binary",
    "And",
    "Or",
    "Coalesce",
    "Index",
    "Property",
    "MethodCall",
    "FnCall",
    "Closure",
    "Block",
    "If",
    "SwitchCase",
    "Switch",
    "While",
    "Loop",
    "DoLoop",
    "For",
    "Break",
    "Continue",
    "Return",
    "Throw",
    "ExprStmt",
    "Let",
    "Assign",
    "TryCatch",
    "Import",
    "Export",
    "FnDef",
    "Script",
    "BINARY_OPS",
    "ASSIGN_OPS",
]

#: Binary operators represented by ``Binary`` (``&&``, ``||``, ``??`` have own nodes).
BINARY_OPS = frozenset(
    {
        "+", "-", "*", "/", "%", "**", "<<", ">>", "&", "|", "^",
        "==", "!=", "<", "<=", ">", ">=", "in", "!in", "..", "..=",
    }
)  # fmt: skip
#: Operators of ``Assign`` (``"="`` is plain assignment).
ASSIGN_OPS = frozenset(
    {"=", "+=", "-=", "*=", "/=", "%=", "**=", "<<=", ">>=", "&=", "|=", "^="}
)


@dataclass(slots=True, eq=False)
class Node:
    """Base of every AST node."""

    pos: Position
    """Line and column (1-based) of the node's first token, or of its operator."""


@dataclass(slots=True, eq=False)
class Expr(Node):
    """Base of nodes that produce a value."""


@dataclass(slots=True, eq=False)
class Stmt(Node):
    """Base of nodes that only appear as statements of a block or script."""


# --------------------------------------------------------------------------- literals


@dataclass(slots=True, eq=False)
class IntLit(Expr):
    """Integer literal; ``value`` is already a signed 64-bit Python ``int``."""

    value: int
    """The value (hex/octal/binary literals are 64-bit two's-complement patterns)."""


@dataclass(slots=True, eq=False)
class FloatLit(Expr):
    """Float literal."""

    value: float
    """The value."""


@dataclass(slots=True, eq=False)
class StringLit(Expr):
    """String literal (escapes resolved), including raw and backtick strings without ``${}``."""

    value: str
    """The text."""


@dataclass(slots=True, eq=False)
class CharLit(Expr):
    """Character literal ``'x'``."""

    value: str
    """Exactly one code point (the compiler wraps it in ``values.Char``)."""


@dataclass(slots=True, eq=False)
class BoolLit(Expr):
    """``true`` / ``false``."""

    value: bool
    """The value."""


@dataclass(slots=True, eq=False)
class UnitLit(Expr):
    """The unit literal ``()``."""


@dataclass(slots=True, eq=False)
class InterpolatedString(Expr):
    """Backtick string with ``${...}``: the display forms of ``parts`` concatenated."""

    parts: list[Expr]
    """``StringLit`` chunks and interpolated expressions (each a ``Block``), in order."""


@dataclass(slots=True, eq=False)
class ArrayLit(Expr):
    """Array literal ``[a, b, ...]``."""

    items: list[Expr]
    """The element expressions."""


@dataclass(slots=True, eq=False)
class MapLit(Expr):
    """Object-map literal ``#{a: 1, "b": 2}``."""

    entries: list[tuple[str, Expr]]
    """``(key, value expression)`` pairs in source order (keys are unique)."""


# --------------------------------------------------------------------------- names


@dataclass(slots=True, eq=False)
class Variable(Expr):
    """A variable read (or assignment target), e.g. ``x`` or ``m::sub::x``.

    A bare name that is not a variable may also be a script function used as a
    function pointer (``let f = foo;``); the compiler decides that.
    """

    name: str
    """The variable name (the last path segment)."""
    namespace: tuple[str, ...] = ()
    """Module path before ``::`` (``("m", "sub")`` for ``m::sub::x``; ``("global",)``)."""


@dataclass(slots=True, eq=False)
class ThisExpr(Expr):
    """The ``this`` pointer."""


# --------------------------------------------------------------------------- operators


@dataclass(slots=True, eq=False)
class Unary(Expr):
    """Prefix operator ``-x``, ``+x``, ``!x``."""

    op: str
    """``"-"``, ``"+"`` or ``"!"``."""
    operand: Expr
    """The operand."""


@dataclass(slots=True, eq=False)
class Binary(Expr):
    """Eager binary operator (both sides always evaluated); ``pos`` is the operator's."""

    op: str
    """One of ``BINARY_OPS``, as written (``"!in"``, ``"..="``).

    ``x in c`` keeps source order: ``lhs`` is the item, ``rhs`` the container
    (Rhai evaluates it as ``contains(rhs, lhs)``; ``!in`` negates that). Open
    ranges: ``a..`` has ``rhs`` = ``UnitLit`` (end ``i64::MAX``), ``..b`` has
    ``lhs`` = ``IntLit(0)``.
    """
    lhs: Expr
    """Left operand."""
    rhs: Expr
    """Right operand."""


@dataclass(slots=True, eq=False)
class And(Expr):
    """Short-circuit ``lhs && rhs`` (both sides must be ``bool``)."""

    lhs: Expr
    """Left operand."""
    rhs: Expr
    """Right operand, evaluated only when ``lhs`` is true."""


@dataclass(slots=True, eq=False)
class Or(Expr):
    """Short-circuit ``lhs || rhs`` (both sides must be ``bool``)."""

    lhs: Expr
    """Left operand."""
    rhs: Expr
    """Right operand, evaluated only when ``lhs`` is false."""


@dataclass(slots=True, eq=False)
class Coalesce(Expr):
    """``lhs ?? rhs``: ``lhs`` unless it is ``()``."""

    lhs: Expr
    """Left operand."""
    rhs: Expr
    """Right operand, evaluated only when ``lhs`` is ``()`` (may be ``Break``/``Return``...)."""


# --------------------------------------------------------------------------- chains


@dataclass(slots=True, eq=False)
class Index(Expr):
    """Indexing ``target[index]`` or ``target?[index]``; ``pos`` is the ``[``."""

    target: Expr
    """The indexed value."""
    index: Expr
    """The index expression."""
    safe: bool = False
    """``?[``: give ``()`` (and skip the rest of the chain's effect) when ``target`` is ``()``."""


@dataclass(slots=True, eq=False)
class Property(Expr):
    """Property access ``target.name`` / ``target?.name`` (map key or getter)."""

    target: Expr
    """The object."""
    name: str
    """Property name."""
    safe: bool = False
    """``?.``: give ``()`` when ``target`` is ``()``."""


@dataclass(slots=True, eq=False)
class MethodCall(Expr):
    """Method-style call ``target.name(args)`` / ``target?.name(args)``; ``this`` = target."""

    target: Expr
    """The object bound to ``this`` (written back when it is a variable/property/index)."""
    name: str
    """Method name."""
    args: list[Expr]
    """Arguments after ``this``."""
    safe: bool = False
    """``?.``: give ``()`` when ``target`` is ``()``."""


@dataclass(slots=True, eq=False)
class FnCall(Expr):
    """Function call ``name(args)``, ``m::name(args)`` or ``name!(args)``."""

    name: str
    """Function name (``"Fn"``, ``"call"``, ``"eval"``, ``"is_def_var"`` are ordinary names here)."""
    args: list[Expr]
    """Argument expressions."""
    namespace: tuple[str, ...] = ()
    """Module path before ``::`` (``("m",)`` for ``m::f()``)."""
    capture: bool = False
    """``f!(...)``: the callee runs in the caller's scope."""


@dataclass(slots=True, eq=False)
class Closure(Expr):
    """Anonymous function ``|a, b| body``; evaluates to an ``FnPtr``."""

    params: list[str]
    """Parameter names (unique)."""
    body: Expr
    """The body expression (a ``Block`` for ``|x| { ... }``, and for a statement
    body such as ``|| x = 1``, which becomes ``Block([Assign])``)."""
    captures: list[str] = field(default_factory=list)
    """Outer variables the body uses (shared with the enclosing scope), in first-use order.

    Names defined inside the closure (params, its own ``let``s) are excluded;
    variables of enclosing closures count as outer too.
    """


# --------------------------------------------------------------------------- control flow


@dataclass(slots=True, eq=False)
class Block(Expr):
    """``{ statements }``: a new scope; its value is the last statement's value."""

    statements: list[Stmt]
    """The statements (may be empty: value ``()``)."""


@dataclass(slots=True, eq=False)
class If(Expr):
    """``if cond { then } else { otherwise }``; missing else gives ``()``."""

    condition: Expr
    """Must evaluate to ``bool``."""
    then: Block
    """Branch taken when true."""
    otherwise: Block | None = None
    """Else branch; ``else if`` is a ``Block`` holding one ``ExprStmt(If)``."""


@dataclass(slots=True, eq=False)
class SwitchCase(Node):
    """One ``a | b if guard => body`` arm of a ``switch``."""

    values: list[Expr]
    """Alternative literal expressions (``IntLit``..., ``ArrayLit``/``MapLit`` of literals,
    or a ``Binary`` ``".."``/``"..="`` of two ``IntLit`` for a range)."""
    constants: list[Any]
    """The same values folded to runtime values (``RhaiRange`` for ranges, ``Char`` for chars)."""
    condition: Expr | None
    """Guard after ``if``, or ``None``."""
    body: Expr
    """Result expression (a ``Block`` for ``=> { ... }``)."""
    is_range: bool = False
    """All ``values`` are ranges (ranges are matched only against numbers).

    A mixed case such as ``1..3 | 7`` has ``is_range`` False: test each entry of
    ``constants`` for ``RhaiRange``. Rhai never matches an empty range case.
    """


@dataclass(slots=True, eq=False)
class Switch(Expr):
    """``switch subject { cases..., _ => default }``: first matching case wins."""

    subject: Expr
    """The value switched on."""
    cases: list[SwitchCase]
    """Cases in source order."""
    default: Expr | None = None
    """The ``_ =>`` body, or ``None`` (no match gives ``()``)."""


@dataclass(slots=True, eq=False)
class While(Expr):
    """``while cond { body }``; value ``()`` or the ``break`` value."""

    condition: Expr
    """Loop condition (``bool``)."""
    body: Block
    """Loop body."""


@dataclass(slots=True, eq=False)
class Loop(Expr):
    """``loop { body }``; value is the ``break`` value."""

    body: Block
    """Loop body."""


@dataclass(slots=True, eq=False)
class DoLoop(Expr):
    """``do { body } while cond`` / ``do { body } until cond`` (body runs at least once)."""

    body: Block
    """Loop body."""
    condition: Expr
    """Checked after each iteration."""
    until: bool = False
    """True for ``until`` (stop when the condition is true), False for ``while``."""


@dataclass(slots=True, eq=False)
class For(Expr):
    """``for var in iterable { body }`` / ``for (var, index) in iterable { body }``."""

    var: str
    """Loop variable (new per loop, shared by closures created in the body)."""
    index_var: str | None
    """Counter variable (0, 1, ...) or ``None``."""
    iterable: Expr
    """The iterated expression."""
    body: Block
    """Loop body."""


@dataclass(slots=True, eq=False)
class Break(Expr):
    """``break`` / ``break value`` (only inside a loop; the parser checks)."""

    value: Expr | None = None
    """The loop's value, or ``None`` for ``()``."""


@dataclass(slots=True, eq=False)
class Continue(Expr):
    """``continue`` (only inside a loop; the parser checks)."""


@dataclass(slots=True, eq=False)
class Return(Expr):
    """``return`` / ``return value``: leaves the function, or the whole script at top level."""

    value: Expr | None = None
    """The returned value, or ``None`` for ``()``."""


@dataclass(slots=True, eq=False)
class Throw(Expr):
    """``throw`` / ``throw value`` → ``ErrorRuntime(value)``; bare ``throw`` in catch re-throws."""

    value: Expr | None = None
    """The thrown value, or ``None`` (``()``, or the caught error inside a catch block)."""


# --------------------------------------------------------------------------- statements


@dataclass(slots=True, eq=False)
class ExprStmt(Stmt):
    """An expression used as a statement; its value is the statement's value."""

    expr: Expr
    """The expression."""


@dataclass(slots=True, eq=False)
class Let(Stmt):
    """``let name = value;`` / ``const NAME = value;`` / ``export const ...``."""

    name: str
    """The new variable (shadows an older one of the same name)."""
    value: Expr | None
    """Initial value, or ``None`` for ``let x;`` (value ``()``)."""
    constant: bool = False
    """Declared with ``const``."""
    exported: bool = False
    """Declared with ``export let``/``export const`` (visible to importers)."""


@dataclass(slots=True, eq=False)
class Assign(Stmt):
    """``target = value`` or compound ``target op= value``; ``pos`` is the operator's."""

    target: Expr
    """``Variable``, or an ``Index``/``Property`` chain rooted at a variable or ``this``."""
    op: str
    """One of ``ASSIGN_OPS`` (``"="`` or e.g. ``"+="``)."""
    value: Expr
    """Right-hand side."""


@dataclass(slots=True, eq=False)
class TryCatch(Stmt):
    """``try { body } catch (var) { handler }``; value = body's, or ``()`` if caught."""

    body: Block
    """Protected block."""
    catch_var: str | None
    """Receives the thrown value / error map, scoped to ``handler``; ``None`` without ``(e)``."""
    handler: Block
    """Catch block."""


@dataclass(slots=True, eq=False)
class Import(Stmt):
    """``import path as alias;`` (module resolution is the host's)."""

    path: Expr
    """Path expression (usually a ``StringLit``)."""
    alias: str | None = None
    """Module name for ``alias::x``; ``None`` for ``import "x";`` (exposes nothing)."""


@dataclass(slots=True, eq=False)
class Export(Stmt):
    """``export name;`` / ``export name as alias;`` (global level only)."""

    name: str
    """Exported variable."""
    alias: str | None = None
    """Name importers see, or ``None`` for the same name."""


@dataclass(slots=True, eq=False)
class FnDef(Node):
    """Script function ``[private] fn [type.]name(params) { body }``."""

    name: str
    """Function name."""
    params: list[str]
    """Parameter names (unique)."""
    body: Block
    """Function body."""
    private: bool = False
    """``private fn``: not exported to importers."""
    this_type: str | None = None
    """Type restriction of ``this``: ``fn int.f()`` → ``"i64"``, ``fn float.f()`` → ``"f64"``
    (Rhai maps these two), any other ``fn T.f()`` / ``fn "T".f()`` → ``"T"``.

    Duplicates are checked on (name, arity, this_type)."""


@dataclass(slots=True, eq=False)
class Script(Node):
    """A parsed script: top-level statements plus hoisted function definitions."""

    statements: list[Stmt]
    """Top-level statements in order."""
    functions: list[FnDef] = field(default_factory=list)
    """Function definitions in source order (callable before their definition)."""
    imports: list[str] = field(default_factory=list)
    """Literal string paths of every ``import "..."`` (any depth), in source order."""
