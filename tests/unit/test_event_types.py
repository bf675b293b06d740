"""Event types: stable tags, one union decoder, schema evolution, metadata."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from picloud.errors import InvalidInput
from picloud.events import (
    Event,
    EventMeta,
    RecordedEvent,
    UnknownEvent,
    decode_event,
    event_class,
    event_types,
)
from picloud.events.codec import decode_row, encode_event, encode_meta
from picloud.events.types import _decoder


class ItemAdded(Event, tag="test_types.item_added"):
    """Version 2 of the payload: ``quantity`` and ``tags`` were added later, with defaults."""

    item: str
    quantity: int = 1
    tags: list[str] = []  # noqa: RUF012 - msgspec copies mutable defaults


class _Shared(Event):
    """No dotted tag: an abstract base holding shared fields, never registered."""

    owner: str = "nobody"


class ItemRemoved(_Shared, tag="test_types.item_removed", kw_only=True):
    """kw_only is per class in msgspec: needed when a base declares defaults."""

    item: str


def test_an_old_payload_decodes_after_fields_with_defaults_were_added() -> None:
    # Given a payload written before `quantity` and `tags` existed
    old = b'{"type":"test_types.item_added","item":"pen"}'
    # When it is decoded today, through the union decoder and through a stored row
    event = decode_event(old)
    row = _row("test_types.item_added", old.decode())
    # Then the new fields take their defaults
    assert event == ItemAdded(item="pen", quantity=1, tags=[])
    assert decode_row(row).event == event


def test_a_payload_with_a_field_that_was_since_removed_still_decodes() -> None:
    assert decode_event(
        b'{"type":"test_types.item_added","item":"pen","colour":"red"}'
    ) == ItemAdded(item="pen")


def test_tags_not_class_paths_identify_events() -> None:
    assert (
        msgspec.json.decode(encode_event(ItemAdded(item="x")).data)["type"]
        == "test_types.item_added"
    )
    assert event_class("test_types.item_added") is ItemAdded
    assert event_class("test_types.item_removed") is ItemRemoved
    assert "_Shared" not in event_types() and event_class("_Shared") is None
    assert decode_event(b'{"type":"test_types.item_removed","item":"x"}') == ItemRemoved(
        item="x", owner="nobody"
    )


def test_the_union_decoder_is_built_once_and_reused_until_a_type_is_added() -> None:
    first = _decoder()
    assert _decoder() is first

    class Late(Event, tag="test_types.late"):
        x: int

    rebuilt = _decoder()
    assert rebuilt is not first and _decoder() is rebuilt
    assert decode_event(b'{"type":"test_types.late","x":3}') == Late(x=3)


def test_a_duplicate_tag_is_refused() -> None:
    class Copy(Event, tag="test_types.item_added"):
        item: str

    with pytest.raises(TypeError, match="reuses event tag 'test_types.item_added'"):
        event_types()
    assert event_class("test_types.item_added") is ItemAdded


def test_a_subclass_must_take_its_own_tag() -> None:
    class MoreRemoved(ItemRemoved):
        reason: str = ""

    with pytest.raises(TypeError, match="MoreRemoved reuses event tag"):
        event_types()


def test_a_tag_must_look_like_area_verb() -> None:
    class Bad(Event, tag="Bad.Tag"):
        pass

    with pytest.raises(TypeError, match="must look like 'area.verb'"):
        event_types()


def test_events_are_frozen() -> None:
    with pytest.raises(AttributeError):
        ItemAdded(item="pen").item = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        ItemRemoved(item="pen").item = "x"  # type: ignore[misc]


def test_an_unregistered_class_cannot_be_encoded() -> None:
    with pytest.raises(InvalidInput) as info:
        encode_event(_Shared())
    assert info.value.code == "invalid_event"


def test_a_row_of_an_unknown_type_decodes_as_unknown_event() -> None:
    row = _row("gone.away", '{"type":"gone.away","a":1}')
    event = decode_row(row).event
    assert event == UnknownEvent(type="gone.away", data={"a": 1})


@pytest.mark.parametrize(
    "actor", ["system", "user:1", "key:k_1", "script:abc", "trigger:t", "cron:c-1", None]
)
def test_valid_actors(actor: str | None) -> None:
    assert EventMeta(actor=actor).actor == actor


@pytest.mark.parametrize("actor", ["", "root", "user:", "user: 1", "robot:1", "system:x"])
def test_invalid_actors_are_refused(actor: str) -> None:
    with pytest.raises(InvalidInput) as info:
        EventMeta(actor=actor)
    assert info.value.code == "invalid_event_meta" and info.value.details == {"field": "actor"}


def test_meta_omits_defaults_and_round_trips() -> None:
    meta = EventMeta(actor="user:1", request_id="r")
    assert encode_meta(meta) == '{"actor":"user:1","request_id":"r"}'
    assert msgspec.json.decode(encode_meta(meta), type=EventMeta) == meta
    with pytest.raises(InvalidInput):
        EventMeta(trigger_depth=-1)
    with pytest.raises(InvalidInput):
        EventMeta(causation_position=0)


def test_caused_by_links_a_trigger_hop() -> None:
    cause = RecordedEvent(
        position=42,
        app_id=None,
        stream="s",
        version=1,
        type="test_types.item_added",
        schema_version=1,
        event=ItemAdded(item="x"),
        meta=EventMeta(actor="user:1", correlation_id="c", trigger_depth=2),
        recorded_at=datetime.now(UTC),
    )
    child = EventMeta(actor="trigger:t1", request_id="job-1").caused_by(cause)
    assert (
        child.actor,
        child.correlation_id,
        child.causation_position,
        child.trigger_depth,
        child.request_id,
    ) == ("trigger:t1", "c", 42, 3, "job-1")
    assert EventMeta.system().actor == "system"


@given(
    item=st.text(),
    quantity=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    tags=st.lists(st.text(), max_size=5),
)
def test_any_event_round_trips_through_its_stored_form(
    item: str, quantity: int, tags: list[str]
) -> None:
    event = ItemAdded(item=item, quantity=quantity, tags=tags)
    encoded = encode_event(event)
    assert (encoded.type, encoded.schema_version) == ("test_types.item_added", 1)
    assert decode_row(_row(encoded.type, encoded.data)).event == event


def _row(tag: str, data: str) -> dict[str, object]:
    return {
        "position": 1,
        "app_id": None,
        "stream": "s",
        "version": 1,
        "type": tag,
        "schema_version": 1,
        "data": data,
        "meta": "{}",
        "recorded_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
