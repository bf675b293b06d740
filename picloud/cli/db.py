"""Database commands: ``picloud migrate``, ``picloud events list``, ``picloud projections rebuild``.

Each runs against ``DATABASE_URL``, or against the embedded PostgreSQL under
``PICLOUD_DATA_DIR`` when it is unset (started for the command, then stopped).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from picloud.db import connect
from picloud.errors import DependencyUnavailable, InvalidInput, NotFound, PicloudError
from picloud.events.store import read_all, read_app
from picloud.events.types import RecordedEvent, UnknownEvent
from picloud.migrations import migrate
from picloud.projections import load_all
from picloud.settings import Settings, get_settings

__all__ = ["load_projections", "register"]

#: Show a progress bar from this many events on.
PROGRESS_THRESHOLD = 2000


def load_projections() -> list[str]:
    """Register every event type and projection the platform defines."""
    return load_all()


@asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the configured database (embedded when DATABASE_URL is unset)."""
    services = None
    if settings.database_url is None:
        from picloud.embedded import EmbeddedServices

        services = EmbeddedServices(settings.data_dir, postgres=True, redis=False).start()
        settings = services.apply(settings)
    try:
        try:
            conn = await connect(settings, timeout=10)
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            raise DependencyUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc
        try:
            yield conn
        finally:
            await conn.close()
    finally:
        if services is not None:
            services.stop()


def _run(main: Callable[[asyncpg.Connection], Awaitable[int]], *, migrated: bool = True) -> int:
    """Run ``main`` on a connection; like every process, migrate first unless told not to."""

    async def runner() -> int:
        async with _database(get_settings()) as conn:
            try:
                if migrated:
                    await migrate(conn)
                return await main(conn)
            except asyncpg.PostgresError as exc:
                # A CLI prints "error[code]: message", never a traceback.
                raise PicloudError(f"database error: {exc}", code="database_error") from exc

    return asyncio.run(runner())


# -- picloud migrate ---------------------------------------------------------


def _migrate(args: argparse.Namespace) -> int:
    async def main(conn: asyncpg.Connection) -> int:
        applied = await migrate(conn)
        for name in applied:
            print(f"applied {name}")
        if not applied:
            print("database is up to date")
        return 0

    return _run(main, migrated=False)


# -- picloud events list -----------------------------------------------------


async def _resolve_app(conn: asyncpg.Connection, app: str) -> str:
    """An app id from an id or a slug."""
    try:
        return str(uuid.UUID(app))
    except ValueError:
        pass
    if await conn.fetchval("SELECT to_regclass('apps')") is not None:
        found = await conn.fetchval("SELECT id FROM apps WHERE slug = $1", app)
        if found is not None:
            return str(found)
    raise NotFound(f"no app with id or slug {app!r}", details={"app": app})


def event_to_dict(event: RecordedEvent) -> dict[str, Any]:
    """A JSON-ready view of a recorded event (``data`` without its type tag)."""
    if isinstance(event.event, UnknownEvent):
        data: Any = dict(event.event.data)
    else:
        data = msgspec.to_builtins(event.event)
        data.pop("type", None)
    return {
        "position": event.position,
        "app_id": event.app_id,
        "stream": event.stream,
        "version": event.version,
        "type": event.type,
        "schema_version": event.schema_version,
        "data": data,
        "meta": msgspec.to_builtins(event.meta),
        "recorded_at": event.recorded_at.isoformat(),
    }


def _events_list(args: argparse.Namespace) -> int:
    if args.after < 0:
        raise InvalidInput("--after must be >= 0", details={"field": "after"})
    if not 1 <= args.limit <= 100_000:
        raise InvalidInput("--limit must be between 1 and 100000", details={"field": "limit"})
    load_projections()

    async def main(conn: asyncpg.Connection) -> int:
        types = args.type or None
        if args.app is not None:
            app_id = await _resolve_app(conn, args.app)
            events = await read_app(conn, app_id, after=args.after, limit=args.limit, types=types)
        else:
            events = await read_all(conn, after=args.after, limit=args.limit, types=types)
        if args.json:
            sys.stdout.write(msgspec.json.encode([event_to_dict(e) for e in events]).decode())
            sys.stdout.write("\n")
            return 0
        header = ("position", "recorded_at", "app", "stream@version", "type", "actor")
        rows = [
            (
                str(e.position),
                e.recorded_at.isoformat(timespec="milliseconds"),
                e.app_id or "-",
                f"{e.stream}@{e.version}",
                e.type,
                e.meta.actor or "-",
            )
            for e in events
        ]
        if not sys.stdout.isatty():
            # Piped: whole values, tab-separated, so grep/cut/awk see everything.
            for line in (header, *rows):
                print("\t".join(line))
            return 0
        from rich.console import Console
        from rich.table import Table

        table = Table(box=None)
        for column in header:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*row)
        Console().print(table)
        return 0

    return _run(main)


