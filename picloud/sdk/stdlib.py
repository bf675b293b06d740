"""``install_stdlib``: register every standard-library namespace on an ``Engine``."""

from __future__ import annotations

from picloud.rhai.engine import Engine
from picloud.sdk._common import limit_sizes
from picloud.sdk.context import current_context
from picloud.sdk.encoding import base64_members, hex_members
from picloud.sdk.json import json_members
from picloud.sdk.log import LogSink, ScriptLogs, log_members
from picloud.sdk.random import random_members
from picloud.sdk.regex import DEFAULT_TIMEOUT, regex_members
from picloud.sdk.time import time_members
from picloud.sdk.url import url_members

__all__ = ["NAMESPACES", "install_stdlib"]

#: The namespaces ``install_stdlib`` registers (each is also a reserved module name).
NAMESPACES = ("log", "json", "time", "regex", "random", "base64", "hex", "url")


def install_stdlib(
    engine: Engine,
    *,
    log_sink: LogSink | None = None,
    regex_timeout: float = DEFAULT_TIMEOUT,
    capture_print: bool = False,
) -> LogSink:
    """Register ``log::`` … ``url::`` on ``engine``; returns the sink ``log::`` writes to.

    Args:
        engine: the engine to extend (registration is once per engine, not per run).
        log_sink: where ``log::`` lines go; default a new ``ScriptLogs()`` (100 lines per script).
        regex_timeout: seconds one ``regex::`` match operation may run.
        capture_print: also send Rhai's ``print(x)`` (level ``info``) and ``debug(x)``
            (level ``debug``) to the sink instead of the process's stdout.
    """
    sink: LogSink = log_sink if log_sink is not None else ScriptLogs()
    if regex_timeout <= 0:
        raise ValueError("regex_timeout must be > 0")
    opts = engine.options
    sizes = (opts.max_string_size, opts.max_array_size, opts.max_map_size)
    namespaces = {
        "log": log_members(sink),
        "json": json_members(),
        "time": time_members(),
        "regex": regex_members(regex_timeout, max_output_chars=opts.max_string_size or None),
        "random": random_members(),
        "base64": base64_members(),
        "hex": hex_members(),
        "url": url_members(),
    }
    for name, members in namespaces.items():
        engine.register_static_module(name, limit_sizes(members, sizes))
    if capture_print:
        engine.on_print(lambda text: sink.emit(current_context(), "info", text))
        engine.on_debug(lambda text: sink.emit(current_context(), "debug", text))
    return sink
