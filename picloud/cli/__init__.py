"""The ``picloud`` console command.

Each command family lives in its own module under ``picloud.cli`` and exposes
``register(subparsers)``; this module only assembles them. A command handler
returns an exit code. A ``PicloudError`` escaping a handler is printed as
``error[code]: message`` with exit code 1 — never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from picloud.errors import PicloudError

__all__ = ["main", "build_parser"]

#: Modules contributing subcommands, each with a ``register(subparsers)``.
#: A module listed here that does not exist yet is skipped, so command
#: families can land independently.
COMMAND_MODULES: tuple[str, ...] = (
    "picloud.cli.rhai",
    "picloud.cli.db",
    "picloud.cli.admin",
    "picloud.cli.server",
    "picloud.cli.worker",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the full argument parser from every command module present."""
    parser = argparse.ArgumentParser(prog="picloud", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``picloud`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except PicloudError as exc:
        print(f"error[{exc.code}]: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
