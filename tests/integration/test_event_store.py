"""The event log against a real PostgreSQL: append, read, concurrency, immutability."""

from __future__ import annotations

import asyncio
import random
import time
import uuid

import asyncpg
import msgspec
import pytest

from picloud.cli import main as cli_main
from picloud.errors import Conflict, InvalidInput, PicloudError, VersionConflict
from picloud.events import (
    NOTIFY_CHANNEL,
    DuplicateAppend,
    Event,
    EventMeta,
    append,
    last_position,
    lock_app,
    notify_committed,
    read_all,
    read_app,
    read_stream,
    stream_version,
)
from picloud.settings import get_settings


class ThingHappened(Event, tag="test_store.thing_happened"):
    n: int
    note: str = ""


class OtherHappened(Event, tag="test_store.other_happened"):
    label: str


META = EventMeta(actor="user:1", request_id="req-1", correlation_id="corr-1")


async def test_append_then_read_back_in_every_shape(conn: asyncpg.Connection) -> None:
    # Given an app with two streams
    app = str(uuid.uuid4())
    # When events are appended in one transaction each
    async with conn.transaction():
        first = await append(
            conn, "s-1", 0, [ThingHappened(n=1), ThingHappened(n=2)], META, app_id=app
        )
    async with conn.transaction():
        second = await append(conn, "s-2", None, [OtherHappened(label="x")], META, app_id=app)
    async with conn.transaction():
        await append(conn, "instance", None, [OtherHappened(label="sys")], EventMeta.system())
    # Then positions are increasing, versions per stream start at 1
    assert [e.version for e in first] == [1, 2]
    assert second[0].version == 1
    assert first[0].position < first[1].position < second[0].position
    assert await stream_version(conn, "s-1") == 2
    assert await stream_version(conn, "missing") == 0
    # And every reader returns the typed events in order
    stream = await read_stream(conn, "s-1")
    assert [e.event for e in stream] == [ThingHappened(n=1), ThingHappened(n=2)]
    assert stream[0].meta == META and stream[0].app_id == app
    assert [e.version for e in await read_stream(conn, "s-1", after_version=1)] == [2]
    in_app = await read_app(conn, app)
    assert [e.type for e in in_app] == [
        "test_store.thing_happened",
        "test_store.thing_happened",
        "test_store.other_happened",
    ]
    assert [e.position for e in await read_app(conn, app, after=first[1].position)] == [
        second[0].position
    ]
    assert len(await read_app(conn, app, types=["test_store.other_happened"])) == 1
    assert len(await read_app(conn, app, stream="s-1")) == 2
    assert [e.event for e in await read_app(conn, None)] == [OtherHappened(label="sys")]
    everything = await read_all(conn)
    assert [e.position for e in everything] == sorted(e.position for e in everything)
    assert len(everything) == 4
    assert len(await read_all(conn, limit=2)) == 2
    assert len(await read_all(conn, types=["test_store.other_happened"])) == 2
    assert await last_position(conn) == everything[-1].position


async def test_expected_version_mismatch_is_a_conflict_and_writes_nothing(
    conn: asyncpg.Connection,
) -> None:
    async with conn.transaction():
        await append(conn, "s", 0, [ThingHappened(n=1)], META)
    before = await last_position(conn)
    for expected in (0, 2, 7):
        async with conn.transaction():
            with pytest.raises(VersionConflict) as info:
                await append(conn, "s", expected, [ThingHappened(n=9)], META)
            # The transaction is still usable after the conflict.
            assert await conn.fetchval("SELECT 1") == 1
        assert info.value.code == "version_conflict" and info.value.http_status == 409
        assert info.value.details == {
            "stream": "s",
            "expected_version": expected,
            "actual_version": 1,
        }
    assert await last_position(conn) == before
    async with conn.transaction():
        await append(conn, "s", 1, [ThingHappened(n=2)], META)
    assert await stream_version(conn, "s") == 2


