"""Argument parsing and dispatch. Each subcommand module has ``register(subparsers)``,
which adds its parser and sets ``run`` (a function of the parsed args returning
an exit code). Heavy imports stay inside each ``run`` so ``--help`` is instant."""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from collections.abc import Callable

from materia_tui.errors import ExitCode, MateriaError

SUBCOMMANDS = (
    "watch",
    "replay",
    "ls",
    "export",
    "demo",
    "serve",
    "publish",
    "token",
    "screenshot",
    "completion",
)

EXIT_CODES_HELP = """exit codes:
  0  campaign completed (or you quit)
  1  campaign failed
  2  usage or configuration error
  3  authentication or permission rejected
  4  campaign not found
  5  gave up connecting (only with --max-retries)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="materia-tui",
        description="Monitor MatCraft materials-discovery campaigns from the terminal.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from materia_tui import __version__

    parser.add_argument("--version", action="version", version=f"materia-tui {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"materia_tui.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"materia_tui.cli.{name}":
                raise
            continue  # subcommand not built yet
        module.register(subparsers)
    return parser


def tune_garbage_collector() -> None:
    """A long campaign keeps millions of small objects alive; with the default
    thresholds the collector rescans them all every few thousand allocations,
    which halved the event intake."""
    gc.set_threshold(100_000, 50, 1000)


def run(argv: list[str]) -> int:
    tune_garbage_collector()
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
    if handler is None:
        parser.print_help()
        return ExitCode.USAGE
    try:
        return int(handler(args))
    except MateriaError as exc:
        print(f"materia-tui: {exc.message}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        return int(ExitCode.OK)
