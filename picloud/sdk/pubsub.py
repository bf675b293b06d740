"""``pubsub::publish_durable(topic, message)``: a script's durable publish.

Follows the SDK-binding pattern of :mod:`picloud.sdk.kv`: the app id and the
caller come from ``current_run()``, never from arguments; the capability
(``AppPubsubPublish`` → ``script:write``) is checked for an authenticated
caller; the service runs on the loop through the bridge in one transaction.
After the commit the position is announced on Redis (best effort). Errors are
catchable Rhai errors ``"pubsub: <fn>: <message> [<code>]"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from picloud.auth.capabilities import AppPubsubPublish
from picloud.errors import PicloudError
from picloud.events.types import EventMeta
from picloud.execution.run import ScriptRun, current_run
from picloud.realtime.broadcaster import Announcer
from picloud.rhai.engine import Engine
from picloud.sdk._common import fail, limit_sizes, namespace
from picloud.sdk._values import to_stored
from picloud.services import pubsub as service

__all__ = ["install_pubsub"]

_P = "pubsub"


def _run(fn: str) -> ScriptRun:
    run = current_run()
    if run is None or run.bridge is None:
        fail(_P, f"{fn}: only available while an app's script runs [pubsub_unavailable]")
    return run


def _meta(run: ScriptRun) -> EventMeta:
    return EventMeta(
        actor=f"script:{run.script_id}",
        request_id=run.request_id or None,
        correlation_id=run.request_id or None,
    )


def _checked(fn: str, check: Callable[[], Any]) -> Any:
    try:
        return check()
    except PicloudError as exc:
        fail(_P, f"{fn}: {exc.message} [{exc.code}]")


def build_functions(announcer: Announcer) -> dict[str, Callable[..., Any]]:
    """The ``pubsub::`` functions, announcing committed publishes with ``announcer``."""

    def publish_durable(topic: Any, message: Any) -> int:
        """``pubsub::publish_durable(topic, message)``: the publish's log position."""
        name = _checked("publish_durable", lambda: service.check_topic(topic))
        data = _checked("publish_durable", lambda: service.encode_message(to_stored(message)))
        run = _run("publish_durable")
        cap = AppPubsubPublish(run.app_id)

        async def body(conn: Any) -> int:
            if run.principal is not None:
                from picloud.auth.principal import authorize

                await authorize(conn, run.principal, cap)
            recorded = await service.publish(conn, _meta(run), run.app_id, name, data)
            return recorded.position

        try:
            position = int(run.bridge.with_conn(body))
        except PicloudError as exc:
            if exc.code in ("forbidden", "not_found"):
                fail(
                    _P,
                    "publish_durable: permission denied: the caller lacks AppPubsubPublish"
                    " (script:write) [pubsub_permission_denied]",
                )
            fail(_P, f"publish_durable: {exc.message} [{exc.code}]")
        # Committed: now wake the SSE streams (best effort, never fails the publish).
        announcer.announce(run.app_id, name, position)
        return position

    return {"publish_durable": publish_durable}


def install_pubsub(engine: Engine, settings: Any = None) -> None:
    """Register the ``pubsub::`` namespace on ``engine``."""
    announcer = (
        Announcer.from_settings(settings) if settings is not None else Announcer(None, "picloud")
    )
    opts = engine.options
    sizes = (opts.max_string_size, opts.max_array_size, opts.max_map_size)
    functions = build_functions(announcer)
    engine.register_static_module(_P, limit_sizes(namespace(_P, functions), sizes))
