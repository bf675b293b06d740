"""Data-plane throughput: a bare Litestar JSON route vs. PiCloud routes, one ``picloud serve``.

Usage: ``DATABASE_URL=… REDIS_URL=… python bench/routes.py [--duration 5] [--connections 50]``

It creates a throwaway database, deploys an app ``bench`` with two routes,
starts one ``picloud serve`` on 127.0.0.1 and, in the same run, drives with
keep-alive HTTP/1.1 from this process:

* (a) ``GET /healthz`` — a bare Litestar JSON route of the same process;
* (b) ``GET /a/bench/hello`` — an endpoint script returning a small map;
* (c) ``GET /a/bench/mod`` — a script importing a module and calling three
  stdlib functions (``json::stringify``, ``base64::encode``, ``hex::encode``).

Every case is warmed up unrecorded, then measured for ``--duration`` seconds;
rounds alternate the case order and the median round is reported. The load
generator shares the machine's cores with the server, so figures compare
cases within one run. Only loopback is contacted and every phase is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from dataclasses import dataclass

from _load import Tally, bench_app, get_request, picloud_serve, service_urls, throwaway_database

HELLO = '#{message: "hello", app: ctx.app.slug, n: 42}'
FMT_MODULE = "fn pack(v) { base64::encode(json::stringify(v)) }\nfn tag(s) { hex::encode(s) }"
MOD = 'import "fmt" as f;\n#{packed: f::pack(#{a: 1}), tag: f::tag("pi"), path: ctx.request.path}'


@dataclass(kw_only=True)
class Result(Tally):
    """One measured case."""

    label: str


async def _seed(dsn: str) -> None:
    """Migrate, then deploy app ``bench``: a module and two routed endpoint scripts."""
    from picloud.services import routes, scripts

    async with bench_app(dsn) as (conn, ctx, app):
        await scripts.create_script(conn, ctx, app.id, "fmt", "module", FMT_MODULE)
        hello = await scripts.create_script(conn, ctx, app.id, "hello", "endpoint", HELLO)
        await routes.create_route(conn, ctx, hello.id, "GET", "/hello")
        mod = await scripts.create_script(conn, ctx, app.id, "mod", "endpoint", MOD)
        await routes.create_route(conn, ctx, mod.id, "GET", "/mod")


CASES = [
    ("(a) bare Litestar JSON route: GET /healthz", "/healthz"),
    ("(b) PiCloud route, script returns a small map", "/a/bench/hello"),
    ("(c) PiCloud route, module import + 3 stdlib calls", "/a/bench/mod"),
]


async def _serve_and_measure(
    args: argparse.Namespace, dsn: str, redis_url: str
) -> list[list[Result]]:
    rounds: list[list[Result]] = []
    async with picloud_serve(
        dsn, redis_url, args.server, 1, ready_timeout=60.0, poll=0.2
    ) as served:
        for i in range(args.rounds):
            order = CASES if i % 2 == 0 else CASES[::-1]
            measured: dict[str, Result] = {}
            for label, path in order:
                measured[label] = await served.measure(
                    get_request(path),
                    args.connections,
                    args.warmup,
                    args.duration,
                    Result(label=label, seconds=args.duration),
                )
            rounds.append([measured[label] for label, _ in CASES])
    return rounds


def _report(args: argparse.Namespace, rounds: list[list[Result]]) -> None:
    # The median round by (b)/(a) throughput ratio, so one table is internally consistent.
    ratios = [r[1].rps / r[0].rps if r[0].rps else 0.0 for r in rounds]
    median = sorted(range(len(rounds)), key=lambda i: ratios[i])[len(rounds) // 2]
    chosen = rounds[median]
    print(
        f"\n{args.connections} keep-alive connections, {args.duration:.0f}s per case after "
        f"{args.warmup:.0f}s warm-up, one `picloud serve` ({args.server}, 1 worker), "
        f"loopback only; median of {len(rounds)} round(s)\n"
    )
    print("| case | req/s | p50 ms | p99 ms | server CPU µs/req | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in chosen:
        cpu = r.cpu_us_per_request
        print(
            f"| {r.label} | {r.rps:,.0f} | {r.pct(0.50):.1f} | {r.pct(0.99):.1f} | {cpu:,.0f} "
            f"| {r.errors} |"
        )
    a, b = chosen[0], chosen[1]
    print(
        f"\n(b)/(a) throughput: {b.rps / a.rps:.0%} (target >= 50%); "
        f"(b) p99 {b.pct(0.99):.1f} ms (target <= 20 ms)"
    )
    print(
        "all rounds (b)/(a): "
        + ", ".join(f"{x:.0%}" for x in ratios)
        + f"; median {statistics.median(ratios):.0%}"
    )


async def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds measured per case")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds discarded first")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--server", choices=["granian", "uvicorn"], default="granian")
    args = parser.parse_args()
    urls = service_urls()
    if urls is None:
        return 2
    base_dsn, redis_url = urls
    async with throwaway_database(base_dsn) as dsn:
        await _seed(dsn)
        rounds = await _serve_and_measure(args, dsn, redis_url)
    _report(args, rounds)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
