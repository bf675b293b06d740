"""Numbered SQL migrations: discover, check and apply them.

Files are ``migrations/NNNN_name.sql``. Each is applied in its own transaction
and recorded in ``schema_migrations`` with the SHA-256 of its text. An applied
file whose text has changed since is refused (:class:`MigrationError` naming the
file): the database no longer matches what the file says, and silently skipping
or re-running it would hide that. Every process runs :func:`migrate` at start,
so concurrent starters serialize on a session advisory lock; the second one
finds nothing left to do.

A migration whose first line is ``-- picloud:no-transaction`` runs outside a
transaction (for ``CREATE INDEX CONCURRENTLY`` and the like). PostgreSQL runs a
multi-statement string as one implicit transaction, so such a file holds a
single statement; make it idempotent (``IF NOT EXISTS``), because a crash
between running it and recording it runs it again.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from picloud.errors import MigrationError

__all__ = ["LOCK_KEY", "MIGRATIONS_DIR", "Migration", "applied", "discover", "migrate"]

#: Where the repository keeps its migrations.
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

#: Session advisory lock held while migrating ("picloud.migrate").
LOCK_KEY = 0x7069636C6F7564  # ASCII "picloud"

_NAME = re.compile(r"^(\d{4})_([a-z0-9][a-z0-9_]*)\.sql$")
_NO_TRANSACTION = "-- picloud:no-transaction"

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    path: Path
    sql: str
    checksum: str
    transactional: bool = True

    @property
    def filename(self) -> str:
        """The file's name, e.g. ``0001_event_log.sql``."""
        return self.path.name


def discover(directory: Path | None = None) -> list[Migration]:
    """All migrations in ``directory`` in version order; a badly named .sql file is an error."""
    directory = MIGRATIONS_DIR if directory is None else directory
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise MigrationError(
                f"{path.name}: migration files must be named NNNN_lower_snake.sql",
                details={"file": path.name},
            )
        # Normalise line endings so a checkout with autocrlf does not look edited.
        text = path.read_bytes().replace(b"\r\n", b"\n")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(
                f"{path.name}: version {version:04d} is also used by {found[version].filename}",
                details={"file": path.name},
            )
        sql = text.decode("utf-8")
        found[version] = Migration(
            version=version,
            name=match.group(2),
            path=path,
            sql=sql,
            checksum=hashlib.sha256(text).hexdigest(),
            transactional=sql.lstrip().partition("\n")[0].strip() != _NO_TRANSACTION,
        )
    return [found[v] for v in sorted(found)]


async def applied(conn: asyncpg.Connection) -> dict[int, tuple[str, str]]:
    """Applied versions → (name, checksum); empty when nothing was ever migrated."""
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return {}
    rows = await conn.fetch("SELECT version, name, checksum FROM schema_migrations")
    return {r["version"]: (r["name"], r["checksum"]) for r in rows}


async def migrate(target: asyncpg.Connection | str, directory: Path | None = None) -> list[str]:
    """Apply every pending migration in order; returns the file names applied.

    Raises:
        MigrationError: a file is misnamed, an applied file was edited or deleted,
            or a migration's SQL fails (the message names the file).
    """
    migrations = discover(directory)
    if isinstance(target, str):
        conn = await asyncpg.connect(target)
        try:
            return await _migrate(conn, migrations)
        finally:
            await conn.close()
    return await _migrate(target, migrations)


async def _migrate(conn: asyncpg.Connection, migrations: list[Migration]) -> list[str]:
    if conn.is_in_transaction():
        raise MigrationError("migrate() needs a connection outside any transaction")
    # Session-level, not transaction-level: the lock must span the several
    # transactions below so a second starter waits and then sees them applied.
    await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
    try:
        await conn.execute(_CREATE_TABLE)
        done = await applied(conn)
        by_version = {m.version: m for m in migrations}
        for version, (name, checksum) in sorted(done.items()):
            migration = by_version.get(version)
            if migration is None:
                raise MigrationError(
                    f"{version:04d}_{name}.sql was applied but is missing from the migrations"
                    " directory",
                    details={"file": f"{version:04d}_{name}.sql"},
                )
            if migration.checksum != checksum:
                raise MigrationError(
                    f"{migration.filename} was edited after it was applied (checksum differs);"
                    " add a new migration instead",
                    details={"file": migration.filename},
                )
        applied_now: list[str] = []
        for migration in migrations:
            if migration.version in done:
                continue
            record = "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)"
            args = (migration.version, migration.name, migration.checksum)
            try:
                if migration.transactional:
                    async with conn.transaction():
                        await conn.execute(migration.sql)
                        await conn.execute(record, *args)
                else:
                    await conn.execute(migration.sql)
                    await conn.execute(record, *args)
            except asyncpg.PostgresError as exc:
                raise MigrationError(
                    f"{migration.filename} failed: {exc}", details={"file": migration.filename}
                ) from exc
            applied_now.append(migration.filename)
        return applied_now
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
