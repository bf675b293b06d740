"""The query DSL compiler without a database: what SQL text and parameters it produces."""

from __future__ import annotations

import re

import pytest

from picloud.services.docs_query import (
    MAX_CONDITIONS,
    MAX_NESTING,
    QueryError,
    compile_filter,
    plain_value,
)

HOSTILE = "x'); DROP TABLE docs; --"


def placeholders(sql: str) -> set[int]:
    """The ``$n`` numbers used in ``sql``."""
    return {int(n) for n in re.findall(r"\$(\d+)", sql)}


def test_empty_filter_is_true_ordered_by_the_tiebreak() -> None:
    q = compile_filter({})
    assert (q.where, q.order_by, q.limit, q.params) == ("TRUE", "seq ASC", None, [])


def test_equality_is_a_containment_probe_the_gin_index_answers() -> None:
    # Given a nested equality
    q = compile_filter({"user.email": "a@b.c"}, first_param=3)
    # Then the condition is data @> $3 with the nested probe as its parameter
    assert q.where == "(data @> $3::jsonb)"
    assert q.params == [{"user": {"email": "a@b.c"}}]


def test_composite_equality_adds_an_exact_check() -> None:
    q = compile_filter({"tags": ["a"]})
    assert "@>" in q.where and " = $" in q.where
    assert q.params[0] == {"tags": ["a"]}


def test_parameters_are_numbered_from_first_param_without_gaps() -> None:
    q = compile_filter(
        {"a": 1, "b": {"$gt": 2, "$lt": "z"}, "$or": [{"c": {"$in": [1, 2]}}, {"d": None}]},
        first_param=5,
    )
    used = placeholders(q.where) | placeholders(q.order_by)
    assert used == set(range(5, 5 + len(q.params)))


def test_user_text_never_reaches_the_sql() -> None:
    # Given hostile text in a key, a nested path, a value and a sort field
    flt = {
        HOSTILE: HOSTILE,
        f"a.{HOSTILE}": {"$gt": HOSTILE, "$in": [HOSTILE]},
        "$sort": [HOSTILE, {f"b.{HOSTILE}": -1}],
    }
    q = compile_filter(flt)
    # Then the SQL text holds none of it: all of it travels as parameters
    assert "DROP" not in q.where and "DROP" not in q.order_by
    assert HOSTILE in q.params


def test_range_comparisons_are_typed() -> None:
    num = compile_filter({"n": {"$gt": 10}})
    text = compile_filter({"n": {"$gt": "10"}})
    assert "'number'" in num.where and "'string'" not in num.where
    assert "'string'" in text.where and 'COLLATE "C"' in text.where
    assert num.params[-1] == 10 and text.params[-1] == "10"


def test_same_path_is_one_set_of_parameters() -> None:
    q = compile_filter({"a.b": {"$gt": 1, "$lt": 5}, "$sort": "a.b"})
    assert q.params.count("a") == 1 and q.params.count("b") == 1


def test_sort_and_limit() -> None:
    q = compile_filter({"$sort": ["-a", "b"], "$limit": 7})
    assert q.limit == 7
    assert q.order_by.endswith("seq ASC")
    assert q.order_by.count(" DESC") == 4 and q.order_by.count(" ASC") == 5


def test_nesting_limit() -> None:
    flt: dict[str, object] = {"a": 1}
    for _ in range(MAX_NESTING + 1):
        flt = {"$not": flt}
    with pytest.raises(QueryError, match="nesting deeper"):
        compile_filter(flt)


def test_condition_limit() -> None:
    with pytest.raises(QueryError, match="more than"):
        compile_filter({"a": {"$in": list(range(MAX_CONDITIONS + 1))}})


def test_convert_errors_become_query_errors() -> None:
    def refuse(value: object) -> object:
        raise ValueError("no blobs today")

    with pytest.raises(QueryError, match="no blobs today") as info:
        compile_filter({"a": 1}, convert=refuse)
    assert info.value.details == {"operator": "$eq", "path": "a"}


@pytest.mark.parametrize("bad", [float("inf"), object(), {"k": b"bytes"}, "nul\x00"])
def test_plain_value_refuses_what_json_cannot_hold(bad: object) -> None:
    with pytest.raises(ValueError):
        plain_value(bad)