# -- picloud projections rebuild ----------------------------------------------


def _rebuild(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from picloud.projections.rebuild import rebuild

    load_projections()
    console = Console(stderr=True)

    async def main(conn: asyncpg.Connection) -> int:
        bar: Progress | None = None
        task: Any = None

        def progress(done: int, total: int) -> None:
            nonlocal bar, task
            if total < PROGRESS_THRESHOLD:
                return
            if bar is None:
                bar = Progress(
                    "replaying events",
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeRemainingColumn(),
                    console=console,
                    transient=True,
                )
                bar.start()
                task = bar.add_task("replay", total=total)
            bar.update(task, completed=done)

        try:
            report = await rebuild(
                conn,
                verify=args.verify,
                keep=args.keep,
                apply=args.apply,
                until=args.until_position,
                as_of=args.as_of,
                sample_size=args.sample,
                progress=progress,
            )
        finally:
            if bar is not None:
                bar.stop()
        print(
            f"replayed {report.events_replayed} events (up to position {report.last_position})"
            f" through {len(report.projections)} projections: {', '.join(report.projections)}"
        )
        if report.kept:
            print(f"shadow tables kept in schema {report.shadow_schema}")
        if report.applied:
            print("applied: the live projection tables now hold the replay")
        if not report.verified:
            return 0
        for diff in report.tables:
            state = (
                "identical"
                if diff.identical
                else (
                    f"DIFFERS: {diff.missing_in_shadow} live-only, {diff.extra_in_shadow} shadow-only"
                )
            )
            print(f"  {diff.table}: {diff.live_rows} live / {diff.shadow_rows} rebuilt — {state}")
            for side, row in diff.sample:
                print(f"    {side}: {msgspec.json.encode(row).decode()}")
        if report.identical:
            print("verify: rebuilt projections are identical to the live tables")
            return 0
        if report.applied:
            print("verify: the differences above were repaired")
            return 0
        print("verify: projections differ from a replay of the log", file=sys.stderr)
        return 1

    return _run(main)


def _timestamp(text: str) -> datetime:
    """An ISO 8601 timestamp with a UTC offset (``Z`` allowed)."""
    try:
        value = datetime.fromisoformat(text)  # 3.11 accepts a trailing "Z"
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 timestamp: {text!r}") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a UTC offset, e.g. 2026-01-01T00:00Z")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``migrate``, ``events`` and ``projections`` to the ``picloud`` command."""
    p = subparsers.add_parser("migrate", help="apply pending database migrations")
    p.set_defaults(handler=_migrate)

    events = subparsers.add_parser("events", help="read the event log")
    ev_sub = events.add_subparsers(dest="events_command", metavar="COMMAND", required=True)
    ls = ev_sub.add_parser("list", help="list events in position order")
    ls.add_argument("--app", help="only this app's events (id or slug)")
    ls.add_argument("--after", type=int, default=0, help="only events after this position")
    ls.add_argument("--type", action="append", help="only this event type (repeatable)")
    ls.add_argument("--limit", type=int, default=1000, help="at most this many (default 1000)")
    ls.add_argument("--json", action="store_true", help="print a JSON array")
    ls.set_defaults(handler=_events_list)

    proj = subparsers.add_parser("projections", help="maintain projections")
    pr_sub = proj.add_subparsers(dest="projections_command", metavar="COMMAND", required=True)
    rb = pr_sub.add_parser("rebuild", help="replay the log into shadow tables")
    rb.add_argument(
        "--verify",
        action="store_true",
        help="compare with the live tables; exit 1 on any difference",
    )
    rb.add_argument("--keep", action="store_true", help="keep the shadow schema for inspection")
    rb.add_argument(
        "--apply",
        action="store_true",
        help="replace the live tables with the replay (blocks appends while it runs)",
    )
    rb.add_argument(
        "--until-position",
        type=int,
        metavar="P",
        help="replay only up to position P into a kept shadow schema (state as of P)",
    )
    rb.add_argument(
        "--as-of",
        type=_timestamp,
        metavar="TIME",
        help="replay only events recorded at or before TIME (ISO 8601, with offset)",
    )
    rb.add_argument("--sample", type=int, default=10, help="differing rows shown per table")
    rb.set_defaults(handler=_rebuild)
