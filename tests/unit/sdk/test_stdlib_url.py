"""``url::`` through real scripts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ('url::encode("a b&c=d/é~")', "a%20b%26c%3Dd%2F%C3%A9~"),
        ('url::encode("")', ""),
        ('url::decode("a%20b%26c+d%C3%A9")', "a b&c+dé"),
        ('url::decode(url::encode("x/y?z=1 2"))', "x/y?z=1 2"),
        (
            'url::parse("https://user@Example.com:8443/p/a%20b?x=1&x=2&y=a+b&z=%3D&e=#sec%201")',
            {
                "scheme": "https",
                "host": "example.com",
                "port": 8443,
                "path": "/p/a%20b",
                "query": {"e": "", "x": ["1", "2"], "y": "a b", "z": "="},
                "fragment": "sec 1",
            },
        ),
        (
            'url::parse("http://localhost")',
            {
                "scheme": "http",
                "host": "localhost",
                "port": None,
                "path": "",
                "query": {},
                "fragment": None,
            },
        ),
        ('url::parse("http://[::1]:80/x").host', "::1"),
        ('url::parse("mailto:bob@example.com").path', "bob@example.com"),
        ('url::parse("https://a.b/?flag").query', {"flag": ""}),
        (
            'url::build_query(#{b: [1, 2], a: "x y", c: (), d: true, e: 1.5})',
            "a=x%20y&b=1&b=2&d=true&e=1.5",
        ),
        ('url::build_query(#{"k&=": "v&="})', "k%26%3D=v%26%3D"),
        ("url::build_query(#{})", ""),
        (
            'url::parse("https://h/?" + url::build_query(#{q: "a b", n: [1, 2]})).query',
            {"n": ["1", "2"], "q": "a b"},
        ),
    ],
)
def test_url_functions(engine: Any, src: str, expected: Any) -> None:
    # Given the standard library, when a script uses url::, then it gets these values
    assert engine.eval(src) == expected


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ('url::decode("%zz")', "url: decode: malformed percent-escape"),
        ('url::decode("100%")', "url: decode: malformed percent-escape"),
        ('url::decode("%ff")', "url: decode: percent-escapes are not valid UTF-8"),
        ('url::parse("no scheme here")', "url: parse: the URL has no scheme"),
        ('url::parse("http://h:99999/")', "url: parse: not a valid URL"),
        ('url::parse("http://[::1/")', "url: parse: not a valid URL"),
        ('url::parse("http://h/?a=%zz")', "url: parse: malformed percent-escape"),
        ("url::encode(1)", "url: encode expects a string, got i64"),
        ("url::decode(())", "url: decode expects a string, got ()"),
        ("url::parse([])", "url: parse expects a string, got array"),
        ('url::build_query("a=1")', "url: build_query expects a map, got string"),
        (
            "url::build_query(#{a: #{b: 1}})",
            "url: build_query: value of 'a' must be a string, number, bool or an array of them, got map",
        ),
        (
            "url::build_query(#{a: [[1]]})",
            "url: build_query: value of 'a' must be a string, number, bool or an array of them, got array",
        ),
    ],
)
def test_url_errors_are_catchable_with_the_url_prefix(
    caught: Callable[[str], Any], expr: str, message: str
) -> None:
    # Given a failing url:: call inside try/catch, then the handler gets the prefixed text
    got = caught(expr)
    assert isinstance(got, str) and got.startswith(message), got
