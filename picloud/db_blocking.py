"""A blocking PostgreSQL connection that answers to asyncpg's connection API.

Script threads run the SDK's service coroutines on a connection of their own
(:mod:`picloud.execution.sessions`). With asyncpg that connection lives on an
event loop the thread has to run for every call: measured on the KV bench's
script, the loop turns, asyncpg's protocol and their system calls cost a
script thread ~180 µs of CPU per SDK call, while everything else a ``kv::``
call does (the Rhai call, checks, the event, the write batch) costs ~25 µs.

This connection sends each statement with libpq's ``PQexecPrepared``
(through psycopg's ``pq`` binding): one blocking call, one release of the
GIL while the server works, ~15 µs of CPU per query measured from one or
eight threads. Services are written once, against asyncpg's API
(``fetch``/``fetchrow``/``fetchval``/``execute``/``transaction``/
``is_in_transaction``): the coroutines here never suspend, so a script thread
steps them without its loop (:func:`picloud.execution.sessions`), and the
same service code runs on either driver rather than in twin versions.

It behaves as asyncpg does where services can tell:

- statements are prepared once per connection and the server infers the
  parameter types (``$n`` placeholders, as written); each argument is sent
  as text for the type the server expects, ``json``/``jsonb`` ones encoded
  with msgspec whatever their Python type (asyncpg's codecs in
  :mod:`picloud.db`), lists as array literals;
- results come back in binary and are decoded by psycopg's C loaders:
  ``json``/``jsonb`` with msgspec, ``timestamptz`` in ``timezone.utc``,
  uuids as ``uuid.UUID``; rows are :class:`Record` (by name or position);
- server errors raise asyncpg's exception classes (same ``sqlstate``,
  ``constraint_name``…), a lost connection
  ``asyncpg.ConnectionDoesNotExistError``;
- ``execute`` without arguments sends the text as is (several statements
  allowed) and returns the last command's status.

A statement blocks its thread until the server answers: the session arms a
watchdog that calls :meth:`BlockingConnection.cancel` on one past the run's
limit.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from types import TracebackType
from typing import Any, Self

import asyncpg
import msgspec
import psycopg
from psycopg import pq
from psycopg.adapt import Loader, Transformer
from psycopg.types.json import set_json_loads

from picloud.db import resolve_dsn, server_settings
from picloud.settings import Settings

__all__ = ["STATEMENT_CACHE_SIZE", "BlockingConnection", "Record", "connect_blocking"]

#: Prepared statements kept per connection (asyncpg keeps 100); the oldest goes first.
STATEMENT_CACHE_SIZE = 256

_encode = msgspec.json.encode
_OK = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK, pq.ExecStatus.EMPTY_QUERY)

#: PostgreSQL's binary timestamps count microseconds from here.
_PG_EPOCH = _dt.datetime(2000, 1, 1, tzinfo=_dt.UTC)
_PG_INFINITY = 2**63 - 1


class Record:
    """One row, read like an ``asyncpg.Record``: by column name or position."""

    __slots__ = ("_index", "_values")

    def __init__(self, values: Sequence[Any], index: dict[str, int]) -> None:
        self._values = tuple(values)
        self._index = index

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return self._values[self._index[key]]
        return self._values[key]

    def get(self, key: str, default: Any = None) -> Any:
        """The column's value, or ``default`` when the row has no such column."""
        i = self._index.get(key)
        return default if i is None else self._values[i]

    def keys(self) -> Iterator[str]:
        """Column names, in order."""
        return iter(self._index)

    def values(self) -> Iterator[Any]:
        """Column values, in order."""
        return iter(self._values)

    def items(self) -> Iterator[tuple[str, Any]]:
        """``(name, value)`` pairs, in order."""
        return zip(self._index, self._values, strict=False)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Record):
            return self._values == other._values
        if isinstance(other, tuple):
            return self._values == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values)

    def __repr__(self) -> str:
        inner = " ".join(f"{k}={v!r}" for k, v in self.items())
        return f"<Record {inner}>"


