"""The migration runner against a real PostgreSQL: order, checksums, concurrency."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import tempfile
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis

from picloud.cli import main as cli_main
from picloud.embedded import EmbeddedServices
from picloud.errors import MigrationError
from picloud.migrations import MIGRATIONS_DIR, discover, migrate
from picloud.settings import get_settings


def _write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, sql in files.items():
        (directory / name).write_text(sql)
    return directory


async def test_migrations_apply_in_version_order_once_with_checksums(
    empty_database_url: str, tmp_path: Path
) -> None:
    # Given files whose later versions depend on earlier ones, listed out of order
    migrations = _write(
        tmp_path / "m",
        {
            "0010_c.sql": "ALTER TABLE b ADD COLUMN c int;",
            "0001_a.sql": "CREATE TABLE a (id int PRIMARY KEY);",
            "0002_b.sql": "CREATE TABLE b (a_id int REFERENCES a);\nCREATE INDEX ON b (a_id);",
        },
    )
    # When migrating twice
    first = await migrate(empty_database_url, migrations)
    second = await migrate(empty_database_url, migrations)
    # Then each applied once, in version order, recorded with its sha256
    assert first == ["0001_a.sql", "0002_b.sql", "0010_c.sql"]
    assert second == []
    conn = await asyncpg.connect(empty_database_url)
    try:
        rows = await conn.fetch(
            "SELECT version, name, checksum FROM schema_migrations ORDER BY version"
        )
    finally:
        await conn.close()
    expected = hashlib.sha256((migrations / "0002_b.sql").read_bytes()).hexdigest()
    assert [(r["version"], r["name"]) for r in rows] == [(1, "a"), (2, "b"), (10, "c")]
    assert rows[1]["checksum"] == expected


async def test_an_edited_applied_migration_is_refused_naming_the_file(
    empty_database_url: str, tmp_path: Path
) -> None:
    migrations = _write(tmp_path / "m", {"0001_a.sql": "CREATE TABLE a (id int);"})
    await migrate(empty_database_url, migrations)
    # When the applied file is edited and a new one added
    _write(
        migrations,
        {"0001_a.sql": "CREATE TABLE a (id bigint);", "0002_b.sql": "CREATE TABLE b (id int);"},
    )
    with pytest.raises(MigrationError) as info:
        await migrate(empty_database_url, migrations)
    # Then the runner refuses, names the file, and applies nothing new
    assert info.value.code == "migration_error"
    assert "0001_a.sql" in info.value.message and "edited" in info.value.message
    conn = await asyncpg.connect(empty_database_url)
    try:
        assert await conn.fetchval("SELECT to_regclass('b')") is None
    finally:
        await conn.close()


async def test_crlf_line_endings_do_not_count_as_an_edit(
    empty_database_url: str, tmp_path: Path
) -> None:
    migrations = _write(tmp_path / "m", {"0001_a.sql": "CREATE TABLE a (id int);\n"})
    await migrate(empty_database_url, migrations)
    (migrations / "0001_a.sql").write_bytes(b"CREATE TABLE a (id int);\r\n")
    assert await migrate(empty_database_url, migrations) == []


async def test_an_applied_migration_missing_from_disk_is_refused(
    empty_database_url: str, tmp_path: Path
) -> None:
    migrations = _write(tmp_path / "m", {"0001_a.sql": "SELECT 1;", "0002_b.sql": "SELECT 2;"})
    await migrate(empty_database_url, migrations)
    (migrations / "0002_b.sql").unlink()
    with pytest.raises(MigrationError, match="0002_b.sql"):
        await migrate(empty_database_url, migrations)


async def test_a_failing_migration_is_rolled_back_and_named(
    empty_database_url: str, tmp_path: Path
) -> None:
    migrations = _write(
        tmp_path / "m",
        {
            "0001_ok.sql": "CREATE TABLE ok (id int);",
            "0002_bad.sql": "CREATE TABLE half (id int);\nSELECT no_such_function();",
            "0003_later.sql": "CREATE TABLE later (id int);",
        },
    )
    with pytest.raises(MigrationError) as info:
        await migrate(empty_database_url, migrations)
    assert "0002_bad.sql" in info.value.message
    conn = await asyncpg.connect(empty_database_url)
    try:
        assert await conn.fetchval("SELECT to_regclass('ok')") is not None
        assert await conn.fetchval("SELECT to_regclass('half')") is None
        assert await conn.fetchval("SELECT to_regclass('later')") is None
        assert await conn.fetchval("SELECT array_agg(version) FROM schema_migrations") == [1]
    finally:
        await conn.close()


async def test_a_no_transaction_migration_can_build_an_index_concurrently(
    empty_database_url: str, tmp_path: Path
) -> None:
    migrations = _write(
        tmp_path / "m",
        {
            "0001_t.sql": "CREATE TABLE t (v int);",
            "0002_idx.sql": "-- picloud:no-transaction\n"
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_v_idx ON t (v);\n",
        },
    )
    assert [m.transactional for m in discover(migrations)] == [True, False]
    assert await migrate(empty_database_url, migrations) == ["0001_t.sql", "0002_idx.sql"]
    conn = await asyncpg.connect(empty_database_url)
    try:
        assert await conn.fetchval("SELECT to_regclass('t_v_idx')") is not None
    finally:
        await conn.close()


@pytest.mark.parametrize(
    "files, fragment",
    [
        ({"1_short.sql": "SELECT 1;"}, "1_short.sql"),
        ({"0001_Upper.sql": "SELECT 1;"}, "0001_Upper.sql"),
        ({"0001_a.sql": "SELECT 1;", "0001_b.sql": "SELECT 1;"}, "0001_b.sql"),
    ],
)
def test_badly_named_or_duplicate_files_are_refused(
    tmp_path: Path, files: dict[str, str], fragment: str
) -> None:
    with pytest.raises(MigrationError, match=fragment):
        discover(_write(tmp_path / "m", files))


async def test_concurrent_migrators_apply_each_migration_exactly_once(
    empty_database_url: str, tmp_path: Path
) -> None:
    # Given slow migrations, so the starters really overlap
    migrations = _write(
        tmp_path / "m",
        {
            "0001_a.sql": "SELECT pg_sleep(0.3); CREATE TABLE a (id int);",
            "0002_b.sql": "SELECT pg_sleep(0.3); INSERT INTO a VALUES (1);",
        },
    )
    # When four processes start at once
    results = await asyncio.gather(*(migrate(empty_database_url, migrations) for _ in range(4)))
    # Then one applied everything, the others found nothing to do, and no step ran twice
    assert sorted(results, key=len) == [[], [], [], ["0001_a.sql", "0002_b.sql"]]
    conn = await asyncpg.connect(empty_database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM a") == 1
        # The session advisory lock is released afterwards.
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database ="
                " (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
            == 0
        )
    finally:
        await conn.close()


async def test_the_repository_migrations_apply_to_an_empty_database(
    empty_database_url: str, template_database: Any
) -> None:
    applied = await migrate(empty_database_url)
    assert applied == [m.filename for m in discover(MIGRATIONS_DIR)]
    assert applied[0] == "0001_event_log.sql"
    assert template_database.applied == applied


async def test_cli_migrate_applies_then_reports_up_to_date(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_database_url)
    get_settings.cache_clear()
    try:
        assert await asyncio.to_thread(cli_main, ["migrate"]) == 0
        assert "applied 0001_event_log.sql" in capsys.readouterr().out
        assert await asyncio.to_thread(cli_main, ["migrate"]) == 0
        assert "up to date" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()


def test_migrations_and_data_survive_an_embedded_restart() -> None:
    # Given the embedded PostgreSQL and Redis with data in a directory
    data_dir = tempfile.mkdtemp(prefix="picloud-embedded-test-")
    try:
        with EmbeddedServices(data_dir) as services:
            assert services.database_url and services.redis_url
            dsn, url = services.database_url, services.redis_url
            assert asyncio.run(migrate(dsn))[0] == "0001_event_log.sql"
            asyncio.run(_execute(dsn, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('x')"))
            client = redis.Redis.from_url(url)
            client.set("kept", "y")
            client.close()
        # When they are stopped and started again on the same directory
        with EmbeddedServices(data_dir) as services:
            dsn, url = services.database_url, services.redis_url  # type: ignore[assignment]
            # Then nothing is left to migrate and the data is still there
            assert asyncio.run(migrate(dsn)) == []
            assert asyncio.run(_fetchval(dsn, "SELECT v FROM kept")) == "x"
            client = redis.Redis.from_url(url)
            assert client.get("kept") == b"y"
            client.close()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


async def _execute(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _fetchval(dsn: str, sql: str) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()