async def test_bad_appends_are_refused_with_codes(conn: asyncpg.Connection) -> None:
    class NotRegistered(Event):  # no dotted tag: an abstract base, never appendable
        x: int = 0

    with pytest.raises(PicloudError) as outside:
        await append(conn, "s", None, [ThingHappened(n=1)], META)
    assert outside.value.code == "append_outside_transaction"
    cases: list[tuple[dict[str, object], str]] = [
        ({"stream": ""}, "invalid_stream"),
        ({"expected_version": -1}, "invalid_expected_version"),
        ({"events": []}, "invalid_event"),
        ({"events": [NotRegistered()]}, "invalid_event"),
        ({"app_id": "not-a-uuid"}, "invalid_app_id"),
    ]
    for override, code in cases:
        args: dict[str, object] = {
            "stream": "s",
            "expected_version": None,
            "events": [ThingHappened(n=1)],
            "app_id": None,
        }
        args.update(override)
        async with conn.transaction():
            with pytest.raises(InvalidInput) as info:
                await append(
                    conn,
                    args["stream"],
                    args["expected_version"],  # type: ignore[arg-type]
                    args["events"],
                    META,
                    app_id=args["app_id"],
                )  # type: ignore[arg-type]
        assert info.value.code == code
    with pytest.raises(InvalidInput) as bad_actor:
        EventMeta(actor="root")
    assert bad_actor.value.code == "invalid_event_meta"
    assert await last_position(conn) == 0


async def test_a_stream_belongs_to_one_app(conn: asyncpg.Connection) -> None:
    async with conn.transaction():
        await append(conn, "shared", None, [ThingHappened(n=1)], META, app_id=str(uuid.uuid4()))
    with pytest.raises(Conflict) as info:
        async with conn.transaction():
            await append(conn, "shared", None, [ThingHappened(n=2)], META, app_id=str(uuid.uuid4()))
    assert info.value.code == "stream_app_mismatch"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET type = 'x'",
        "UPDATE events SET data = '{}' WHERE false",
        "DELETE FROM events",
        "DELETE FROM events WHERE position = -1",
        "TRUNCATE events",
        "TRUNCATE events CASCADE",
    ],
)
async def test_the_database_refuses_to_change_events(
    conn: asyncpg.Connection, statement: str
) -> None:
    async with conn.transaction():
        await append(conn, "s", None, [ThingHappened(n=1)], META)
    with pytest.raises(asyncpg.PostgresError) as info:
        await conn.execute(statement)
    assert info.value.sqlstate == "PCE01"
    assert "append-only" in str(info.value)
    assert len(await read_all(conn)) == 1


async def test_twenty_concurrent_appends_at_one_expected_version(pool: asyncpg.Pool) -> None:
    # Given a stream at version 1
    app = str(uuid.uuid4())
    async with pool.acquire() as c, c.transaction():
        await append(c, "race", 0, [ThingHappened(n=0)], META, app_id=app)
    start = asyncio.Event()

    async def contender(i: int) -> str:
        async with pool.acquire() as c:
            await start.wait()
            try:
                async with c.transaction():
                    await append(c, "race", 1, [ThingHappened(n=i)], META, app_id=app)
                return "ok"
            except VersionConflict:
                return "conflict"

    # When 20 writers append at expected version 1 at once
    tasks = [asyncio.create_task(contender(i)) for i in range(20)]
    await asyncio.sleep(0.05)
    start.set()
    outcomes = await asyncio.gather(*tasks)
    # Then exactly one wins and the others get version_conflict
    assert outcomes.count("ok") == 1 and outcomes.count("conflict") == 19
    async with pool.acquire() as c:
        events = await read_stream(c, "race")
        assert [e.version for e in events] == [1, 2]
        positions = [r["position"] for r in await c.fetch("SELECT position FROM events")]
        assert len(positions) == len(set(positions)) == 2


async def test_racing_batches_never_interleave(pool: asyncpg.Pool) -> None:
    app = str(uuid.uuid4())

    async def writer(k: int) -> list[int]:
        async with pool.acquire() as c, c.transaction():
            recorded = await append(
                c, f"batch-{k}", None, [ThingHappened(n=i) for i in range(50)], META, app_id=app
            )
            return [r.position for r in recorded]

    batches = await asyncio.gather(*(writer(k) for k in range(8)))
    for positions in batches:
        assert positions == list(range(positions[0], positions[0] + 50))


