"""Fixtures for realtime tests: the trigger fixtures (API app, Redis broker, worker) plus a publisher route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.integration.triggers.conftest import (  # noqa: F401 - fixtures re-exported
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    RECORDER,
    Deployer,
    Env,
    admin_headers,
    app,
    broker,
    client,
    deploy,
    dp_settings,
    wait_for,
    worker,
)

#: Publishes ``body.message`` on ``body.topic``; ``body.blob`` adds a Blob inside the message.
PUBLISHER = r"""
let b = ctx.request.body;
let m = b.message;
if b.blob == true { m = #{inner: [blob(3, 7)], text: b.message}; }
let p = pubsub::publish_durable(b.topic, m);
#{position: p}
"""


class PubEnv(Env):
    """An app with the KV route of :class:`Env` and a ``POST /pub`` publisher route."""

    async def setup(self) -> PubEnv:
        await super().setup()
        await self.deploy.endpoint(self.app["slug"], "POST", "/pub", PUBLISHER)
        return self

    async def publish(
        self, topic: Any, message: Any, *, blob: bool = False, status: int = 200
    ) -> Any:
        """Run the publisher route; its JSON body."""
        r = await self.client.post(
            f"/a/{self.app['slug']}/pub", json={"topic": topic, "message": message, "blob": blob}
        )
        assert r.status_code == status, r.text
        return r.json()


@pytest.fixture
async def pub(deploy: Deployer, pool: Any) -> AsyncIterator[PubEnv]:  # noqa: F811
    """A fresh app with the publisher route."""
    env = PubEnv(deploy, pool)
    yield await env.setup()
