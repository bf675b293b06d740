"""``base64::`` and ``hex::`` through real scripts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from picloud.rhai import Engine, Scope
from picloud.sdk import install_stdlib

_ENGINE = Engine()
install_stdlib(_ENGINE)


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ('base64::encode("hi")', "aGk="),
        ('base64::encode("")', ""),
        ('base64::encode("é")', "w6k="),
        ("base64::encode(blob(3, 0xff))", "////"),
        ('base64::decode("aGk=")', bytearray(b"hi")),
        ('base64::decode("aGk")', bytearray(b"hi")),
        ('base64::decode("")', bytearray()),
        ('base64::decode("w6k=").as_string()', "é"),
        ('type_of(base64::decode("aGk="))', "blob"),
        ("base64::encode_url(blob(3, 0xff))", "____"),
        ("base64::encode_url(blob(1, 0xfb))", "-w"),
        ('base64::decode_url("-w")', bytearray(b"\xfb")),
        ('base64::decode_url("-w==")', bytearray(b"\xfb")),
        ('hex::encode("hi")', "6869"),
        ("hex::encode(blob(2, 0xab))", "abab"),
        ('hex::encode("")', ""),
        ('hex::decode("6869")', bytearray(b"hi")),
        ('hex::decode("ABab")', bytearray(b"\xab\xab")),
        ('hex::decode("")', bytearray()),
    ],
)
def test_encoding_functions(engine: Engine, src: str, expected: Any) -> None:
    # Given the standard library, when a script encodes or decodes, then it gets these values
    assert engine.eval(src) == expected


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ('base64::decode("a")', "base64: decode: not valid base64"),
        ('base64::decode("a$b=")', "base64: decode: not valid base64"),
        ('base64::decode("-w==")', "base64: decode: not valid base64"),
        ('base64::decode("é")', "base64: decode: not valid base64"),
        ('base64::decode_url("+w==")', "base64: decode_url: not valid URL-safe base64"),
        ('base64::decode_url("a")', "base64: decode_url: not valid URL-safe base64"),
        ("base64::encode(1)", "base64: encode expects a blob or a string, got i64"),
        ("base64::encode_url([])", "base64: encode_url expects a blob or a string, got array"),
        ("base64::decode(blob(1))", "base64: decode expects a string, got blob"),
        ('hex::decode("abc")', "hex: decode: odd number of hex digits"),
        ('hex::decode("zz")', "hex: decode: not a hex string"),
        ('hex::decode("a b ")', "hex: decode: not a hex string"),
        ('hex::decode("١٢")', "hex: decode: not a hex string"),
        ("hex::encode(())", "hex: encode expects a blob or a string, got ()"),
        ("hex::decode(12)", "hex: decode expects a string, got i64"),
    ],
)
def test_encoding_errors_are_catchable_with_their_prefix(
    caught: Callable[[str], Any], expr: str, message: str
) -> None:
    # Given a failing call inside try/catch, then the handler gets the prefixed text
    assert caught(expr) == message


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=64))
def test_every_encoding_round_trips_any_bytes(data: bytes) -> None:
    # Given any bytes as a Blob, when encoded and decoded by each codec, then they come back
    scope = Scope().push("b", bytearray(data))
    out = _ENGINE.eval(
        "[base64::decode(base64::encode(b)), base64::decode_url(base64::encode_url(b)),"
        " hex::decode(hex::encode(b))]",
        scope,
    )
    assert out == [bytearray(data)] * 3
