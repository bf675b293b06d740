"""``pubsub::publish_durable(topic, message)`` and ``pubsub::subscriber_token(topics, ttl?)``.

Follows the SDK-binding pattern of :mod:`picloud.sdk.kv`: the app id and the
caller come from ``current_run()``, never from arguments; the capability
(``AppPubsubPublish`` → ``script:write``) is checked for an authenticated
caller; the service runs on the loop through the bridge in one transaction.
After the commit the position is announced on Redis (best effort). Errors are
catchable Rhai errors ``"pubsub: <fn>: <message> [<code>]"``.

``subscriber_token`` mints an SSE token for external ``token`` topics of the
app; it needs an authenticated caller (an anonymous request could otherwise
hand out tokens to anyone) with the publish capability.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from picloud.auth.capabilities import AppPubsubPublish
from picloud.errors import InvalidInput, PicloudError
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


def build_functions(announcer: Announcer, limits: Any) -> dict[str, Callable[..., Any]]:
    """The ``pubsub::`` functions; ``limits`` has the subscriber-token TTL settings."""

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

    def subscriber_token(topics: Any, ttl: Any = None) -> str:
        """``pubsub::subscriber_token(topics, ttl_seconds?)``: a token for those topics."""
        from picloud.realtime import tokens

        names = _checked("subscriber_token", lambda: tokens.check_topics(topics))
        if ttl is not None and (type(ttl) is not int):
            fail(
                _P,
                "subscriber_token: ttl must be an integer number of seconds [pubsub_invalid_ttl]",
            )
        seconds = tokens.clamp_ttl(ttl, limits)
        run = _run("subscriber_token")
        if run.principal is None:
            fail(
                _P,
                "subscriber_token: needs an authenticated caller (the request had no credentials)"
                " [pubsub_unauthenticated]",
            )
        cap = AppPubsubPublish(run.app_id)

        async def body(conn: Any) -> str:
            from picloud.auth.principal import authorize

            await authorize(conn, run.principal, cap)
            rows = await conn.fetch(
                "SELECT name FROM topics WHERE app_id = $1::uuid AND name = ANY($2::text[])"
                " AND external_subscribable AND auth_mode = 'token'",
                run.app_id,
                names,
            )
            missing = sorted(set(names) - {r["name"] for r in rows})
            if missing:
                raise InvalidInput(
                    f"topic {missing[0]!r} is not an external token topic of this app",
                    code="pubsub_topic_not_subscribable",
                    details={"field": "topics"},
                )
            token, _ = await tokens.mint(conn, run.app_id, names, seconds)
            return token

        try:
            return str(run.bridge.with_conn(body))
        except PicloudError as exc:
            if exc.code in ("forbidden", "not_found"):
                fail(
                    _P,
                    "subscriber_token: permission denied: the caller lacks AppPubsubPublish"
                    " (script:write) [pubsub_permission_denied]",
                )
            fail(_P, f"subscriber_token: {exc.message} [{exc.code}]")

    return {"publish_durable": publish_durable, "subscriber_token": subscriber_token}


class _DefaultTtl:
    """The TTL settings' defaults, for an engine built without settings."""

    subscriber_token_ttl_min_sec = 10
    subscriber_token_ttl_max_sec = 86_400
    subscriber_token_ttl_default_sec = 3_600


def install_pubsub(engine: Engine, settings: Any = None) -> None:
    """Register the ``pubsub::`` namespace on ``engine``."""
    announcer = (
        Announcer.from_settings(settings) if settings is not None else Announcer(None, "picloud")
    )
    opts = engine.options
    sizes = (opts.max_string_size, opts.max_array_size, opts.max_map_size)
    functions = build_functions(announcer, settings if settings is not None else _DefaultTtl())
    engine.register_static_module(_P, limit_sizes(namespace(_P, functions), sizes))