async def test_a_tailer_never_misses_events_of_slow_committers(pool: asyncpg.Pool) -> None:
    # Given writers that sleep inside their transactions after appending
    # (so positions are drawn long before commit) and a tailer reading
    # "after the last position I saw" all the while
    app = str(uuid.uuid4())
    run_for = 4.0
    deadline = time.monotonic() + run_for
    written: list[int] = []
    seen: list[int] = []
    rng = random.Random(7)

    async def writer(w: int) -> None:
        n = 0
        while time.monotonic() < deadline:
            async with pool.acquire() as c, c.transaction():
                batch = [ThingHappened(n=n + i) for i in range(rng.randint(1, 3))]
                recorded = await append(c, f"w-{w}", None, batch, META, app_id=app)
                await asyncio.sleep(rng.uniform(0.0, 0.03))
            written.extend(r.position for r in recorded)
            n += len(batch)

    async def tailer() -> None:
        cursor = 0
        async with pool.acquire() as c:
            while True:
                done = time.monotonic() >= deadline + 0.5
                for event in await read_app(c, app, after=cursor, limit=500):
                    seen.append(event.position)
                    cursor = event.position
                if done:
                    return
                await asyncio.sleep(0.002)

    # When they run for several seconds
    await asyncio.gather(tailer(), *(writer(w) for w in range(6)))
    # Then the tailer saw every committed event exactly once, in order
    assert len(written) > 50
    assert seen == sorted(written)


async def test_notify_in_the_transaction_or_after_commit_wakes_listeners(
    pool: asyncpg.Pool, conn: asyncpg.Connection
) -> None:
    received: asyncio.Queue[str] = asyncio.Queue()
    await conn.add_listener(NOTIFY_CHANNEL, lambda *args: received.put_nowait(args[3]))
    app = str(uuid.uuid4())
    # In the transaction (opt-in): delivered at commit
    async with pool.acquire() as c, c.transaction():
        recorded = await append(
            c, "n", None, [ThingHappened(n=1), ThingHappened(n=2)], META, app_id=app, notify=True
        )
    assert await asyncio.wait_for(received.get(), timeout=5) == f"{app}:{recorded[-1].position}"
    # By default nothing is sent; notify_committed() sends it after commit
    async with pool.acquire() as c:
        async with c.transaction():
            quiet = await append(c, "n", None, [ThingHappened(n=3)], META, app_id=app)
            instance = await append(c, "i", None, [ThingHappened(n=4)], META)
        await asyncio.sleep(0.1)
        assert received.empty()
        await notify_committed(c, instance)
        await notify_committed(c, [])
    assert await asyncio.wait_for(received.get(), timeout=5) == f":{quiet[0].position + 1}"


