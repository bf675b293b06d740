"""The Litestar application factory: ``create_app(settings) -> Litestar``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Router, get
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

import picloud
from picloud.api.controllers.api_keys import ApiKeysController
from picloud.api.controllers.apps import AppsController
from picloud.api.controllers.auth import AuthController
from picloud.api.controllers.dead_letters import DeadLettersController
from picloud.api.controllers.docs import DocsController
from picloud.api.controllers.events import EventsController
from picloud.api.controllers.health import healthz, readyz
from picloud.api.controllers.kv import KvController
from picloud.api.controllers.routes import RoutesController
from picloud.api.controllers.scripts import ScriptsController
from picloud.api.controllers.topics import SubscriberTokensController, TopicsController
from picloud.api.controllers.triggers import (
    JobsController,
    SystemQueuesController,
    TriggersController,
)
from picloud.api.controllers.users import UsersController
from picloud.api.errors import exception_handlers
from picloud.api.request_id import add_request_id_header
from picloud.dataplane import install_data_plane

__all__ = ["ROUTE_HANDLERS", "create_app"]

log = logging.getLogger("picloud.api")

#: Where Litestar's own schema router lives; the public document is /api/v1/openapi.json.
_SCHEMA_ROUTER_PATH = "/api/v1/openapi"


def _no_html_404(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    # Litestar's schema router answers unknown paths under it with an HTML
    # page; refuse them here so the JSON error handler answers instead.
    if handler.handler_name == "handle_schema_path_not_found":
        raise NotFoundException()


@get("/api/v1/openapi.json", include_in_schema=False, security=[])
async def openapi_json(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The OpenAPI document of the admin API."""
    return request.app.openapi_schema.to_schema()


def _openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="PiCloud admin API",
        version=picloud.__version__,
        path=_SCHEMA_ROUTER_PATH,
        render_plugins=[JsonRenderPlugin()],
        openapi_router=Router(
            _SCHEMA_ROUTER_PATH,
            route_handlers=[],
            include_in_schema=False,
            guards=[_no_html_404],
        ),
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="An API key (pk_…) or a session token from /api/v1/auth/login",
                )
            }
        ),
        security=[{"bearer": []}],
    )


#: Every controller of the admin API; later issues append theirs here.
ROUTE_HANDLERS: list[Any] = [
    openapi_json,
    healthz,
    readyz,
    AuthController,
    UsersController,
    ApiKeysController,
    AppsController,
    EventsController,
    ScriptsController,
    RoutesController,
    KvController,
    DocsController,
    TriggersController,
    DeadLettersController,
    JobsController,
    SystemQueuesController,
    TopicsController,
    SubscriberTokensController,
]


async def _release_reset(conn: Any) -> None:
    """Pool release hook: roll back a leaked transaction, skip the full session reset.

    Request handlers leave no session state behind (no LISTEN, session-level
    SET or session advisory lock; long-lived listeners use their own
    connection), so asyncpg's default RESET ALL / UNLISTEN / unlock round trip
    on every release is pure cost: about a third of a simple admin request.
    """
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


@asynccontextmanager
async def _lifespan(app: Litestar) -> AsyncIterator[None]:
    """Migrate, open the Postgres pool and Redis client, bootstrap the first admin."""
    from picloud.db import create_pool
    from picloud.migrations import migrate
    from picloud.services.identity import bootstrap_admin

    settings = app.state.settings
    if app.state.run_migrations:
        await migrate(settings.database_url)
    pool = await create_pool(settings, reset=_release_reset)
    app.state.pool = pool
    redis = None
    if settings.redis_url:
        from redis.asyncio import Redis

        redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
    app.state.redis = redis
    # One Redis subscription per process fans committed publishes out to SSE streams.
    from picloud.realtime.broadcaster import Broadcaster
    from picloud.realtime.sse import RealtimeEndpoint

    hub = Broadcaster.from_settings(settings, pool)
    await hub.start()
    app.state.realtime = hub
    app.state.realtime_sse = RealtimeEndpoint(hub, settings)
    try:
        async with pool.acquire() as conn:
            made = await bootstrap_admin(
                conn, settings.bootstrap_admin_email, settings.bootstrap_admin_password
            )
        if made is not None:
            log.info("bootstrap: created instance admin %s", made.email)
        yield
    finally:
        app.state.realtime_sse = None
        await hub.stop()
        app.state.pool = None
        await pool.close()
        if redis is not None:
            await redis.aclose()


def create_app(settings: Any, *, run_migrations: bool = True, debug: bool = False) -> Litestar:
    """Build the API application for ``settings`` (resources open in its lifespan)."""
    app = Litestar(
        route_handlers=list(ROUTE_HANDLERS),
        exception_handlers=exception_handlers,
        before_send=[add_request_id_header],
        lifespan=[_lifespan],
        openapi_config=_openapi(),
        # Litestar refuses a larger Content-Length up front and stops reading
        # a streamed body as soon as it passes the limit.
        request_max_body_size=settings.max_request_body_bytes,
        debug=debug,
        logging_config=None,
    )
    app.state.settings = settings
    app.state.run_migrations = run_migrations
    app.state.pool = None
    app.state.redis = None
    app.state.realtime = None
    app.state.realtime_sse = None
    # App routes (by Host or /a/{slug}) are answered in front of Litestar's router.
    install_data_plane(app)
    return app