class _UtcTimestamptzLoader(Loader):
    """``timestamptz`` (binary) in ``timezone.utc``, as asyncpg returns it.

    psycopg would use the session's zone (a ``ZoneInfo``), which msgspec then
    encodes as ``+00:00`` instead of asyncpg's ``Z``.
    """

    format = pq.Format.BINARY

    def load(self, data: Any) -> _dt.datetime:
        micros = int.from_bytes(data, "big", signed=True)
        if micros == _PG_INFINITY:
            return _dt.datetime.max.replace(tzinfo=_dt.UTC)
        if micros == -_PG_INFINITY - 1:
            return _dt.datetime.min.replace(tzinfo=_dt.UTC)
        return _PG_EPOCH + _dt.timedelta(microseconds=micros)


# ---------------------------------------------------------------- arguments as text

Formatter = Callable[[Any], bytes]


def _text(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode()


def _bool(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode()
    return b"t" if value else b"f"


def _float(value: Any) -> bytes:
    if isinstance(value, float):
        if math.isnan(value):
            return b"NaN"
        if math.isinf(value):
            return b"Infinity" if value > 0 else b"-Infinity"
        return repr(value).encode()
    return str(value).encode()


def _json(value: Any) -> bytes:
    # asyncpg encodes any value of a json/jsonb parameter with the codec (a str
    # becomes a JSON string); msgspec.Raw is JSON already.
    if isinstance(value, msgspec.Raw):
        return bytes(value)
    return _encode(value)


def _time(value: Any) -> bytes:
    if isinstance(value, _dt.date):
        return value.isoformat().encode()
    return str(value).encode()


def _timestamptz(value: Any) -> bytes:
    # asyncpg takes a naive datetime for a timestamptz as UTC (not the session's zone).
    if isinstance(value, _dt.datetime) and value.tzinfo is None:
        return (value.isoformat() + "+00:00").encode()
    return _time(value)


def _interval(value: Any) -> bytes:
    if isinstance(value, _dt.timedelta):
        return f"{value.total_seconds()} seconds".encode()
    return str(value).encode()


def _bytea(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return b"\\x" + bytes(value).hex().encode()
    return str(value).encode()


def _array_of(element: Formatter) -> Formatter:
    def literal(items: Any) -> bytes:
        if isinstance(items, str | bytes):
            return _text(items)  # an array literal already
        parts = []
        for item in items:
            if item is None:
                parts.append(b"NULL")
            elif isinstance(item, list | tuple):
                parts.append(literal(item))
            else:
                text = element(item).replace(b"\\", b"\\\\").replace(b'"', b'\\"')
                parts.append(b'"' + text + b'"')
        return b"{" + b",".join(parts) + b"}"

    return literal


#: Formatter of each built-in type's text input, by type oid (others: ``str``).
_SCALARS: dict[int, Formatter] = {
    16: _bool,
    17: _bytea,
    114: _json,
    3802: _json,
    700: _float,
    701: _float,
    1082: _time,
    1114: _time,
    1184: _timestamptz,
    1186: _interval,
}
#: Array type oid → element type oid (the arrays PostgreSQL has built in for these).
_ARRAYS = {
    1000: 16, 1001: 17, 1005: 21, 1007: 23, 1009: 25, 1015: 1043, 1016: 20, 1021: 700,
    1022: 701, 1028: 26, 1115: 1114, 1182: 1082, 1185: 1184, 1187: 1186, 1231: 1700,
    2951: 2950, 199: 114, 3807: 3802, 1014: 1042, 1003: 19,
}  # fmt: skip


def _formatter(oid: int) -> Formatter:
    if oid in _ARRAYS:
        return _array_of(_SCALARS.get(_ARRAYS[oid], _text))
    return _SCALARS.get(oid, _text)


# ---------------------------------------------------------------- errors


def _error(result: Any, pgconn: Any) -> Exception:
    """The asyncpg exception a failed result (or a lost connection) would have raised there."""
    field = result.error_field if result is not None else None
    sqlstate = field(pq.DiagnosticField.SQLSTATE) if field else None
    if not sqlstate:
        message = pgconn.error_message.decode(errors="replace").strip()
        return asyncpg.ConnectionDoesNotExistError(message or "connection was closed")
    names = {
        "C": pq.DiagnosticField.SQLSTATE,
        "M": pq.DiagnosticField.MESSAGE_PRIMARY,
        "S": pq.DiagnosticField.SEVERITY_NONLOCALIZED,
        "D": pq.DiagnosticField.MESSAGE_DETAIL,
        "H": pq.DiagnosticField.MESSAGE_HINT,
        "W": pq.DiagnosticField.CONTEXT,
        "P": pq.DiagnosticField.STATEMENT_POSITION,
        "s": pq.DiagnosticField.SCHEMA_NAME,
        "t": pq.DiagnosticField.TABLE_NAME,
        "c": pq.DiagnosticField.COLUMN_NAME,
        "d": pq.DiagnosticField.DATATYPE_NAME,
        "n": pq.DiagnosticField.CONSTRAINT_NAME,
    }
    fields = {}
    for key, code in names.items():
        value = field(code)
        if value:
            fields[key] = value.decode(errors="replace")
    error: Exception = asyncpg.PostgresError.new(fields)
    return error


def _stale(exc: asyncpg.PostgresError) -> bool:
    """Whether ``exc`` says a prepared statement must be prepared again."""
    if isinstance(exc, asyncpg.InvalidSQLStatementNameError):
        return True
    return isinstance(exc, asyncpg.FeatureNotSupportedError) and "cached plan" in str(exc)


class _Statement:
    """A prepared statement: its name, how to send its arguments, its columns."""

    __slots__ = ("columns", "formatters", "name")

    def __init__(self, name: bytes, formatters: list[Formatter], columns: dict[str, int]) -> None:
        self.name = name
        self.formatters = formatters
        self.columns = columns


class _Transaction:
    """``conn.transaction()``: BEGIN … COMMIT, or a savepoint inside a transaction."""

    __slots__ = ("_conn", "_isolation", "_readonly", "_savepoint")

    def __init__(self, conn: BlockingConnection, isolation: str | None, readonly: bool) -> None:
        self._conn = conn
        self._isolation = isolation
        self._readonly = readonly
        self._savepoint: str | None = None

    async def start(self) -> None:
        """Begin (or set a savepoint when a transaction is open already)."""
        conn = self._conn
        if conn.is_in_transaction():
            conn._savepoints += 1
            self._savepoint = f"picloud_sp_{conn._savepoints}"
            await conn.execute(f"SAVEPOINT {self._savepoint}")
            return
        parts = ["BEGIN"]
        if self._isolation and self._isolation != "read_committed":
            parts.append("ISOLATION LEVEL " + self._isolation.replace("_", " ").upper())
        if self._readonly:
            parts.append("READ ONLY")
        await conn.execute(" ".join(parts))

    async def commit(self) -> None:
        """Commit (or release the savepoint)."""
        if self._savepoint is not None:
            await self._conn.execute(f"RELEASE SAVEPOINT {self._savepoint}")
        else:
            await self._conn.execute("COMMIT")

    async def rollback(self) -> None:
        """Roll back (to the savepoint)."""
        if self._savepoint is not None:
            await self._conn.execute(f"ROLLBACK TO SAVEPOINT {self._savepoint}")
        else:
            await self._conn.execute("ROLLBACK")

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            await self.commit()
            return
        if not self._conn.is_closed():
            with suppress(Exception):  # the body's error is the one to report
                await self.rollback()


class BlockingConnection:
    """A libpq connection (autocommit, prepared statements, binary results), asyncpg's shape."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        #: psycopg's connection: it owns the socket and the type adapters.
        self._conn = conn
        self._pq = conn.pgconn
        # Made now, on the owning thread: libpq documents PQcancel (not
        # PQgetCancel) as safe to call while another thread runs a statement.
        self._canceller = self._pq.get_cancel()
        self._loads = Transformer(conn)
        self._statements: OrderedDict[str, _Statement] = OrderedDict()
        self._made = 0
        self._savepoints = 0

    async def execute(self, query: str, *args: Any) -> str:
        """Run ``query``; the last command's status (``"INSERT 0 1"``…)."""
        if not args:
            result = self._pq.exec_(query.encode())
            self._check(result)
            return (result.command_status or b"").decode()
        _, result = self._run(query, args)
        return (result.command_status or b"").decode()

    async def fetch(self, query: str, *args: Any) -> list[Record]:
        """All rows of ``query``."""
        return self._rows(query, args)

    async def fetchrow(self, query: str, *args: Any) -> Record | None:
        """The first row of ``query``, or ``None``."""
        rows = self._rows(query, args)
        return rows[0] if rows else None

    async def fetchval(self, query: str, *args: Any, column: int = 0) -> Any:
        """A column of the first row of ``query``, or ``None``."""
        rows = self._rows(query, args)
        return rows[0][column] if rows else None

    def transaction(
        self, *, isolation: str | None = None, readonly: bool = False, deferrable: bool = False
    ) -> _Transaction:
        """``async with conn.transaction():`` as in asyncpg (nested: a savepoint)."""
        return _Transaction(self, isolation, readonly)

    def is_in_transaction(self) -> bool:
        """Whether a transaction is open (or failed and not yet rolled back)."""
        return bool(self._pq.transaction_status != pq.TransactionStatus.IDLE)

    def is_closed(self) -> bool:
        """Whether the connection is closed (or known to be broken)."""
        return bool(self._conn.closed or self._pq.status != pq.ConnStatus.OK)

    def cancel(self) -> None:
        """Ask the server to cancel the statement running now (called from another thread)."""
        with suppress(Exception):  # the connection may be gone already
            self._canceller.cancel()

    async def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def terminate(self) -> None:
        """Close the connection at once."""
        self._conn.close()

    # ------------------------------------------------------------ internals

    def _rows(self, query: str, args: Sequence[Any]) -> list[Record]:
        statement, result = self._run(query, args)
        if result.status != pq.ExecStatus.TUPLES_OK or not result.ntuples:
            return []
        columns = statement.columns
        loads = self._loads
        loads.set_pgresult(result, format=pq.Format.BINARY)
        return loads.load_rows(0, result.ntuples, lambda values: Record(values, columns))  # type: ignore[no-any-return]

    def _run(self, query: str, args: Sequence[Any]) -> tuple[_Statement, Any]:
        statement = self._statement(query)
        try:
            return statement, self._send(statement, args)
        except asyncpg.PostgresError as exc:
            if not _stale(exc) or self.is_in_transaction():
                raise
        # The server no longer runs the statement as prepared (a schema change since,
        # or a session reset): prepare it again and retry once, as asyncpg does.
        del self._statements[query]
        with suppress(asyncpg.PostgresError):
            self._check(self._pq.exec_(b"DEALLOCATE " + statement.name))
        statement = self._statement(query)
        return statement, self._send(statement, args)

    def _send(self, statement: _Statement, args: Sequence[Any]) -> Any:
        formatters = statement.formatters
        if len(args) != len(formatters):
            raise asyncpg.InterfaceError(
                f"the server expects {len(formatters)} arguments for this query,"
                f" {len(args)} were passed"
            )
        params = [
            None if value is None else fmt(value)
            for fmt, value in zip(formatters, args, strict=True)
        ]
        result = self._pq.exec_prepared(statement.name, params, None, 1)
        self._check(result)
        return result

    def _statement(self, query: str) -> _Statement:
        statements = self._statements
        statement = statements.get(query)
        if statement is not None:
            statements.move_to_end(query)
            return statement
        if len(statements) >= STATEMENT_CACHE_SIZE:
            _, oldest = statements.popitem(last=False)
            self._check(self._pq.exec_(b"DEALLOCATE " + oldest.name))
        self._made += 1
        name = b"picloud_%d" % self._made
        self._check(self._pq.prepare(name, query.encode(), None))
        described = self._pq.describe_prepared(name)
        self._check(described)
        formatters = [_formatter(described.param_type(i)) for i in range(described.nparams)]
        columns: dict[str, int] = {}
        for i in range(described.nfields):
            # asyncpg answers a repeated column name with the first
            columns.setdefault((described.fname(i) or b"").decode(), i)
        statement = statements[query] = _Statement(name, formatters, columns)
        return statement

    def _check(self, result: Any) -> None:
        if result is None or result.status not in _OK:
            raise _error(result, self._pq)


async def connect_blocking(target: Settings | str, *, timeout: float = 10.0) -> BlockingConnection:
    """A blocking connection on ``target``, with PiCloud's session settings (see :mod:`picloud.db`)."""
    settings = target if isinstance(target, Settings) else None
    options = server_settings(settings)
    application_name = options.pop("application_name", "picloud")
    extra = " ".join(f"-c {name}={value}" for name, value in options.items())
    try:
        conn = psycopg.connect(
            resolve_dsn(target),
            autocommit=True,
            application_name=application_name,
            connect_timeout=max(1, int(timeout)),
            **({"options": extra} if extra else {}),
        )
    except psycopg.OperationalError as exc:
        raise asyncpg.ConnectionDoesNotExistError(str(exc)) from exc
    conn.adapters.register_loader("timestamptz", _UtcTimestamptzLoader)
    set_json_loads(msgspec.json.decode, conn)
    return BlockingConnection(conn)
