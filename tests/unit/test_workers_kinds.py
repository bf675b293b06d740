"""Trigger kinds: fields checked with stable codes, events matched, ctx.event shaped per API.md."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from picloud.errors import InvalidInput
from picloud.events.docs import DocCreated
from picloud.events.kv import KvDeleted, KvSet
from picloud.events.types import EventMeta, RecordedEvent
from picloud.triggers import all_kinds, get_kind, kinds_for

AT = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def rec(event: object, position: int = 7) -> RecordedEvent:
    return RecordedEvent(
        position=position,
        app_id="a",
        stream="s",
        version=1,
        type=event.__struct_config__.tag,  # type: ignore[attr-defined]
        schema_version=1,
        event=event,
        meta=EventMeta(),
        recorded_at=AT,  # type: ignore[arg-type]
    )


def test_builtin_kinds_are_registered_and_found_by_event_type() -> None:
    assert {"kv", "docs", "dead_letter"} <= set(all_kinds())
    assert [k.name for k in kinds_for("kv.set")] == ["kv"]
    assert [k.name for k in kinds_for("doc.deleted")] == ["docs"]
    assert kinds_for("app.created") == ()


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        get_kind("ftp")
    assert err.value.code == "invalid_trigger_kind"


@pytest.mark.parametrize(
    "body",
    [{}, {"collection": ""}, {"collection": "c", "ops": "set"}, {"collection": "c", "ops": ["x"]}],
)
def test_bad_kv_fields_name_the_field(body: dict[str, object]) -> None:
    with pytest.raises(InvalidInput) as err:
        get_kind("kv").parse_config(body)
    assert err.value.code == "invalid_trigger" and err.value.details["field"] in (
        "collection",
        "ops",
    )


def test_kv_matching_and_ctx_event() -> None:
    kind = get_kind("kv")
    config = kind.parse_config({"collection": "c", "ops": ["set"]})
    hit = rec(KvSet(app_id="a", collection="c", key="k", value=2, prev_value=1))
    assert kind.matches(config, hit)
    assert not kind.matches(config, rec(KvSet(app_id="a", collection="d", key="k", value=1)))
    assert not kind.matches(config, rec(KvDeleted(app_id="a", collection="c", key="k")))
    assert kind.matches({"collection": "*", "ops": ["set"]}, hit)
    assert kind.ctx_event(hit) == {
        "source": "kv",
        "op": "set",
        "position": 7,
        "recorded_at": "2026-01-02T03:04:05.678Z",
        "kv": {"collection": "c", "key": "k", "value": 2, "prev_value": 1},
    }


def test_docs_create_has_no_prev_data() -> None:
    kind = get_kind("docs")
    event = kind.ctx_event(rec(DocCreated(app_id="a", collection="p", doc_id="d", data={"x": 1})))
    assert event["op"] == "create"
    assert event["docs"] == {"collection": "p", "id": "d", "data": {"x": 1}, "prev_data": None}


def test_dead_letter_handlers_are_never_dead_lettered() -> None:
    assert get_kind("dead_letter").dead_letters is False
    assert get_kind("kv").dead_letters is True


def test_dead_letter_filters_by_trigger_and_source() -> None:
    from picloud.events.triggers import DeadLettered

    kind = get_kind("dead_letter")
    dead = rec(
        DeadLettered(
            dead_letter_id="d",
            app_id="a",
            job_id="j",
            job_kind="trigger",
            dedupe_key="t:x:1",
            trigger_id="11111111-1111-1111-1111-111111111111",
            script_id="s",
            source_event={"source": "kv"},
            payload={},
            error="boom",
        )
    )
    assert kind.matches(kind.parse_config({}), dead)
    assert kind.matches(kind.parse_config({"source": "kv"}), dead)
    assert not kind.matches(kind.parse_config({"source": "docs"}), dead)
    other = "22222222-2222-2222-2222-222222222222"
    assert not kind.matches(kind.parse_config({"trigger_id": other}), dead)
    assert kind.ctx_event(dead)["dead_letter"] == {
        "id": "d",
        "trigger_id": "11111111-1111-1111-1111-111111111111",
        "source_event": {"source": "kv"},
        "error": "boom",
        "attempts": 0,
    }
    with pytest.raises(InvalidInput):
        kind.parse_config({"trigger_id": "nope"})
