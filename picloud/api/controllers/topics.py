"""``/api/v1/admin/apps/{app}/topics``: realtime topics; ``…/subscriber-tokens/rotate``: the token key."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from picloud.api.deps import Caller, DbConn, app_access, command_context, dependencies
from picloud.auth.capabilities import AppTopicManage
from picloud.errors import InvalidInput
from picloud.realtime import tokens
from picloud.realtime.broadcaster import announce_topic_change
from picloud.services import topics as service
from picloud.services.topics import TopicView

__all__ = ["SubscriberTokensController", "TopicsController"]


async def _body(request: Request[Any, Any, Any]) -> Any:
    try:
        return await request.json()
    except Exception:  # noqa: BLE001 - any undecodable body is the client's error
        raise InvalidInput("body must be JSON", code="invalid_json") from None


async def _announce(request: Request[Any, Any, Any], app_id: str, name: str) -> None:
    """After commit: live subscribers of ``name`` re-check it (and are cut off if refused)."""
    settings = request.app.state.settings
    await announce_topic_change(request.app.state.redis, settings.redis_namespace, app_id, name)


class TopicsController(Controller):
    """Realtime topics of an app (``AppTopicManage`` → ``app:admin`` for every call)."""

    path = "/api/v1/admin/apps/{app:str}/topics"
    tags = ("realtime",)
    dependencies = dependencies

    @post("/", status_code=HTTP_201_CREATED)
    async def create(
        self, request: Request[Any, Any, Any], app: FromPath[str], conn: DbConn, principal: Caller
    ) -> TopicView:
        """``{name, external_subscribable?: false, auth_mode?: "token"}``; internal by default."""
        found = await app_access(conn, principal, app, AppTopicManage)
        body = await _body(request)
        return await service.create_topic(conn, command_context(request, principal), found.id, body)

    @get("/")
    async def list_topics(
        self, app: FromPath[str], conn: DbConn, principal: Caller
    ) -> list[TopicView]:
        """The app's registered topics by name."""
        found = await app_access(conn, principal, app, AppTopicManage)
        return await service.list_topics(conn, found.id)

    @get("/{name:str}")
    async def get_topic(
        self, app: FromPath[str], name: FromPath[str], conn: DbConn, principal: Caller
    ) -> TopicView:
        """One registered topic."""
        found = await app_access(conn, principal, app, AppTopicManage)
        view = await service.get_topic(conn, found.id, name)
        if view is None:
            raise service.not_found(name)
        return view

    @patch("/{name:str}")
    async def update(
        self,
        request: Request[Any, Any, Any],
        app: FromPath[str],
        name: FromPath[str],
        conn: DbConn,
        principal: Caller,
    ) -> TopicView:
        """``{external_subscribable?, auth_mode?}``; subscribers the topic no longer admits are cut off."""
        found = await app_access(conn, principal, app, AppTopicManage)
        body = await _body(request)
        view = await service.update_topic(
            conn, command_context(request, principal), found.id, name, body
        )
        await _announce(request, found.id, name)
        return view

    @delete("/{name:str}", status_code=HTTP_204_NO_CONTENT)
    async def delete_topic(
        self,
        request: Request[Any, Any, Any],
        app: FromPath[str],
        name: FromPath[str],
        conn: DbConn,
        principal: Caller,
    ) -> None:
        """Unregister the topic and disconnect its live subscribers."""
        found = await app_access(conn, principal, app, AppTopicManage)
        await service.delete_topic(conn, command_context(request, principal), found.id, name)
        await _announce(request, found.id, name)


class SubscriberTokensController(Controller):
    """``POST /api/v1/admin/apps/{app}/subscriber-tokens/rotate`` (``AppTopicManage``)."""

    path = "/api/v1/admin/apps/{app:str}/subscriber-tokens"
    tags = ("realtime",)
    dependencies = dependencies

    @post("/rotate", status_code=HTTP_204_NO_CONTENT)
    async def rotate(
        self, request: Request[Any, Any, Any], app: FromPath[str], conn: DbConn, principal: Caller
    ) -> None:
        """Replace the app's signing key: every token minted so far stops working at once."""
        found = await app_access(conn, principal, app, AppTopicManage)
        await tokens.rotate_key(conn, command_context(request, principal).meta(), found.id)
        settings = request.app.state.settings
        await announce_topic_change(
            request.app.state.redis, settings.redis_namespace, found.id, "*", kind="rotate"
        )
