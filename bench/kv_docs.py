"""Benchmark: KV set+get and docs create+find from Rhai scripts next to raw asyncpg, same run.

    .venv/bin/python bench/kv_docs.py [--duration 90] [--workers 1,8] [--rounds 5] [--per-run 10]

Measured in-process, not over HTTP: each PiCloud "worker" is a script run on
the ``ScriptReactor`` (the data plane's default runner) of an engine made by
``build_engine`` (as the data plane builds it), with a ``ScriptRun`` bound
(anonymous caller) and the ``SdkBridge`` with the runs' own connections (as
the data plane has it), so every
``kv::``/``docs::`` call goes through the real SDK, bridge, services, direct
write or event-log append, projection and outbox check. One script run
performs ``--per-run`` pairs in a loop; a worker starts the next run as soon as
one ends. Routing, ``ctx`` building and HTTP are not included.

The raw baseline runs on the same asyncpg pool (same connection count, same
codecs) against look-alike tables (``LIKE kv_entries/docs INCLUDING ALL``, so
the same indexes): KV is ``INSERT … ON CONFLICT DO UPDATE`` then a ``SELECT``
of the key; docs is an ``INSERT`` then a ``SELECT`` by ``data @> {key}`` (the
GIN index). The reference writes with one autocommitted statement, as plain
code would; a second baseline wraps it in BEGIN … COMMIT (two more round
trips) and is printed for context only. A raw worker borrows one pooled
connection per ``--per-run`` pairs; a PiCloud run queries on a connection of
its own, held for the run.

A pair (set+get, create+find) is one op. Variants of a cell run in alternating
rounds so load drift hits them alike, and the median round is reported. At
more than one worker PiCloud is measured twice: every worker in its own app,
and all workers in one app (an app's writes serialize on its append lock
through the commit's flush; concurrent ones share a transaction,
picloud/services/write_batches.py). Uses ``DATABASE_URL`` (else the embedded
PostgreSQL) and a scratch database that is dropped afterwards. Loopback only;
not part of tests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _db
from _db import alternating_rounds, database_settings, describe_server, gated_rate, rule

# The serving process registers the outbox writer as an append hook (through
# the trigger services), so every KV/docs write there also looks up its
# triggers; import it so the measured append path is the one that serves.
import picloud.outbox.writer  # noqa: F401
from picloud.db import connect, create_pool
from picloud.execution import ScriptRun, SdkBridge, build_engine
from picloud.execution.reactor import ScriptReactor
from picloud.execution.run import bind_run
from picloud.migrations import migrate
from picloud.rhai import AST, Engine, Scope
from picloud.services.apps import create_app
from picloud.services.context import CommandContext
from picloud.settings import Settings

#: The target: PiCloud at least this share of the raw rate.
TARGET = 0.40
#: Distinct keys each KV worker cycles through, so most sets update an existing key.
KV_KEYS = 1000
#: ~85 bytes of text in every value and document (a small realistic payload).
NOTE = "gift wrap please, leave the parcel at the back door and ring twice; thank you kindly!!"

KV_SCRIPT = """
let c = kv::collection("bench");
for i in start..start + count {
    let k = `${prefix}${i % keys}`;
    c.set(k, #{n: i, note: note});
    let v = c.get(k);
    if v.n != i { throw `kv: read back ${v.n} for ${k}, wanted ${i}`; }
}
count
"""

DOCS_SCRIPT = """
let c = docs::collection("bench");
for i in start..start + count {
    let k = `${prefix}${i}`;
    c.create(#{key: k, n: i, note: note});
    let found = c.find(#{key: k});
    if found.len() != 1 || found[0].data.n != i { throw `docs: find ${k} gave ${found.len()}`; }
}
count
"""

_RAW_DDL = """
CREATE TABLE raw_kv (LIKE kv_entries INCLUDING ALL);
CREATE TABLE raw_docs (LIKE docs INCLUDING ALL);
CREATE SEQUENCE raw_docs_seq;
"""
_RAW_KV_SET = (
    "INSERT INTO raw_kv (app_id, collection, key, value, version, created_at, updated_at,"
    " last_position) VALUES ($1::uuid, $2, $3, $4::jsonb, 1, now(), now(), 0)"
    " ON CONFLICT (app_id, collection, key) DO UPDATE SET value = EXCLUDED.value,"
    " version = raw_kv.version + 1, updated_at = EXCLUDED.updated_at"
)
_RAW_KV_GET = "SELECT value FROM raw_kv WHERE app_id = $1::uuid AND collection = $2 AND key = $3"
_RAW_DOC_INSERT = (
    "INSERT INTO raw_docs (app_id, collection, id, data, version, created_at, updated_at, seq,"
    " last_position) VALUES ($1::uuid, $2, $3::uuid, $4::jsonb, 1, now(), now(),"
    " nextval('raw_docs_seq'), 0)"
)
# The same shape as the SELECT the docs service compiles for find(#{key: k}).
_RAW_DOC_FIND = (
    "SELECT id::text AS id, collection, data, version, created_at, updated_at, seq FROM raw_docs"
    " WHERE app_id = $1::uuid AND collection = $2 AND (data @> $3::jsonb)"
    " ORDER BY seq ASC LIMIT $4::bigint"
)

#: ``work(worker index, first op number) -> ops done``; each variant brings its own.
Work = Callable[[int, int], Awaitable[int]]


class Bench:
    """Everything a run shares: the pool, the script engine and threads, the apps."""

    def __init__(self, settings: Settings, db: asyncpg.Pool, workers: int, per_run: int) -> None:
        self.settings = settings
        self.db = db
        self.per_run = per_run
        self.engine: Engine = build_engine(settings)
        # As the data plane builds them: runs share a reactor thread, each with a connection.
        self.threads = ScriptReactor(workers, lambda: connect(settings))
        self.bridge = SdkBridge(asyncio.get_running_loop(), db, sessions=self.threads)
        self.timeout = settings.script_timeout_ms / 1000.0
        self.asts = {"kv": self.engine.compile(KV_SCRIPT), "docs": self.engine.compile(DOCS_SCRIPT)}
        #: App ids: ``shared`` for the one-app variant, ``own[w]`` for worker w's app.
        self.shared = ""
        self.own: list[str] = []
        self.tag = uuid.uuid4().hex[:6]

    async def make_apps(self, workers: int) -> None:
        """Create the apps through the apps service (events + projection, like the admin API)."""
        ctx = CommandContext(actor="system", request_id="bench")
        async with self.db.acquire() as conn:
            made = [
                await create_app(conn, ctx, f"bench-{self.tag}-{i}", f"Bench {i}")
                for i in range(workers + 1)
            ]
        self.shared = made[0].id
        self.own = [a.id for a in made[1:]]

    def _execute(self, ast: AST, app_id: str, prefix: str, start: int) -> int:
        """One script run on a pool thread, bound the way the data plane binds it."""
        run = ScriptRun(
            app_id=app_id,
            app_slug="bench",
            script_id=str(uuid.UUID(int=0)),
            script_name="bench",
            request_id=f"bench-{start}",
            principal=None,
            modules={},
            deadline=time.monotonic() + self.timeout,
            bridge=self.bridge,
        )
        scope = Scope()
        for name, value in (
            ("prefix", prefix),
            ("start", start),
            ("count", self.per_run),
            ("keys", KV_KEYS),
            ("note", NOTE),
        ):
            scope.push_constant(name, value)
        with bind_run(run):
            return int(self.engine.eval_ast(ast, scope, timeout=run.remaining()))

    def picloud(self, op: str, *, shared_app: bool) -> Work:
        """Script runs doing ``per_run`` pairs of ``op`` each."""
        ast = self.asts[op]
        run_tag = uuid.uuid4().hex[:6]

        async def work(w: int, start: int) -> int:
            app = self.shared if shared_app else self.own[w]
            return await self.threads.run(
                self._execute,
                ast,
                app,
                f"{run_tag}-{w}-",
                start,
                wait=self.timeout,
                timeout=self.timeout + 1.0,
            )

        return work

    def raw(self, op: str, *, in_transaction: bool = False) -> Work:
        """Plain asyncpg on a connection held by the worker: a write, then a read.

        The write is one autocommitted statement (the reference: what plain
        code does), or, with ``in_transaction``, the same statement between
        BEGIN and COMMIT (two more round trips; shown for context).
        """
        run_tag = uuid.uuid4().hex[:6]

        async def write(conn: Any, sql: str, *args: Any) -> None:
            if in_transaction:
                async with conn.transaction():
                    await conn.execute(sql, *args)
            else:
                await conn.execute(sql, *args)

        async def kv(conn: Any, app: str, prefix: str, i: int) -> None:
            key = f"{prefix}{i % KV_KEYS}"
            await write(conn, _RAW_KV_SET, app, "bench", key, {"n": i, "note": NOTE})
            value = await conn.fetchval(_RAW_KV_GET, app, "bench", key)
            if value["n"] != i:
                raise AssertionError(f"raw kv read back {value!r} for {key}")

        async def docs(conn: Any, app: str, prefix: str, i: int) -> None:
            key = f"{prefix}{i}"
            doc = {"key": key, "n": i, "note": NOTE}
            await write(conn, _RAW_DOC_INSERT, app, "bench", str(uuid.uuid4()), doc)
            rows = await conn.fetch(_RAW_DOC_FIND, app, "bench", {"key": key}, 1000)
            if len(rows) != 1 or rows[0]["data"]["n"] != i:
                raise AssertionError(f"raw docs find {key} gave {len(rows)} rows")

        pair = kv if op == "kv" else docs

        async def work(w: int, start: int) -> int:
            prefix = f"{run_tag}-{w}-"
            # One connection per batch of pairs: the pool hands it back at once.
            async with self.db.acquire() as conn:
                for i in range(start, start + self.per_run):
                    await pair(conn, self.own[w], prefix, i)
            return self.per_run

        return work

    async def measure(self, workers: int, seconds: float, work: Work, counter: list[int]) -> float:
        """Ops per second of ``workers`` concurrent loops of ``work`` for ``seconds``."""

        async def step(w: int, _: object) -> int:
            start = counter[0]
            counter[0] += self.per_run
            return await work(w, start)

        return await gated_rate(workers, seconds, step, settle=0.02)

    async def cell(
        self, workers: int, seconds: float, rounds: int, works: dict[str, Work]
    ) -> dict[str, float]:
        """Median ops/s per variant over ``rounds`` alternating rounds (after a short warm-up)."""
        counter = [0]
        for work in works.values():
            # Warm-up: prepared statements, the scripts' first runs, index pages.
            await self.measure(workers, 0.3, work, counter)

        async def round_of(work: Work) -> float:
            # The tables grow by thousands of rows a second here, far faster than
            # autovacuum keeps up with: with stale statistics the planner walks
            # the (app, collection, seq) index for find() instead of the GIN
            # index, and the GIN index's pending list (scanned by every find)
            # only grows. A VACUUM ANALYZE before each round (not timed), of the
            # raw tables as of PiCloud's, keeps them as a server's would be.
            async with self.db.acquire() as conn:
                await conn.execute("VACUUM ANALYZE docs, raw_docs, kv_entries, raw_kv")
            return await self.measure(workers, seconds / rounds, work, counter)

        rates = await alternating_rounds(works, rounds, round_of)
        return {name: statistics.median(r) for name, r in rates.items()}


async def run(dsn: str, settings: Settings, args: argparse.Namespace) -> bool:
    """Measure every cell and print the table; True when every row meets the target."""
    worker_counts = [int(w) for w in args.workers.split(",")]
    most = max(worker_counts)
    await migrate(dsn)
    db = await create_pool(settings.replace(database_url=dsn), min_size=most, max_size=most)
    # As the data plane does: a script thread holding the GIL delays the loop
    # (and so every bridge call) by at most this long.
    sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))
    bench = Bench(settings.replace(database_url=dsn), db, most, args.per_run)
    try:
        async with db.acquire() as conn:
            await conn.execute(_RAW_DDL)
            server = await describe_server(conn)
        await bench.make_apps(most)
        plan = [(op, w) for w in worker_counts for op in ("kv", "docs")]
        variants = sum(4 if w > 1 else 3 for _, w in plan)
        seconds = args.duration / variants
        print(
            f"{server}; in-process"
            f" (script runs on ScriptPool threads, each with its own Postgres session, no HTTP),"
            f" anonymous caller, {args.per_run} pairs per script run; {seconds:.1f}s per"
            f" variant in {args.rounds} alternating rounds, median round; ops/s = pairs/s\n"
        )
        header = (
            f"| {'operation':<16} | {'workers':>7} | {'apps':<10} | {'picloud ops/s':>13} |"
            f" {'raw ops/s':>9} | {'ratio':>5} | {'target ≥40%':<11} |"
            f" {'raw in tx ops/s':>15} | {'ratio':>5} |"
        )
        print(header)
        print(rule(header), flush=True)
        missed = rows = 0
        labels = {"kv": "KV set+get", "docs": "docs create+find"}
        for op, workers in plan:
            works: dict[str, Work] = {
                "raw": bench.raw(op),
                "raw_tx": bench.raw(op, in_transaction=True),
                "own": bench.picloud(op, shared_app=False),
            }
            if workers > 1:
                works["shared"] = bench.picloud(op, shared_app=True)
            rates = await bench.cell(workers, seconds, args.rounds, works)
            for variant, apps in (("own", "per worker"), ("shared", "one app")):
                if variant not in rates:
                    continue
                ratio = rates[variant] / rates["raw"]
                ok = ratio >= TARGET
                rows += 1
                missed += not ok
                print(
                    f"| {labels[op]:<16} | {workers:>7} | {apps if workers > 1 else 'one':<10} |"
                    f" {rates[variant]:>13,.0f} | {rates['raw']:>9,.0f} | {ratio:>5.0%} |"
                    f" {'met' if ok else 'NOT met':<11} |"
                    f" {rates['raw_tx']:>15,.0f} | {rates[variant] / rates['raw_tx']:>5.0%} |",
                    flush=True,
                )
        verdict = "met in every row" if not missed else f"NOT met in {missed} of {rows} rows"
        print(f"\ntarget ≥ {TARGET:.0%} of raw (autocommitted writes): {verdict}")
        return not missed
    finally:
        bench.threads.shutdown()
        await db.close()


async def scratch_database(base: str) -> tuple[str, Callable[[], Awaitable[None]]]:
    """Create a scratch database next to ``base``; returns its DSN and a dropper."""
    return await _db.scratch_database(base, f"picloud_bench_kvdocs_{os.getpid()}")


def main() -> int:
    """Parse arguments, run against a scratch database, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--duration", type=float, default=90.0, help="seconds of measuring in all (default 90)"
    )
    parser.add_argument("--workers", default="1,8", help="concurrent workers per cell (1,8)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per cell")
    parser.add_argument("--per-run", type=int, default=10, help="pairs per script run")
    args = parser.parse_args()
    with database_settings() as settings:
        base = settings.database_url
        assert base is not None

        async def go() -> bool:
            dsn, drop = await scratch_database(base)
            try:
                return await run(dsn, settings, args)
            finally:
                await drop()

        return 0 if asyncio.run(go()) else 1


if __name__ == "__main__":
    sys.exit(main())
