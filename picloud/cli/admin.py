"""``picloud admin``: create users and API keys from the command line.

``create-key`` prints the key once on stdout (alone, so scripts can capture
it); it is stored only as a hash and cannot be shown again.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from picloud.errors import InvalidInput
from picloud.settings import Settings, get_settings

__all__ = ["register"]

T = TypeVar("T")


def register(subparsers: Any) -> None:
    """Add ``admin create-user`` and ``admin create-key``."""
    admin = subparsers.add_parser("admin", help="manage users and API keys")
    sub = admin.add_subparsers(dest="admin_command", metavar="ACTION", required=True)

    user = sub.add_parser("create-user", help="create a user (password read from stdin)")
    user.add_argument("--email", required=True)
    user.add_argument(
        "--password-stdin",
        action="store_true",
        required=True,
        help="read the password from standard input (never from the command line)",
    )
    user.add_argument("--instance-admin", action="store_true", help="grant every capability")
    user.set_defaults(handler=_create_user)

    key = sub.add_parser("create-key", help="issue an API key (printed once)")
    key.add_argument("--name", required=True)
    key.add_argument(
        "--scope",
        dest="scopes",
        action="extend",
        nargs="+",
        required=True,
        metavar="SCOPE",
        help="one or more of instance:admin app:read app:write app:admin script:read"
        " script:write events:read",
    )
    key.add_argument("--app", help="restrict the key to this app (id or slug)")
    key.add_argument("--expires-at", help="ISO 8601 time with timezone, e.g. 2030-01-01T00:00:00Z")
    key.set_defaults(handler=_create_key)


def _run(settings: Settings, action: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``action(conn)`` after migrating, on the configured or embedded database."""

    async def main(dsn: str) -> T:
        from picloud.db import connect
        from picloud.migrations import migrate

        await migrate(dsn)
        conn = await connect(dsn)
        try:
            return await action(conn)
        finally:
            await conn.close()

    services = None
    if settings.database_url is None:
        from picloud.embedded import EmbeddedServices

        services = EmbeddedServices(settings.data_dir, redis=False).start()
        settings = services.apply(settings)
    try:
        return asyncio.run(main(settings.database_url or ""))
    finally:
        if services is not None:
            services.stop()


def _context() -> Any:
    from picloud.services.context import CLI_ACTOR, CommandContext

    return CommandContext(actor=CLI_ACTOR, request_id=f"cli-{uuid.uuid4().hex}")


def _read_password() -> str:
    text = sys.stdin.readline() if sys.stdin.isatty() else sys.stdin.read()
    return text.rstrip("\r\n")


def _create_user(args: argparse.Namespace) -> int:
    from picloud.services import identity

    password = _read_password()
    user = _run(
        get_settings(),
        lambda conn: identity.create_user(
            conn, _context(), args.email, password, instance_admin=args.instance_admin
        ),
    )
    role = "instance admin" if user.instance_admin else "user"
    print(f"created {role} {user.email} (id {user.id})")
    return 0


def _parse_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"expires-at: {text!r} is not an ISO 8601 time", details={"field": "expires_at"}
        ) from None


def _create_key(args: argparse.Namespace) -> int:
    from picloud.services import apps, identity

    expires_at = _parse_time(args.expires_at)

    async def action(conn: Any) -> Any:
        app_id = (await apps.resolve_app(conn, args.app)).id if args.app else None
        return await identity.create_api_key(
            conn, _context(), args.name, args.scopes, app_id=app_id, expires_at=expires_at
        )

    created = _run(get_settings(), action)
    print(created.key)
    restriction = f", app {created.app_id}" if created.app_id else ""
    print(
        f"API key {created.id} ({created.name}): scopes {' '.join(created.scopes)}{restriction}."
        " Store it now: it is not shown again.",
        file=sys.stderr,
    )
    return 0