async def test_cli_events_list_filters_and_prints_json(
    conn: asyncpg.Connection,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given events of two apps
    app, other = str(uuid.uuid4()), str(uuid.uuid4())
    async with conn.transaction():
        mine = await append(
            conn,
            "a",
            None,
            [ThingHappened(n=1), OtherHappened(label="x"), ThingHappened(n=2, note="n")],
            META,
            app_id=app,
        )
        await append(conn, "b", None, [ThingHappened(n=3)], META, app_id=other)
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        # When listing one app's ThingHappened after its first event, as JSON
        argv = [
            "events",
            "list",
            "--app",
            app,
            "--after",
            str(mine[0].position),
            "--type",
            "test_store.thing_happened",
            "--json",
        ]
        assert await asyncio.to_thread(cli_main, argv) == 0
        listed = msgspec.json.decode(capsys.readouterr().out)
        # Then only the matching event is printed, with its data and metadata
        assert [e["position"] for e in listed] == [mine[2].position]
        assert listed[0]["data"] == {"n": 2, "note": "n"}
        assert listed[0]["meta"]["actor"] == "user:1" and listed[0]["app_id"] == app
        # And the table form lists everything
        assert await asyncio.to_thread(cli_main, ["events", "list"]) == 0
        out = capsys.readouterr().out
        assert out.count("test_store.thing_happened") == 3 and "user:1" in out
        # And an unknown app is a clear error
        assert await asyncio.to_thread(cli_main, ["events", "list", "--app", "nope"]) == 1
        assert "error[not_found]" in capsys.readouterr().err
        assert await asyncio.to_thread(cli_main, ["events", "list", "--after", "-1"]) == 1
        assert "error[invalid_input]" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("seed", range(3))
async def test_random_appends_match_a_model_of_stream_versions(
    conn: asyncpg.Connection, seed: int
) -> None:
    # Given a model of stream versions, and random appends with right, wrong or no expectations
    rng = random.Random(seed)
    model: dict[str, int] = {}
    log: list[tuple[str, int]] = []
    for _ in range(60):
        stream = rng.choice(["a", "b", "c", "d"])
        current = model.get(stream, 0)
        expected = rng.choice([None, current, current, current + 1, max(current - 1, 0), 0])
        size = rng.randint(1, 3)
        async with conn.transaction():
            try:
                recorded = await append(
                    conn, stream, expected, [ThingHappened(n=i) for i in range(size)], META
                )
            except VersionConflict as exc:
                # Then a conflict happens exactly when the model says the expectation is wrong
                assert expected is not None and expected != current
                assert exc.details == {
                    "stream": stream,
                    "expected_version": expected,
                    "actual_version": current,
                }
                continue
        assert expected is None or expected == current
        assert [r.version for r in recorded] == list(range(current + 1, current + size + 1))
        model[stream] = current + size
        log.extend((stream, r.version) for r in recorded)
    # And the log holds exactly the accepted events, positions in append order
    everything = await read_all(conn, limit=10_000)
    assert [(e.stream, e.version) for e in everything] == log
    for stream, version in model.items():
        assert await stream_version(conn, stream) == version


async def test_an_idempotency_key_makes_an_append_happen_at_most_once(
    pool: asyncpg.Pool, conn: asyncpg.Connection
) -> None:
    # Given an append of a batch under a job's idempotency key
    app = str(uuid.uuid4())
    meta = EventMeta(actor="trigger:t1", idempotency_key="job:t1:42")
    async with conn.transaction():
        first = await append(
            conn, "j", None, [ThingHappened(n=1), ThingHappened(n=2)], meta, app_id=app
        )
    # When the job runs again (same key, any stream or expectation)
    async with conn.transaction():
        with pytest.raises(DuplicateAppend) as info:
            await append(conn, "j", 2, [ThingHappened(n=1)], meta, app_id=app)
        assert await conn.fetchval("SELECT 1") == 1  # the transaction stays usable
    # Then nothing more is written and the error points at the earlier append
    assert info.value.code == "duplicate_append" and info.value.http_status == 409
    assert info.value.details == {"idempotency_key": "job:t1:42", "position": first[0].position}
    assert await stream_version(conn, "j") == 2
    assert (await read_stream(conn, "j"))[1].meta.idempotency_key == "job:t1:42"
    # And concurrent reruns, even from another app, get exactly one through
    other = EventMeta(idempotency_key="job:t1:43")

    async def rerun(a: str) -> str:
        async with pool.acquire() as c:
            try:
                async with c.transaction():
                    await append(c, f"r-{a}", None, [ThingHappened(n=3)], other, app_id=a)
                return "ok"
            except DuplicateAppend:
                return "duplicate"

    outcomes = await asyncio.gather(*(rerun(a) for a in [app] * 4 + [str(uuid.uuid4())] * 2))
    assert sorted(outcomes) == ["duplicate"] * 5 + ["ok"]
    with pytest.raises(InvalidInput):
        EventMeta(idempotency_key="")


async def test_lock_app_serializes_a_read_then_append_command(
    pool: asyncpg.Pool, conn: asyncpg.Connection
) -> None:
    # Given a command that took the app's lock to validate before appending
    app = str(uuid.uuid4())
    with pytest.raises(PicloudError) as outside:
        await lock_app(conn, app)
    assert outside.value.code == "append_outside_transaction"
    order: list[str] = []
    async with conn.transaction():
        await lock_app(conn, app)

        async def other_writer() -> None:
            async with pool.acquire() as c, c.transaction():
                await append(c, "o", None, [ThingHappened(n=2)], META, app_id=app)
            order.append("other committed")

        task = asyncio.create_task(other_writer())
        await asyncio.sleep(0.3)
        # When it appends while another writer of the app is waiting
        await append(conn, "mine", None, [ThingHappened(n=1)], META, app_id=app)
        order.append("mine committing")
    await task
    # Then the other writer ran only after this command committed
    assert order == ["mine committing", "other committed"]
    positions = {e.stream: e.position for e in await read_app(conn, app)}
    assert positions["mine"] < positions["o"]
