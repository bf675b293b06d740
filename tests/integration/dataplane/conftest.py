"""Fixtures for the data plane: the API app on this test's database and a deployer.

Apps, scripts and routes are created through the admin API, exactly as an
app author would, and app routes are called through HTTP by Host or by the
``/a/{slug}`` prefix.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from picloud.api import create_app
from picloud.settings import Settings
from tests.integration._deploy import ADMIN_EMAIL, ADMIN_PASSWORD, Deployer, admin_login

# Re-exported: the tests, and the KV, docs and trigger conftests, import these from here.
__all__ = ["ADMIN_EMAIL", "ADMIN_PASSWORD", "Deployer"]

#: Short so the limit tests finish quickly.
TIMEOUT_MS = 1000


def make_app(settings: Settings) -> Litestar:
    """The API app with the data plane in front (installed here if app.py does not yet)."""
    app = create_app(settings)
    if app.state.get("dataplane") is None:
        from picloud.dataplane import install_data_plane

        install_data_plane(app)
    return app


@pytest.fixture
def dp_settings(settings: Settings) -> Settings:
    """This test's settings: bootstrap admin, short script timeout, small body limit."""
    return settings.replace(
        bootstrap_admin_email=ADMIN_EMAIL,
        bootstrap_admin_password=ADMIN_PASSWORD,
        script_timeout_ms=TIMEOUT_MS,
        max_request_body_bytes=64 * 1024,
        base_domain="picloud.test",
    )


@pytest.fixture
def app(dp_settings: Settings) -> Litestar:
    """The API application (its lifespan migrates and opens the pool)."""
    return make_app(dp_settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """An HTTP client running the app in the test's event loop."""
    async with AsyncTestClient(app, base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture
async def admin_headers(client: AsyncTestClient[Litestar]) -> dict[str, str]:
    """Headers of the bootstrap instance admin, logged in through the API."""
    return await admin_login(client)


@pytest.fixture
async def deploy(client: AsyncTestClient[Litestar], admin_headers: dict[str, str]) -> Deployer:
    """The deployer, acting as the instance admin."""
    return Deployer(client, admin_headers)


def host(slug: str) -> dict[str, str]:
    """The Host header of app ``slug`` under the test base domain."""
    return {"Host": f"{slug}.picloud.test"}


def error_of(response: Any) -> dict[str, Any]:
    """The ``error`` object of an error response (asserting the shape)."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]), body
    return dict(body["error"])


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes ``Settings.from_env()`` equal ``settings``."""
    from picloud.settings import ENV_VARS

    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS.values()}
    for field, var in ENV_VARS.items():
        value = getattr(settings, field)
        if value is not None:
            env[var] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_process(settings: Settings, *, graceful_shutdown: int | None = None) -> Iterator[str]:
    """The API served by uvicorn in a child process on a loopback port; yields its base URL.

    ``graceful_shutdown`` (seconds) bounds how long uvicorn waits for open
    requests on SIGTERM: SSE streams never finish on their own.
    """
    port = _free_port()
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "picloud.api.asgi:app_from_env",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    if graceful_shutdown is not None:
        args += ["--timeout-graceful-shutdown", str(graceful_shutdown)]
    proc = subprocess.Popen(args, env=settings_env(settings))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with {proc.returncode}")
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start within 60 s")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def live_url(dp_settings: Settings) -> Iterator[str]:
    """Base URL of the app served in its own process over loopback (for concurrency tests)."""
    with serve_process(dp_settings) as url:
        yield url


@pytest.fixture
async def live(live_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the live server."""
    async with httpx.AsyncClient(base_url=live_url, timeout=30) as c:
        yield c


@pytest.fixture
async def live_deploy(live: httpx.AsyncClient) -> Deployer:
    """The deployer against the live server, as the instance admin."""
    return Deployer(live, await admin_login(live))  # type: ignore[arg-type]
