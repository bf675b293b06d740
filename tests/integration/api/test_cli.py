"""``picloud admin create-user/create-key`` and ``picloud dev``, run as real processes."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys

import httpx

from picloud.settings import Settings
from tests.integration.api.conftest import Seed


async def _picloud(settings: Settings, *args: str, stdin: bytes = b"") -> tuple[int, str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url or "",
        "REDIS_URL": settings.redis_url or "",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "picloud",
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin), timeout=60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_create_user_reads_the_password_from_stdin(settings: Settings, seed: Seed) -> None:
    code, out, err = await _picloud(
        settings,
        "admin",
        "create-user",
        "--email",
        "Ops@Example.com",
        "--password-stdin",
        "--instance-admin",
        stdin=b"long-enough-pw\n",
    )
    assert code == 0, err
    assert "ops@example.com" in out
    assert await seed.login_with("ops@example.com", "long-enough-pw")
    # A second time is a clean error, not a traceback
    code, out, err = await _picloud(
        settings,
        "admin",
        "create-user",
        "--email",
        "ops@example.com",
        "--password-stdin",
        stdin=b"long-enough-pw\n",
    )
    assert code == 1 and err.startswith("error[duplicate_email]") and "Traceback" not in err


async def test_create_key_prints_the_key_once(settings: Settings, seed: Seed) -> None:
    app = await seed.app("shop")
    code, out, err = await _picloud(
        settings,
        "admin",
        "create-key",
        "--name",
        "deploy",
        "--scope",
        "app:read",
        "events:read",
        "--app",
        "shop",
        "--expires-at",
        "2099-01-01T00:00:00Z",
    )
    assert code == 0, err
    key = out.strip()
    assert key.startswith("pk_") and "\n" not in key
    async with seed.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT scopes, app_id::text AS app_id, key_hash FROM api_keys")
    assert (sorted(row["scopes"]), row["app_id"]) == (["app:read", "events:read"], app.id)
    assert key not in row["key_hash"]
    code, _, err = await _picloud(settings, "admin", "create-key", "--name", "x", "--scope", "nope")
    assert code == 1 and err.startswith("error[invalid_input]")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_dev_serves_the_api_until_interrupted(settings: Settings) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url or "",
        "REDIS_URL": settings.redis_url or "",
        "PICLOUD_PORT": str(port),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "picloud",
        "dev",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        status = None
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(300):
                if proc.returncode is not None:
                    break
                try:
                    status = (await client.get("/readyz")).status_code
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        if status is None and proc.returncode is not None:
            err = (await proc.stderr.read()).decode() if proc.stderr else ""
            raise AssertionError(f"picloud dev exited with {proc.returncode}: {err[-2000:]}")
        assert status == 200
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), timeout=20)
