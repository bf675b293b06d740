"""docs/sdk.md documents every standard-library function, and its examples hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from picloud.rhai import Engine
from picloud.sdk import NAMESPACES

DOC = (Path(__file__).parents[3] / "docs" / "sdk.md").read_text(encoding="utf-8")


def _functions() -> list[str]:
    e = Engine()
    from picloud.sdk import install_stdlib

    install_stdlib(e)
    return [f"{ns}::{name}" for ns in NAMESPACES for name in e._static_modules[ns].host]


@pytest.mark.parametrize("qualified", [f for f in _functions() if f != "log::debug"])
def test_every_function_has_a_documented_example(qualified: str) -> None:
    # Given a registered function, then the docs show a call to it
    assert f"`{qualified}(" in DOC


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("json::stringify(#{b: 1, a: [true, ()]})", '{"a":[true,null],"b":1}'),
        ('time::format(0, "%F %T")', "1970-01-01 00:00:00"),
        ('regex::replace("(\\\\d+)", "a1b22", "<$1>")', "a<1>b<22>"),
        ('url::build_query(#{q: "a b", tag: [1, 2]})', "q=a%20b&tag=1&tag=2"),
        ('url::encode("a b&c")', "a%20b%26c"),
        ("base64::encode_url(blob(1, 0xfb))", "-w"),
        (
            'url::parse("https://ex.com:8443/p?x=1#top")',
            {
                "scheme": "https",
                "host": "ex.com",
                "port": 8443,
                "path": "/p",
                "query": {"x": "1"},
                "fragment": "top",
            },
        ),
    ],
)
def test_documented_examples_give_the_documented_results(
    engine: Engine, src: str, expected: object
) -> None:
    assert engine.eval(src) == expected
