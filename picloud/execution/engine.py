"""The engine factory: one shared Rhai engine per process, limits from settings.

An ``Engine`` is safe to share between threads (each run has its own state),
so the API process builds one, installs the standard-library namespaces and
the app-scoped module resolver into it, and every sync route runs on it.
"""

from __future__ import annotations

import logging
from typing import Any

from picloud.execution.resolver import AppModuleResolver
from picloud.rhai import Engine, EngineOptions

__all__ = ["build_engine", "engine_options"]

log = logging.getLogger("picloud.script")


def engine_options(settings: Any) -> EngineOptions:
    """Interpreter limits for script runs, from ``PICLOUD_SCRIPT_*`` settings."""
    return EngineOptions(
        max_operations=settings.script_max_operations,
        max_call_levels=settings.script_max_call_levels,
        max_string_size=settings.script_max_string_size,
        max_array_size=settings.script_max_array_size,
        max_map_size=settings.script_max_map_size,
        # Imports per run: a generous backstop beside the depth limit, which the
        # resolver enforces with a clearer message.
        max_modules=256,
        max_run_seconds=settings.script_timeout_ms / 1000.0,
    )


def build_engine(
    settings: Any, resolver: AppModuleResolver | None = None, log_sink: Any = None
) -> Engine:
    """A configured engine: limits, stdlib namespaces, module resolver, print → log."""
    from picloud.sdk import install_stdlib

    engine = Engine(engine_options(settings))
    install_stdlib(engine, log_sink=log_sink)
    from picloud.sdk.kv import install_kv
    from picloud.services.kv import KvLimits

    install_kv(engine, KvLimits.from_settings(settings))
    from picloud.sdk.docs import install_docs
    from picloud.services.docs import DocsLimits

    install_docs(engine, DocsLimits.from_settings(settings))
    from picloud.sdk.dead_letters import install_dead_letters

    install_dead_letters(engine)
    from picloud.sdk.pubsub import install_pubsub

    install_pubsub(engine, settings)
    if resolver is not None:
        engine.set_module_resolver(resolver)
    # print/debug from a script go to the server log, never to stdout.
    engine.on_print(lambda text: log.info("script print: %s", text))
    engine.on_debug(lambda text: log.debug("script debug: %s", text))
    # A run sharing a reactor thread lets the others go first now and then.
    from picloud.execution.reactor import cooperate

    engine.on_budget(cooperate)
    return engine
