"""Subscriber tokens: sign/parse round trip, tampering, expiry, other keys, TTL clamps."""

from __future__ import annotations

import base64
import time

import pytest

from picloud.errors import InvalidInput
from picloud.realtime import tokens
from picloud.settings import Settings

KEY = b"k" * 32
APP = "00000000-0000-0000-0000-000000000001"


def test_round_trip() -> None:
    token = tokens.sign(KEY, APP, ["b", "a", "a"], int(time.time()) + 60)
    payload, sep, signature = token.partition(".")
    assert sep == "." and "=" not in token
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    data = tokens.parse(KEY, token)
    assert data is not None and data.a == APP and data.t == ["a", "b"]
    assert base64.urlsafe_b64decode(payload + "==").startswith(b"{")
    assert signature


def test_tampering_expiry_and_other_keys_fail() -> None:
    now = time.time()
    token = tokens.sign(KEY, APP, ["a"], int(now) + 60)
    payload, _, signature = token.partition(".")
    forged = tokens.sign(b"x" * 32, APP, ["a", "b"], int(now) + 60).partition(".")[0]
    for bad in (
        f"{forged}.{signature}",  # another payload under the old signature
        f"{payload}.{signature[:-2]}AA",
        f"{payload}.",
        f".{signature}",
        "no-dot",
        "",
        f"{payload}.{signature}.x",
        "@@@.###",
    ):
        assert tokens.parse(KEY, bad) is None, bad
    assert tokens.parse(b"o" * 32, token) is None
    assert tokens.parse(KEY, token, now=now + 61) is None
    assert tokens.parse(KEY, token, now=now + 59) is not None


def test_ttl_clamps() -> None:
    s = Settings()
    assert tokens.clamp_ttl(None, s) == 3600
    assert tokens.clamp_ttl(1, s) == 10
    assert tokens.clamp_ttl(-5, s) == 10
    assert tokens.clamp_ttl(10**9, s) == 86_400
    assert tokens.clamp_ttl(120, s) == 120


def test_topics_are_checked() -> None:
    assert tokens.check_topics(["a", "b.c"]) == ["a", "b.c"]
    for bad in ([], "a", ["a*"], [1], ["x"] * 101, None):
        with pytest.raises(InvalidInput) as info:
            tokens.check_topics(bad)
        assert info.value.code in ("pubsub_invalid_topics", "pubsub_invalid_topic")
