"""``picloud rhai run``: run a Rhai script the way the platform would, for debugging.

Prints what the script printed, then one JSON line
``{"type": <type_of>, "value": <display text>, "debug": <debug text>}``; on an
error prints ``ERROR <ErrorKind>: <message>`` (parse errors as
``ERROR ErrorParsing.<Kind>: …``) and exits 1. ``--bench N`` runs the compiled
script N times and prints the time per run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

__all__ = ["register", "run_command"]


def register(subparsers: Any) -> None:
    """Add the ``rhai`` command family."""
    p = subparsers.add_parser("rhai", help="Rhai script tools")
    sub = p.add_subparsers(dest="rhai_command", metavar="SUBCOMMAND")
    run = sub.add_parser("run", help="run a Rhai script and print its result")
    src = run.add_mutually_exclusive_group(required=True)
    src.add_argument("file", nargs="?", help="script file, or - for standard input")
    src.add_argument("-e", "--eval", dest="source", help="script source text")
    run.add_argument(
        "--bench", type=int, metavar="N", default=0, help="run N times and print ms per run"
    )
    run.add_argument(
        "--max-operations", type=int, default=0, help="operation budget (0 = unlimited)"
    )
    run.add_argument(
        "--timeout", type=float, default=0.0, help="wall-clock limit in seconds (0 = none)"
    )
    run.set_defaults(handler=run_command)
    p.set_defaults(handler=lambda args: (p.print_help(), 2)[1])


def _read_source(args: argparse.Namespace) -> str:
    if args.source is not None:
        return str(args.source)
    if args.file == "-":
        return sys.stdin.read()
    with open(args.file, encoding="utf-8") as fh:
        return fh.read()


def run_command(args: argparse.Namespace) -> int:
    """Run one script; returns the process exit code."""
    from picloud.rhai import Engine, EngineOptions
    from picloud.rhai.errors import RhaiError, describe
    from picloud.rhai.values import to_debug, to_display, type_name

    try:
        source = _read_source(args)
    except OSError as e:
        print(f"ERROR ErrorSystem: cannot read {args.file}: {e.strerror}")
        return 1
    options = EngineOptions(max_operations=args.max_operations, max_run_seconds=args.timeout)
    engine = Engine(options)
    engine.on_print(lambda s: print(s, flush=True))
    engine.on_debug(lambda s: print(s, flush=True))
    try:
        ast = engine.compile(source)
        if args.bench > 0:
            engine.on_print(lambda s: None).on_debug(lambda s: None)
            times = []
            value = None
            for _ in range(args.bench):
                t0 = time.perf_counter()
                value = engine.eval_ast(ast)
                times.append((time.perf_counter() - t0) * 1000)
            print(
                f"{statistics.median(times):.3f} ms per run (median of {args.bench}, "
                f"min {min(times):.3f}, compile excluded)"
            )
        else:
            value = engine.eval_ast(ast)
    except RhaiError as e:
        print(f"ERROR {describe(e)}")
        return 1
    print(
        json.dumps(
            {"type": type_name(value), "value": to_display(value), "debug": to_debug(value)},
            ensure_ascii=False,
        )
    )
    return 0
