"""Argument parsing and dispatch. Each subcommand module has ``register(subparsers)``,
which adds its parser and sets ``run`` (a function of the parsed args returning
an exit code). Heavy imports stay inside each ``run``, and a command line imports
only the module of the subcommand it names (``--help`` and ``--version`` none:
the list of subcommands comes from ``SUMMARIES``), so they are instant."""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from collections.abc import Callable
from typing import TypeAlias

from materia_tui.errors import ExitCode, MateriaError

SUBCOMMANDS = (
    "run",
    "init",
    "watch",
    "replay",
    "ls",
    "export",
    "analyze",
    "demo",
    "serve",
    "publish",
    "token",
    "screenshot",
    "completion",
    "worker",
)

# Each subcommand's one-line help, as its module registers it (a test keeps them
# equal): the top-level --help lists them without importing the modules.
SUMMARIES = {
    "run": "run an optimization campaign from a YAML config and watch it",
    "init": "write a commented example campaign config to start from",
    "watch": "watch a campaign live",
    "replay": "replay a recording (watch --record, or a watch --json capture)",
    "ls": "list campaigns with status, iteration and best value",
    "export": "export a campaign's candidates (CSV, JSON, Parquet)",
    "analyze": "importance, hypervolume and stop advice of a campaign (or a recording)",
    "demo": "run a real optimization campaign locally and watch it",
    "serve": "serve campaigns over REST and WebSocket (docs/PROTOCOL.md)",
    "publish": "publish events from a JSON-lines file into Redis",
    "token": "mint a token for materia-tui serve",
    "screenshot": "render the monitor for a campaign to an SVG file (no terminal needed)",
    "completion": "print a shell completion script",
    "worker": "run evaluations for `run --executor celery` (a Celery worker)",
}
ALL = "*"

EXIT_CODES_HELP = """exit codes:
  0  campaign completed (or you quit)
  1  campaign failed
  2  usage or configuration error
  3  authentication or permission rejected
  4  campaign not found
  5  gave up connecting (only with --max-retries)
"""


# A string: argparse._SubParsersAction is subscriptable only for the type checker.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_command(
    subparsers: Subparsers,
    name: str,
    description: str,
    run: Callable[[argparse.Namespace], int],
    *,
    exit_codes: bool = False,
    raw: bool = False,
) -> argparse.ArgumentParser:
    """The parser of subcommand ``name``, which ``run`` executes. Its one-line help is
    ``SUMMARIES``'s (what the top-level --help lists); ``exit_codes`` adds the exit-code
    table under the commands that watch a campaign; ``raw`` keeps the description's
    own line breaks."""
    keep_layout = exit_codes or raw
    parser = subparsers.add_parser(
        name,
        help=SUMMARIES[name],
        description=description,
        epilog=EXIT_CODES_HELP if exit_codes else None,
        formatter_class=argparse.RawDescriptionHelpFormatter if keep_layout else argparse.HelpFormatter,
    )
    parser.set_defaults(run=run)
    return parser


def build_parser(command: str | None = ALL) -> argparse.ArgumentParser:
    """The whole parser (``ALL``, e.g. for completion scripts), or one in which only
    ``command``'s subparser is real and the others (all, for ``None``) are named
    with their summary only: enough to parse one command line."""
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
        if command != ALL and name != command and name in SUMMARIES:
            subparsers.add_parser(name, help=SUMMARIES[name], add_help=False)
            continue
        importlib.import_module(f"materia_tui.cli.{name}").register(subparsers)
    return parser


def tune_garbage_collector() -> None:
    """A long campaign keeps millions of small objects alive; with the default
    thresholds the collector rescans them all every few thousand allocations,
    which halved the event intake."""
    gc.set_threshold(100_000, 50, 1000)


def pause_collector() -> None:
    """For a start whose every object lives on (imports, the monitor's widgets): at the
    thresholds above the collector still scans the ~1M of them a dozen times before
    the first frame, freeing next to nothing (~30 ms of CPU). ``resume_collector``
    once that frame is out (cli/display.py), and on every way out of the command."""
    gc.disable()


def resume_collector() -> None:
    gc.enable()


def named_command(argv: list[str]) -> str | None:
    """The subcommand a command line names (the top level has only options without
    values before it), or None."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in SUBCOMMANDS else None
    return None


def run(argv: list[str]) -> int:
    tune_garbage_collector()
    parser = build_parser(named_command(argv))
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
