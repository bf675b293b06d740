"""The Rhai SDK's standard library: ``log::``, ``json::``, ``time::``, ``regex::``,
``random::``, ``base64::``, ``hex::`` and ``url::`` as static modules of an ``Engine``.

Usage::

    engine = Engine()
    logs = install_stdlib(engine, log_sink=ScriptLogs(per_script=100))
    with use_context(SdkContext(app_id=..., script_id=..., request_id=...)):
        engine.eval_ast(ast, scope)

Every failure is a catchable Rhai error whose caught value is a string with the
namespace prefix (``"json: parse: …"``).
"""

from __future__ import annotations

from picloud.sdk.context import ANONYMOUS, SdkContext, current_context, use_context
from picloud.sdk.log import LogLine, LogSink, ScriptLogs
from picloud.sdk.stdlib import NAMESPACES, install_stdlib

__all__ = [
    "ANONYMOUS",
    "NAMESPACES",
    "LogLine",
    "LogSink",
    "ScriptLogs",
    "SdkContext",
    "current_context",
    "install_stdlib",
    "use_context",
]
