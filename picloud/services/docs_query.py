"""The documents query DSL, compiled to a parameterised SQL condition and ORDER BY.

A filter is a map. Its keys are dotted field paths (``"user.email"``, at most
:data:`MAX_PATH_DEPTH` segments) or the operators ``$and``, ``$or``, ``$not``,
plus the modifiers ``$sort`` and ``$limit`` at the top level only. A field's
value is either a literal (implicit equality) or an operator map using
``$eq $ne $gt $gte $lt $lte $in $exists $not``. Everything else is refused
with a :class:`QueryError` naming the operator and the path.

Every value and every path segment becomes a ``$n`` parameter; the only text
spliced into the SQL is what this module writes itself (operators, column
names given by the caller, the numbers of parameters). Semantics, chosen so
a comparison never depends on how PostgreSQL would cast across types:

* Equality is JSON equality by type: ``1`` equals ``1.0`` but never ``"1"``
  or ``true``. A scalar equality is ``data @> {"a": {"b": v}}`` so the GIN
  ``jsonb_path_ops`` index answers it; maps and arrays add an exact ``=``
  check (containment alone would also match supersets).
* ``$gt $gte $lt $lte`` take a number or a string and match only fields of
  that same JSON type: numbers compare as numbers, strings by code point
  (``COLLATE "C"``). A field of another type, ``null`` or missing never matches.
* ``null`` (Rhai ``()``) is a value: ``#{a: ()}`` matches an explicit null,
  not a missing field. ``$exists`` tells present (even null) from missing.
* A missing field matches no comparison; ``$ne`` and ``$not`` are the exact
  negations, so they do match it. Paths only walk into maps: a segment never
  indexes an array, and a key containing ``.`` cannot be addressed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from picloud.errors import InvalidInput

__all__ = [
    "MAX_CONDITIONS",
    "MAX_NESTING",
    "MAX_PATH_DEPTH",
    "MAX_SORT_FIELDS",
    "CompiledQuery",
    "QueryError",
    "compile_filter",
    "plain_value",
]

#: Most segments in a dotted field path.
MAX_PATH_DEPTH = 5
#: Most nested ``$and``/``$or``/``$not`` levels.
MAX_NESTING = 16
#: Most leaf conditions (and ``$in`` members) in one filter: bounds the SQL size.
MAX_CONDITIONS = 500
#: Most fields in one ``$sort``.
MAX_SORT_FIELDS = 8
#: Longest dotted path accepted, in characters.
MAX_PATH_CHARS = 1024

_RANGE = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_FIELD_OPS = frozenset({"$eq", "$ne", "$in", "$exists", "$not", *_RANGE})
_LOGICAL = frozenset({"$and", "$or", "$not"})
_MODIFIERS = frozenset({"$sort", "$limit"})

#: Sort rank of each JSON type (missing sorts first: its typeof is NULL → 0).
_RANK = (
    "CASE jsonb_typeof({x}) WHEN 'null' THEN 1 WHEN 'boolean' THEN 2 WHEN 'number' THEN 3"
    " WHEN 'string' THEN 4 WHEN 'array' THEN 5 WHEN 'object' THEN 6 ELSE 0 END"
)


class QueryError(InvalidInput):
    """400 ``invalid_query``: the filter uses something the DSL refuses (nothing is run)."""

    code = "invalid_query"

    def __init__(self, message: str, *, operator: str | None = None, path: str | None = None):
        where = f" at {path!r}" if path else " at the top level"
        text = (
            f"{message}{where}" if operator is None else f"operator {operator!r}{where}: {message}"
        )
        details: dict[str, Any] = {}
        if operator is not None:
            details["operator"] = operator
        if path:
            details["path"] = path
        super().__init__(text, details=details or None)


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    """A WHERE condition, an ORDER BY list and a limit, with their parameters in order."""

    where: str
    order_by: str
    limit: int | None
    params: list[Any] = field(default_factory=list)


def plain_value(value: Any) -> Any:
    """``value`` checked to be plain JSON (maps with string keys, finite floats)."""
    t = type(value)
    if value is None or t is bool or t is int:
        return value
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("strings cannot contain the NUL character")
        return str(value)  # a Rhai char becomes a plain string
    if t is float:
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a JSON number")
        return value
    if t is list:
        return [plain_value(v) for v in value]
    if t is dict:
        return {str(k): plain_value(v) for k, v in value.items()}
    raise ValueError(f"a {t.__name__} is not a JSON value")


def compile_filter(
    filter: Mapping[str, Any] | None,
    *,
    column: str = "data",
    first_param: int = 1,
    tiebreak: str = "seq",
    max_limit: int | None = None,
    convert: Callable[[Any], Any] = plain_value,
) -> CompiledQuery:
    """Compile ``filter`` into SQL over the jsonb ``column``; parameters start at ``$first_param``.

    Args:
        tiebreak: column ordered ascending after the ``$sort`` keys (the default order).
        max_limit: largest ``$limit`` accepted (``None``: any positive integer).
        convert: turns each operand into plain JSON (e.g. a Blob into its marker);
            a ``ValueError`` from it is reported as a wrong operand.

    Raises:
        QueryError: anything the DSL refuses, naming the operator and path.
    """
    c = _Compiler(column, first_param, convert)
    if filter is None:
        filter = {}
    if not isinstance(filter, Mapping):
        raise QueryError(f"a filter must be a map, got {_tname(filter)}")
    conditions: list[str] = []
    sort: Any = None
    limit: int | None = None
    for key in filter:
        if not isinstance(key, str):
            raise QueryError(f"filter keys must be strings, got {_tname(key)}")
    for key, value in filter.items():
        if key == "$sort":
            sort = value
        elif key == "$limit":
            limit = _limit(value, max_limit)
        else:
            conditions.append(c.entry(key, value, 0))
    order = [*c.sort(sort), f"{tiebreak} ASC"]
    return CompiledQuery(
        where=_and(conditions), order_by=", ".join(order), limit=limit, params=c.params
    )


def _tname(value: Any) -> str:
    from picloud.rhai.values import type_name

    return type_name(value)


def _and(parts: list[str]) -> str:
    if not parts:
        return "TRUE"
    return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"


def _limit(value: Any, max_limit: int | None) -> int:
    if type(value) is not int or value < 1:
        raise QueryError(f"needs a positive integer, got {value!r}", operator="$limit")
    if max_limit is not None and value > max_limit:
        raise QueryError(f"at most {max_limit}, got {value}", operator="$limit")
    return value


def _nest(path: list[str], value: Any) -> Any:
    """``{"a": {"b": value}}`` for the path ``a.b``: the containment probe."""
    for segment in reversed(path):
        value = {segment: value}
    return value


class _Compiler:
    """Walks one filter, collecting SQL fragments and their parameters."""

    def __init__(self, column: str, first_param: int, convert: Callable[[Any], Any]) -> None:
        self.column = column
        self.first = first_param
        self.convert = convert
        self.params: list[Any] = []
        self.leaves = 0
        self._paths: dict[str, str] = {}

    def param(self, value: Any, cast: str) -> str:
        """Add a parameter; its placeholder with an explicit cast."""
        self.params.append(value)
        return f"${self.first + len(self.params) - 1}::{cast}"

    def _count(self, n: int, op: str | None, path: str | None) -> None:
        self.leaves += n
        if self.leaves > MAX_CONDITIONS:
            raise QueryError(
                f"the filter has more than {MAX_CONDITIONS} conditions", operator=op, path=path
            )

    # ---------------------------------------------------------------- structure

    def entry(self, key: str, value: Any, depth: int) -> str:
        """One key of a filter map: a logical operator or a field condition."""
        if key.startswith("$"):
            if key in _MODIFIERS:
                raise QueryError("is only allowed at the top level of a filter", operator=key)
            if key not in _LOGICAL:
                raise QueryError("is not supported", operator=key)
            if depth >= MAX_NESTING:
                raise QueryError(f"nesting deeper than {MAX_NESTING} levels", operator=key)
            if key == "$not":
                return f"NOT {self.filter_map(value, depth + 1, key)}"
            if type(value) is not list or not value:
                raise QueryError(
                    f"needs a non-empty array of filter maps, got {_tname(value)}", operator=key
                )
            parts = [self.filter_map(v, depth + 1, key) for v in value]
            joiner = " AND " if key == "$and" else " OR "
            return parts[0] if len(parts) == 1 else "(" + joiner.join(parts) + ")"
        segments = self.path(key)
        return self.field(key, segments, value, depth)

    def filter_map(self, value: Any, depth: int, op: str) -> str:
        """A nested filter map (of ``$and``/``$or``/``$not``) as one parenthesised condition."""
        if type(value) is not dict:
            raise QueryError(f"needs a filter map, got {_tname(value)}", operator=op)
        return "(" + _and([self.entry(k, v, depth) for k, v in value.items()]) + ")"

    def path(self, key: str) -> list[str]:
        """The segments of a dotted path (checked)."""
        if len(key) > MAX_PATH_CHARS:
            raise QueryError(f"a field path is longer than {MAX_PATH_CHARS} characters")
        segments = key.split(".")
        if any(not s for s in segments):
            raise QueryError("a field path has an empty segment", path=key)
        if len(segments) > MAX_PATH_DEPTH:
            raise QueryError(
                f"a field path has {len(segments)} segments, at most {MAX_PATH_DEPTH} allowed",
                path=key,
            )
        if any(s.startswith("$") for s in segments):
            raise QueryError("a path segment cannot start with '$'", path=key)
        if "\x00" in key:
            raise QueryError("a field path cannot contain the NUL character", path=key)
        return segments

    def ref(self, key: str, segments: list[str]) -> str:
        """``data -> $a::text -> $b::text``: the field's jsonb (SQL NULL when missing)."""
        found = self._paths.get(key)
        if found is None:
            found = self.column + "".join(f" -> {self.param(s, 'text')}" for s in segments)
            found = f"({found})"
            self._paths[key] = found
        return found

    # ---------------------------------------------------------------- fields

    def field(self, key: str, segments: list[str], value: Any, depth: int) -> str:
        """The condition of one field: implicit equality or an operator map."""
        if type(value) is dict and value:
            ops = [k for k in value if isinstance(k, str) and k.startswith("$")]
            if ops and len(ops) != len(value):
                raise QueryError(
                    "an operator map cannot also hold plain keys (use $eq for a literal map)",
                    path=key,
                )
            if ops:
                return self.operators(key, segments, value, depth)
        return self.equal(key, segments, value, "$eq")

    def operators(self, key: str, segments: list[str], ops: dict[str, Any], depth: int) -> str:
        """Every operator of one field's operator map, ANDed."""
        parts = []
        for op, operand in ops.items():
            if op not in _FIELD_OPS:
                raise QueryError("is not supported", operator=op, path=key)
            if op == "$eq":
                parts.append(self.equal(key, segments, operand, op))
            elif op == "$ne":
                parts.append(f"NOT {self.equal(key, segments, operand, op)}")
            elif op == "$in":
                parts.append(self.member(key, segments, operand))
            elif op == "$exists":
                if type(operand) is not bool:
                    raise QueryError(f"needs a bool, got {_tname(operand)}", operator=op, path=key)
                self._count(1, op, key)
                test = "IS NOT NULL" if operand else "IS NULL"
                parts.append(f"({self.ref(key, segments)} {test})")
            elif op == "$not":
                if depth >= MAX_NESTING:
                    raise QueryError(f"nesting deeper than {MAX_NESTING} levels", operator=op)
                if (
                    type(operand) is not dict
                    or not operand
                    or not all(isinstance(k, str) and k.startswith("$") for k in operand)
                ):
                    raise QueryError(
                        'needs an operator map such as #{"$gt": 1}', operator=op, path=key
                    )
                parts.append(f"NOT ({self.operators(key, segments, operand, depth + 1)})")
            else:
                parts.append(self.compare(key, segments, op, operand))
        return _and(parts)

    def operand(self, key: str, op: str, value: Any) -> Any:
        """``value`` as plain JSON, or a wrong-operand error."""
        try:
            return self.convert(value)
        except (ValueError, TypeError) as exc:
            raise QueryError(f"cannot compare with {_tname(value)}: {exc}", operator=op, path=key)

    def equal(self, key: str, segments: list[str], value: Any, op: str) -> str:
        """JSON equality by type; the containment part is what the GIN index answers."""
        self._count(1, op, key)
        plain = self.operand(key, op, value)
        probe = f"{self.column} @> {self.param(_nest(segments, plain), 'jsonb')}"
        if type(plain) in (dict, list):
            exact = f"{self.ref(key, segments)} = {self.param(plain, 'jsonb')}"
            return f"({probe} AND COALESCE({exact}, false))"
        return f"({probe})"

    def member(self, key: str, segments: list[str], values: Any) -> str:
        """``$in``: equal to any member (each member typed on its own)."""
        if type(values) is not list:
            raise QueryError(f"needs an array, got {_tname(values)}", operator="$in", path=key)
        if not values:
            return "FALSE"
        return "(" + " OR ".join(self.equal(key, segments, v, "$in") for v in values) + ")"

    def compare(self, key: str, segments: list[str], op: str, value: Any) -> str:
        """A range comparison on numbers or on strings, never across JSON types."""
        self._count(1, op, key)
        x = self.ref(key, segments)
        sql_op = _RANGE[op]
        t = type(value)
        if t is int or t is float:
            if t is float and not math.isfinite(value):
                raise QueryError(f"{value} is not a JSON number", operator=op, path=key)
            # CASE fixes the evaluation order: the comparison only sees numbers.
            return (
                f"(CASE WHEN jsonb_typeof({x}) = 'number'"
                f" THEN {x} {sql_op} {self.param(value, 'jsonb')} ELSE false END)"
            )
        if isinstance(value, str):
            text = self.operand(key, op, value)
            return (
                f"(CASE WHEN jsonb_typeof({x}) = 'string'"
                f" THEN ({x} #>> '{{}}') COLLATE \"C\" {sql_op} {self.param(text, 'text')}"
                " ELSE false END)"
            )
        raise QueryError(f"needs a number or a string, got {_tname(value)}", operator=op, path=key)

    # ---------------------------------------------------------------- sort

    def sort(self, spec: Any) -> list[str]:
        """ORDER BY terms for ``$sort`` (a field, ``-field``, ``#{field: 1|-1}`` or an array)."""
        if spec is None:
            return []
        items = spec if type(spec) is list else [spec]
        if not items:
            raise QueryError("needs at least one field", operator="$sort")
        if len(items) > MAX_SORT_FIELDS:
            raise QueryError(f"at most {MAX_SORT_FIELDS} fields", operator="$sort")
        terms: list[str] = []
        for item in items:
            key, desc = self.sort_key(item)
            x = self.ref(key, self.path(key))
            d = " DESC" if desc else " ASC"
            text = f"(CASE WHEN jsonb_typeof({x}) = 'string' THEN {x} #>> '{{}}' END)"
            terms += [
                _RANK.format(x=x) + d,
                f"(CASE WHEN jsonb_typeof({x}) = 'number' THEN ({x})::numeric END){d}",
                f'{text} COLLATE "C"{d}',
                f"(CASE WHEN jsonb_typeof({x}) IN ('boolean', 'array', 'object') THEN {x} END){d}",
            ]
        return terms

    def sort_key(self, item: Any) -> tuple[str, bool]:
        """``(path, descending)`` of one ``$sort`` entry."""
        if isinstance(item, str):
            if item.startswith("-"):
                return str(item[1:]), True
            return str(item.removeprefix("+")), False
        if type(item) is dict and len(item) == 1:
            ((key, direction),) = item.items()
            if direction in (1, "asc") and type(direction) is not bool:
                return str(key), False
            if direction in (-1, "desc") and type(direction) is not bool:
                return str(key), True
            raise QueryError(
                f"direction must be 1, -1, 'asc' or 'desc', got {direction!r}",
                operator="$sort",
                path=str(key),
            )
        raise QueryError(
            "each entry must be 'field', '-field' or a one-key map #{field: 1 or -1}"
            f", got {_tname(item)}",
            operator="$sort",
        )
