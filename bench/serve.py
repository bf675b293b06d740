"""Compare uvicorn and granian behind ``picloud serve`` under the same bounded loopback load.

Usage: ``DATABASE_URL=… REDIS_URL=… python bench/serve.py [--duration 5] [--connections 32]``

For each server it starts ``picloud serve`` on 127.0.0.1 (a throwaway database,
dropped at the end), then drives two endpoints with keep-alive HTTP/1.1 from
this process for a fixed time each:

* ``GET /healthz`` — no I/O, the framework and server alone;
* ``GET /api/v1/admin/apps/bench`` with an API key — a key lookup and an app
  lookup in Postgres per request, the shape of every admin call.

The load generator shares the machine's cores with the server (and, on a
shared machine, with whatever else runs), so throughput swings with outside
load. The steadier figure is the server's own CPU time per request (its
process tree's user+system time over the measured window, from /proc): on a
dedicated machine throughput is roughly cores / CPU-per-request. Nothing but
loopback is contacted, and every phase stops after its duration.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass

from _load import Tally, bench_app, get_request, picloud_serve, service_urls, throwaway_database


@dataclass(kw_only=True)
class Result(Tally):
    """One (server, endpoint) measurement."""

    server: str
    endpoint: str


async def _seed(dsn: str) -> str:
    """Migrate the bench database and make an app and an instance-admin key; returns the key."""
    from picloud.services import identity

    async with bench_app(dsn) as (conn, ctx, _):
        key = await identity.create_api_key(conn, ctx, "bench", ["app:read"])
        return key.key


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds measured per case")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds discarded first")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--servers", nargs="+", default=["uvicorn", "granian"])
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="repeat, alternating which server goes first (the median round is reported)",
    )
    args = parser.parse_args()
    urls = service_urls()
    if urls is None:
        return 2
    base_dsn, redis_url = urls
    results: list[Result] = []
    async with throwaway_database(base_dsn) as dsn:
        key = await _seed(dsn)
        cases = [
            ("GET /healthz", "/healthz", {}),
            (
                "GET /api/v1/admin/apps/bench (key + app lookup)",
                "/api/v1/admin/apps/bench",
                {"Authorization": f"Bearer {key}"},
            ),
        ]
        order = list(args.servers)
        plan = []
        for i in range(args.rounds):
            plan += order if i % 2 == 0 else order[::-1]
        for server in plan:
            async with picloud_serve(
                dsn, redis_url, server, args.workers, ready_timeout=30.0, poll=0.1
            ) as served:
                for label, path, headers in cases:
                    # Warm up unrecorded, then measure requests and server CPU together.
                    results.append(
                        await served.measure(
                            get_request(path, headers),
                            args.connections,
                            args.warmup,
                            args.duration,
                            Result(server=server, endpoint=label, seconds=args.duration),
                        )
                    )
    print(
        f"\n{args.connections} keep-alive connections, {args.duration:.0f}s per case after "
        f"{args.warmup:.0f}s warm-up, {args.workers} server worker(s), loopback only\n"
    )
    print(f"each row: the median of {args.rounds} round(s)\n")
    print(
        "| server | endpoint | req/s | p50 ms | p99 ms | server CPU µs/req | errors"
        " | all rounds: req/s | all rounds: µs/req |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    grouped: dict[tuple[str, str], list[Result]] = {}
    for r in results:
        grouped.setdefault((r.server, r.endpoint), []).append(r)
    rates: dict[str, dict[str, float]] = {}
    costs: dict[str, dict[str, float]] = {}
    for (server, endpoint), runs in sorted(grouped.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        runs.sort(key=lambda r: r.rps)
        r = runs[len(runs) // 2]
        cpu = sorted(x.cpu_us_per_request for x in runs)[len(runs) // 2]
        every = " / ".join(f"{x.rps:,.0f}" for x in runs)
        every_cpu = " / ".join(f"{x.cpu_us_per_request:,.0f}" for x in runs)
        print(
            f"| {server} | {endpoint} | {r.rps:,.0f} | {r.pct(0.50):.2f} | "
            f"{r.pct(0.99):.2f} | {cpu:,.0f} | {r.errors} | {every} | {every_cpu} |"
        )
        rates.setdefault(endpoint, {})[server] = r.rps
        costs.setdefault(endpoint, {})[server] = cpu
    for endpoint, by_server in rates.items():
        cost = costs[endpoint]
        if len(by_server) == 2:
            fast = max(by_server, key=lambda s: by_server[s])
            cheap = min(cost, key=lambda s: cost[s])
            r_ratio = by_server[fast] / min(by_server.values())
            c_ratio = max(cost.values()) / cost[cheap]
            print(
                f"\n{endpoint}: {fast} serves ×{r_ratio:.2f} the req/s;"
                f" {cheap} needs ×{1 / c_ratio:.2f} the server CPU per request",
                end="",
            )
    print()
    return 0


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    sys.exit(asyncio.run(main()))
