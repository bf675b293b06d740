"""Rhai speed benchmark: PiCloud's engine versus CPython on the same algorithm.

Runs each ``shared/rhai-bench/*.rhai`` on our engine (compile excluded, median
of N runs) and its ``.py`` twin on this CPython in the same process, then
prints our ratio next to the Rust engine's ratio (oracle ÷ CPython reference
times). Usage: ``python bench/rhai_bench.py [-n RUNS] [--limits] [NAME ...]``
(``--limits``: the platform's configuration, with operation counting, size limits
and a deadline compiled in).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from picloud.rhai import Engine, SandboxPolicy


def bench_dir() -> Path:
    """The shared benchmark directory (``PICLOUD_SHARED_DIR`` overrides)."""
    env = os.environ.get("PICLOUD_SHARED_DIR")
    base = Path(env) if env else Path(__file__).resolve().parents[2] / "shared"
    return base / "rhai-bench"


def time_pair(engine: Engine, source: str, twin: Path, runs: int) -> tuple[float, float, Any, str]:
    """Median ms of our run and of the ``.py`` twin, interleaved so both see the same load.

    Our time excludes compiling; the twin's module is loaded once and its
    ``run()`` timed with stdout suppressed.
    """
    ast = engine.compile(source)
    result = engine.eval_ast(ast)  # warm-up: compiles the code object, fills caches
    code = compile(twin.read_text(encoding="utf-8"), str(twin), "exec")
    ns: dict[str, Any] = {"__name__": "rhai_bench_twin"}
    exec(code, ns)  # noqa: S102 - our own benchmark twin from the project docs
    run = ns["run"]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        expected = run()
    ours, theirs = [], []
    with contextlib.redirect_stdout(io.StringIO()):
        for _ in range(runs):
            t0 = time.perf_counter()
            engine.eval_ast(ast)
            ours.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            run()
            theirs.append((time.perf_counter() - t0) * 1000)
    same = "ok" if _same(result, expected) else f"MISMATCH {result!r} != {expected!r}"
    return statistics.median(ours), statistics.median(theirs), result, same


def _same(ours: Any, theirs: Any) -> bool:
    if isinstance(ours, list) and isinstance(theirs, list):
        return len(ours) == len(theirs) and all(_same(a, b) for a, b in zip(ours, theirs))
    return type(ours) is type(theirs) and ours == theirs


def rust_ratios(d: Path) -> dict[str, float]:
    """The Rust engine's time ÷ CPython reference time for each benchmark."""
    oracle = json.loads((d / "oracle-times.json").read_text())
    cpy = json.loads((d / "cpython-times.json").read_text())
    out = {}
    for name, v in oracle.items():
        if isinstance(v, dict) and name in cpy and isinstance(cpy[name], dict):
            out[name] = v["median_ms"] / cpy[name]["median_ms"]
    return out


def handler_script(lines: int = 300) -> str:
    """A synthetic app script of ``lines`` lines: handler functions, then calls to them."""
    out: list[str] = []
    i = 0
    while len(out) < lines - 4:
        out += [
            f"fn handle_{i}(req) {{",
            "    let total = 0;",
            "    for item in req.items ?? [] { if item.qty > 0 { total += item.qty * item.price; } }",
            '    let label = switch total % 3 { 0 => "zero", 1 => `one ${total}`, _ => "many" };',
            "    let names = (req.items ?? []).filter(|it| it.qty > 1).map(|it| it.name);",
            f"    #{{ id: req.id, total: total + {i}, label: label, names: names }}",
            "}",
            f'let r{i} = handle_{i}(#{{ id: {i}, items: [#{{ qty: {i % 4}, price: 3, name: "n" }}] }});',
        ]
        i += 1
    out += ["let sum = 0;"] + [f"sum += r{j}.total;" for j in range(min(i, 3))]
    return "\n".join(out[:lines])


def time_compile(source: str, runs: int) -> float:
    """Best CPU ms to parse and compile ``source`` to Python code (a fresh engine each time)."""
    best = float("inf")
    for _ in range(runs):
        engine = Engine()
        t0 = time.process_time()
        ast = engine.compile(source)
        ast.unit(engine.options, False)
        best = min(best, time.process_time() - t0)
    return best * 1000


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--runs", type=int, default=5)
    ap.add_argument(
        "--limits",
        action="store_true",
        help="run with the sandbox policy's limits and a deadline (the platform's configuration)",
    )
    ap.add_argument("names", nargs="*")
    args = ap.parse_args(argv)
    d = bench_dir()
    if not d.exists():
        print(f"{d} not found (set PICLOUD_SHARED_DIR)", file=sys.stderr)
        return 2
    rust = rust_ratios(d)
    engine = Engine(SandboxPolicy().options(max_run_seconds=3600.0) if args.limits else None)
    engine.on_print(lambda s: None)
    rows = []
    for rhai in sorted(d.glob("*.rhai")):
        name = rhai.stem
        if args.names and name not in args.names:
            continue
        ours, cpy, _, same = time_pair(
            engine, rhai.read_text(encoding="utf-8"), rhai.with_suffix(".py"), args.runs
        )
        rows.append((name, ours, cpy, ours / cpy, rust.get(name, float("nan")), same))
    print(
        f"{'benchmark':<15} {'ours ms':>9} {'CPython ms':>11} {'our ratio':>10} {'Rust ratio':>11}  verdict"
    )
    for name, ours, cpy, ratio, rr, same in rows:
        verdict = "faster than Rust" if ratio < rr else "slower than Rust"
        print(
            f"{name:<15} {ours:>9.1f} {cpy:>11.1f} {ratio:>10.2f} {rr:>11.2f}  {verdict} ({same})"
        )
    if rows:
        gm = math.exp(sum(math.log(r[3]) for r in rows) / len(rows))
        gr = math.exp(sum(math.log(r[4]) for r in rows) / len(rows))
        print(f"{'geometric mean':<15} {'':>9} {'':>11} {gm:>10.2f} {gr:>11.2f}")
    src = handler_script(300)
    print(
        f"compile a {src.count(chr(10)) + 1}-line script: {time_compile(src, args.runs):.1f} ms CPU"
        " (best of runs; budget 50 ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
