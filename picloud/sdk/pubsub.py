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
from picloud.errors import InvalidInput
from picloud.execution.run import ScriptRun
from picloud.realtime.broadcaster import Announcer
from picloud.rhai.engine import Engine
from picloud.sdk._common import fail, limit_sizes, namespace
from picloud.sdk._service import bound_run, checked, script_meta, service_call
from picloud.sdk._values import to_stored
from picloud.services import pubsub as service

__all__ = ["install_pubsub"]

_P = "pubsub"


def build_functions(announcer: Announcer, limits: Any) -> dict[str, Callable[..., Any]]:
    """The ``pubsub::`` functions; ``limits`` has the subscriber-token TTL settings."""

    def publish_durable(topic: Any, message: Any) -> int:
        """``pubsub::publish_durable(topic, message)``: the publish's log position."""
        name = checked(_P, "publish_durable", lambda: service.check_topic(topic))
        data = checked(_P, "publish_durable", lambda: service.encode_message(to_stored(message)))
        run = bound_run(_P, "publish_durable")

        async def publish(conn: Any, run: ScriptRun) -> int:
            recorded = await service.publish(conn, script_meta(run), run.app_id, name, data)
            return recorded.position

        position = int(
            service_call(
                _P, "publish_durable", run, AppPubsubPublish(run.app_id), "script:write", publish
            )
        )
        # Committed: now wake the SSE streams (best effort, never fails the publish).
        announcer.announce(run.app_id, name, position)
        return position

    def subscriber_token(topics: Any, ttl: Any = None) -> str:
        """``pubsub::subscriber_token(topics, ttl_seconds?)``: a token for those topics."""
        from picloud.realtime import tokens

        names = checked(_P, "subscriber_token", lambda: tokens.check_topics(topics))
        if ttl is not None and (type(ttl) is not int):
            fail(
                _P,
                "subscriber_token: ttl must be an integer number of seconds [pubsub_invalid_ttl]",
            )
        seconds = tokens.clamp_ttl(ttl, limits)
        run = bound_run(_P, "subscriber_token")
        if run.principal is None:
            fail(
                _P,
                "subscriber_token: needs an authenticated caller (the request had no credentials)"
                " [pubsub_unauthenticated]",
            )

        async def mint(conn: Any, run: ScriptRun) -> str:
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

        return str(
            service_call(
                _P, "subscriber_token", run, AppPubsubPublish(run.app_id), "script:write", mint
            )
        )

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
