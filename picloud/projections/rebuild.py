"""Replay the log into shadow tables and compare them with the live ones.

Everything happens in one REPEATABLE READ transaction: its snapshot fixes the
set of committed events *and* the live tables those same transactions
produced, so the comparison is exact however busy the instance is (the bound
is the snapshot's ``max(position)``). Appends keep running meanwhile; the
rebuild never takes the append locks. The shadow schema is created inside the
transaction and vanishes with the rollback unless ``keep=True``.

``apply=True`` repairs the live tables from the replay: it first blocks new
appends (``LOCK TABLE events IN EXCLUSIVE MODE``; reads go on), then replaces
each live table's rows with the shadow's, parents first, in the same
transaction. Appends wait for the whole run, so it is a maintenance step.

``until`` / ``as_of`` replay only a prefix of the log (events at or before a
position, or recorded at or before a time) into a kept shadow schema: the
state as of that point, for audit. Within an app both are prefixes in commit
order, because appends of one app are serial.

Replay correctness rests on the append path: within an app, appends (and
their inline projections) run one after another in position order, so
applying events in position order reproduces what the live path did.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from picloud.errors import InvalidInput, PicloudError
from picloud.events.codec import ROW_COLUMNS, decode_row
from picloud.projections.base import (
    Projection,
    _iter_tables,
    all_projections,
    quote_ident,
    table_ref,
)

__all__ = ["Progress", "RebuildReport", "TableDiff", "rebuild"]

#: ``progress(done, total)`` after each batch of replayed events.
Progress = Callable[[int, int], None]

#: Types without a btree equality operator, compared through a cast.
_CASTS = {
    "json": "jsonb",
    "xml": "text",
    "point": "text",
    "line": "text",
    "lseg": "text",
    "box": "text",
    "path": "text",
    "polygon": "text",
    "circle": "text",
}


@dataclass(frozen=True)
class TableDiff:
    """How one shadow table differs from its live twin."""

    table: str
    live_rows: int
    shadow_rows: int
    missing_in_shadow: int
    """Live rows the replay did not produce (counted with multiplicity)."""
    extra_in_shadow: int
    """Rows the replay produced that the live table lacks."""
    sample: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Up to ``sample_size`` rows per side: ``("live only" | "shadow only", row)``."""

    @property
    def identical(self) -> bool:
        """No row differs."""
        return self.missing_in_shadow == 0 and self.extra_in_shadow == 0


@dataclass(frozen=True)
class RebuildReport:
    """What a rebuild replayed and, when verified, how it compared."""

    shadow_schema: str
    events_replayed: int
    last_position: int
    projections: list[str]
    verified: bool
    kept: bool
    applied: bool = False
    """The live tables were replaced by the replay (``tables`` shows what was repaired)."""
    tables: list[TableDiff] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        """Every compared table matched (vacuously true when not verified)."""
        return all(t.identical for t in self.tables)


async def rebuild(
    conn: asyncpg.Connection,
    *,
    verify: bool = True,
    keep: bool = False,
    apply: bool = False,
    until: int | None = None,
    as_of: datetime | None = None,
    projections: Sequence[Projection] | None = None,
    sample_size: int = 10,
    batch_size: int = 2000,
    progress: Progress | None = None,
) -> RebuildReport:
    """Replay the whole log through ``projections`` (default: all registered) into shadow tables.

    Args:
        verify: compare every shadow table with its live table.
        keep: commit the shadow schema (named in the report) instead of dropping it.
        apply: replace the live tables' rows with the replay's (blocks appends
            meanwhile); ``tables`` then describes the differences repaired.
        until: replay only events with ``position <= until``.
        as_of: replay only events with ``recorded_at <= as_of`` (timezone-aware).

    Raises:
        InvalidInput: ``until``/``as_of`` combined with ``verify`` or ``apply``
            (a partial replay cannot match the live tables).
        PicloudError: ``rebuild_in_transaction`` if ``conn`` is already in a
            transaction; ``projection_table_missing`` if a projection names a
            table that does not exist.
    """
    if conn.is_in_transaction():
        raise PicloudError(
            "rebuild() needs a connection outside any transaction", code="rebuild_in_transaction"
        )
    partial = until is not None or as_of is not None
    if partial and (verify or apply):
        raise InvalidInput(
            "a rebuild up to a position or time cannot be verified or applied",
            code="invalid_rebuild_options",
        )
    if as_of is not None and as_of.tzinfo is None:
        raise InvalidInput("as_of must be timezone-aware", code="invalid_rebuild_options")
    window = _Window(until, as_of)
    chosen = list(all_projections() if projections is None else projections)
    names = {p.name for p in chosen}
    shadow = f"picloud_shadow_{uuid.uuid4().hex[:10]}"
    tr = conn.transaction(isolation="repeatable_read")
    await tr.start()
    try:
        if apply:
            # EXCLUSIVE conflicts with the ROW EXCLUSIVE an INSERT takes, so no
            # append can commit between our snapshot and the swap. LOCK is a
            # utility statement: the snapshot is taken after it is granted.
            await conn.execute("LOCK TABLE events IN EXCLUSIVE MODE")
        # The first query fixes the snapshot: the events and the live rows we
        # compare against are exactly those of transactions committed by now.
        bound = await conn.fetchrow(
            f"SELECT coalesce(max(position), 0) AS last, count(*) AS n FROM events"
            f" WHERE {window.sql(1)}",
            *window.args,
        )
        last, total = int(bound["last"]), int(bound["n"])
        tables = _iter_tables(chosen)
        await conn.execute(f"CREATE SCHEMA {quote_ident(shadow)}")
        for table in tables:
            if await conn.fetchval("SELECT to_regclass($1)", table_ref("public", table)) is None:
                raise PicloudError(
                    f"projection table public.{table} does not exist",
                    code="projection_table_missing",
                    details={"table": table},
                )
            await conn.execute(
                f"CREATE TABLE {table_ref(shadow, table)}"
                f" (LIKE {table_ref('public', table)} INCLUDING ALL)"
            )
        replayed = await _replay(conn, shadow, names, chosen, total, batch_size, progress, window)
        diffs = [await _compare(conn, shadow, t, sample_size) for t in tables] if verify else []
        if apply:
            await _swap(conn, shadow, tables)
            if not keep:
                await conn.execute(f"DROP SCHEMA {quote_ident(shadow)} CASCADE")
    except BaseException:
        await tr.rollback()
        raise
    if keep or apply or partial:
        await tr.commit()
    else:
        await tr.rollback()
    return RebuildReport(
        shadow_schema=shadow,
        events_replayed=replayed,
        last_position=last,
        projections=[p.name for p in chosen],
        verified=verify,
        kept=keep or partial,
        applied=apply,
        tables=diffs,
    )


