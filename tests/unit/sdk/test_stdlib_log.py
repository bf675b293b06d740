"""``log::`` through real scripts: structured records and the per-script ring."""

from __future__ import annotations

import logging
import threading

import pytest

from picloud.rhai import Engine
from picloud.rhai.errors import RhaiError
from picloud.sdk import ScriptLogs, SdkContext, install_stdlib, use_context
from picloud.sdk.context import ANONYMOUS, current_context

CTX = SdkContext(
    app_id="app-1", app_slug="shop", script_id="s-1", script_name="checkout", request_id="req-9"
)


def make(per_script: int = 100) -> tuple[Engine, ScriptLogs]:
    """An engine whose log:: writes to a fresh ring."""
    e = Engine()
    logs = ScriptLogs(per_script)
    install_stdlib(e, log_sink=logs)
    return e, logs


@pytest.mark.parametrize(
    ("src", "level", "message"),
    [
        ('log::write("debug", "d")', "debug", "d"),
        ('log::write("error", 1)', "error", "1"),
        ('log::info("hello")', "info", "hello"),
        ("log::warn(42)", "warn", "42"),
        ('log::error([1, "x", ()])', "error", '[1, "x", ()]'),
        ('log::info(#{b: 1, a: "s"})', "info", '#{"a": "s", "b": 1}'),
        ("log::info(())", "info", ""),
        ("log::info(2.0)", "info", "2.0"),
        ("log::info(blob(2, 1))", "info", "[0101]"),
    ],
)
def test_log_lines_render_any_value_as_print_does(src: str, level: str, message: str) -> None:
    # Given a run bound to a context
    e, logs = make()
    with use_context(CTX):
        # When the script logs a value
        assert e.eval(src) is None
    # Then the script's ring holds the rendered text at that level with the request id
    (line,) = logs.lines("s-1")
    assert (line.level, line.message, line.request_id) == (level, message, "req-9")
    assert line.to_dict()["level"] == level


def test_log_records_carry_app_script_and_request(caplog: pytest.LogCaptureFixture) -> None:
    # Given a run bound to a context, when the script warns
    e, _ = make()
    with caplog.at_level(logging.DEBUG, logger="picloud.script"), use_context(CTX):
        e.run('log::warn("low stock: " + 3);')
    # Then one structured record names the app, script and request
    (rec,) = [r for r in caplog.records if r.name == "picloud.script"]
    assert rec.levelno == logging.WARNING and rec.getMessage() == "low stock: 3"
    fields = ("app_id", "app_slug", "script_id", "script_name", "request_id", "script_level")
    assert [getattr(rec, f) for f in fields] == [
        "app-1",
        "shop",
        "s-1",
        "checkout",
        "req-9",
        "warn",
    ]


def test_ring_keeps_only_the_last_n_lines_per_script() -> None:
    # Given a ring of 3 lines per script
    e, logs = make(per_script=3)
    other = SdkContext(script_id="s-2", request_id="r2")
    # When one script logs 5 lines and another 1
    with use_context(CTX):
        e.run("for i in 0..5 { log::info(i); }")
    with use_context(other):
        e.run('log::error("x");')
    # Then each script keeps its own newest lines, oldest first
    assert [line.message for line in logs.lines("s-1")] == ["2", "3", "4"]
    assert [line.message for line in logs.lines("s-2")] == ["x"]
    assert logs.lines("unknown") == []
    logs.clear("s-1")
    assert logs.lines("s-1") == []


def test_ring_forgets_the_least_recent_script_beyond_max_scripts() -> None:
    # Given room for two scripts
    logs = ScriptLogs(2, max_scripts=2)
    for sid in ("a", "b", "a", "c"):
        logs.emit(SdkContext(script_id=sid), "info", sid)
    # Then the script that logged least recently is forgotten
    assert logs.lines("b") == []
    assert [line.message for line in logs.lines("a")] == ["a", "a"]


def test_long_messages_are_truncated() -> None:
    # Given a huge value, when logged, then the kept line is bounded
    e, logs = make()
    e.run('let s = "x"; for i in 0..14 { s += s; } log::info(s);')
    (line,) = logs.lines("")
    assert len(line.message) < ScriptLogs.MAX_MESSAGE_CHARS + 20
    assert line.message.endswith("…[truncated]")


def test_context_is_per_thread_and_restored() -> None:
    # Given a context bound in this thread
    seen: list[SdkContext] = []
    with use_context(CTX):
        t = threading.Thread(target=lambda: seen.append(current_context()))
        t.start()
        t.join()
        assert current_context() is CTX
    # Then another thread does not see it, and it is unbound afterwards
    assert seen == [ANONYMOUS]
    assert current_context() is ANONYMOUS


def test_log_without_arguments_is_function_not_found() -> None:
    # Given log::info with no value, then Rhai reports a missing function, catchably
    e, _ = make()
    got = e.eval("let r; try { log::info(); } catch (e) { r = e; } r")
    assert got["error"] == "ErrorFunctionNotFound"


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        (
            'log::write("trace", 1)',
            'log: write expects a level (debug, info, warn, error), got "trace"',
        ),
        ("log::write(1, 1)", "log: write expects a level (debug, info, warn, error), got 1"),
    ],
)
def test_bad_levels_are_catchable_with_the_log_prefix(expr: str, message: str) -> None:
    e, logs = make()
    assert e.eval(f"let r; try {{ {expr}; }} catch (e) {{ r = e; }} r") == message
    assert logs.lines("") == []


def test_log_debug_logs_at_debug_level() -> None:
    # Given a script calling log::debug (our parser accepts keyword-function
    # names after `::`, unlike rhai.rs, so host namespaces can offer them)
    e, logs = make()
    # When it runs
    e.run('log::debug("x")')
    # Then one debug line is logged
    assert [(line.level, line.message) for line in logs.lines("")] == [("debug", "x")]


def test_bad_ring_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        ScriptLogs(0)


def test_print_and_debug_can_be_captured_into_the_script_log() -> None:
    # Given an engine whose print/debug go to the log sink
    e = Engine()
    logs = ScriptLogs()
    install_stdlib(e, log_sink=logs, capture_print=True)
    # When a script prints and debugs
    with use_context(CTX):
        e.run('print("hello"); debug([1, "x"]);')
    # Then both are script log lines (debug uses its debug form, as Rhai's debug does)
    got = [(line.level, line.message) for line in logs.lines("s-1")]
    assert got == [("info", "hello"), ("debug", '[1, "x"]')]