@dataclass(frozen=True)
class _Window:
    """Which events a replay covers: all, or those up to a position and/or time."""

    until: int | None
    as_of: datetime | None

    @property
    def args(self) -> tuple[Any, ...]:
        """Query arguments for :meth:`sql`."""
        return (self.until, self.as_of)

    def sql(self, first: int) -> str:
        """The WHERE condition, with parameters numbered from ``first``."""
        return (
            f"(${first}::bigint IS NULL OR position <= ${first})"
            f" AND (${first + 1}::timestamptz IS NULL OR recorded_at <= ${first + 1})"
        )


async def _replay(
    conn: asyncpg.Connection,
    shadow: str,
    names: set[str],
    chosen: list[Projection],
    total: int,
    batch_size: int,
    progress: Progress | None,
    window: _Window,
) -> int:
    """Apply every event in the window in position order; returns how many were read."""
    handlers: dict[str, list[Projection]] = {}

    def handlers_for(event_type: str) -> list[Projection]:
        found = handlers.get(event_type)
        if found is None:
            found = [p for p in chosen if p.name in names and event_type in p.handles]
            handlers[event_type] = found
        return found

    after, done = 0, 0
    if progress is not None:
        progress(0, total)
    while True:
        rows = await conn.fetch(
            f"SELECT {ROW_COLUMNS} FROM events WHERE position > $1 AND {window.sql(3)}"
            " ORDER BY position LIMIT $2",
            after,
            batch_size,
            *window.args,
        )
        if not rows:
            break
        for row in rows:
            targets = handlers_for(row["type"])
            if targets:
                event = decode_row(row)
                for projection in targets:
                    await projection.apply(conn, event, shadow)
        after = rows[-1]["position"]
        done += len(rows)
        if progress is not None:
            progress(done, total)
    return done


async def _swap(conn: asyncpg.Connection, shadow: str, tables: list[str]) -> None:
    """Replace each live table's rows with the shadow's (children emptied first)."""
    for table in reversed(tables):
        await conn.execute(f"DELETE FROM {table_ref('public', table)}")
    for table in tables:
        # Generated columns are recomputed; identity values are copied as replayed.
        names = await conn.fetch(
            "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0"
            " AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
            table_ref("public", table),
        )
        cols = ", ".join(quote_ident(r["attname"]) for r in names)
        await conn.execute(
            f"INSERT INTO {table_ref('public', table)} ({cols}) OVERRIDING SYSTEM VALUE"
            f" SELECT {cols} FROM {table_ref(shadow, table)}"
        )


async def _columns(conn: asyncpg.Connection, table: str) -> list[str]:
    """The table's columns as comparable SELECT expressions."""
    rows = await conn.fetch(
        "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
        " WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped"
        " ORDER BY a.attnum",
        table_ref("public", table),
    )
    out = []
    for r in rows:
        col = quote_ident(r["attname"])
        cast = _CASTS.get(r["typname"])
        out.append(f"{col}::{cast} AS {col}" if cast else col)
    return out


async def _compare(
    conn: asyncpg.Connection, shadow: str, table: str, sample_size: int
) -> TableDiff:
    """EXCEPT ALL both ways between ``public.table`` and ``shadow.table``."""
    cols = ", ".join(await _columns(conn, table))
    live = f"SELECT {cols} FROM {table_ref('public', table)}"
    rebuilt = f"SELECT {cols} FROM {table_ref(shadow, table)}"
    counts = await conn.fetchrow(
        f"SELECT (SELECT count(*) FROM {table_ref('public', table)}) AS live,"
        f" (SELECT count(*) FROM {table_ref(shadow, table)}) AS shadow,"
        f" (SELECT count(*) FROM ({live} EXCEPT ALL {rebuilt}) d) AS missing,"
        f" (SELECT count(*) FROM ({rebuilt} EXCEPT ALL {live}) d) AS extra"
    )
    sample: list[tuple[str, dict[str, Any]]] = []
    if counts["missing"] or counts["extra"]:
        for side, query in (
            ("live only", f"{live} EXCEPT ALL {rebuilt}"),
            ("shadow only", f"{rebuilt} EXCEPT ALL {live}"),
        ):
            rows = await conn.fetch(
                f"SELECT to_jsonb(d) AS row FROM ({query}) d LIMIT $1", sample_size
            )
            sample.extend((side, r["row"]) for r in rows)
    return TableDiff(
        table=table,
        live_rows=int(counts["live"]),
        shadow_rows=int(counts["shadow"]),
        missing_in_shadow=int(counts["missing"]),
        extra_in_shadow=int(counts["extra"]),
        sample=sample,
    )
