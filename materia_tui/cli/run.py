"""``materia-tui run CONFIG``: run an optimization campaign defined by a YAML config, and watch it.

The heavy lifting is in ``cli/session.py`` (shared with ``demo``); this module
stays light so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
from importlib.util import find_spec

from materia_tui.cli.common import add_display_arguments, add_port_argument, positive_int
from materia_tui.cli.main import Subparsers, add_command
from materia_tui.errors import UsageError


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "run",
        (
            "Run the Bayesian optimization campaign CONFIG defines (parameters, objectives, "
            "an evaluator command or Python function), publish it on 127.0.0.1 (or into Redis) "
            "and watch it. `materia-tui init` writes a config to start from; docs/campaign-config.md "
            "documents every field. Exit codes: 0 completed, 1 failed, 2 bad config or usage, "
            "130/143 interrupted (continue with --resume)."
        ),
        run,
    )
    parser.add_argument("config", metavar="CONFIG", help="the campaign's YAML config")
    add_run_arguments(parser)
    add_display_arguments(parser)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--campaign-id", metavar="ID", help="campaign id (default: from the config's name)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: the config's)")
    parser.add_argument(
        "--redis",
        metavar="URL",
        help="publish into Redis (every `materia-tui serve` on it shows the campaign) instead of only "
        "the embedded server",
    )
    parser.add_argument("--workers", type=positive_int, default=1, help="evaluations at once (default 1)")
    parser.add_argument(
        "--executor",
        choices=("local", "celery"),
        default="local",
        help="where evaluations run: a local process pool of --workers (default), or Celery workers "
        "(`materia-tui worker`) on --broker",
    )
    parser.add_argument("--broker", metavar="URL", help="with --executor celery: the workers' Redis broker")
    parser.add_argument(
        "--queue",
        metavar="NAME",
        default=None,
        help="with --executor celery: the workers' queue (default materia)",
    )
    parser.add_argument(
        "--visibility-timeout",
        metavar="SECONDS",
        type=float,
        default=None,
        help="with --executor celery: requeue a task a worker took and never finished after this long "
        "(default: max(2 x the evaluator's timeout, 60 s))",
    )
    parser.add_argument(
        "--journal",
        metavar="PATH",
        help="the journal (a recording `replay` plays; default .materia/ID.jsonl next to the config)",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue an interrupted campaign from its journal"
    )
    add_port_argument(parser, 0)


def run(args: argparse.Namespace) -> int:
    require_run_extra()
    from materia_tui.backend.run.config import load_config

    loaded = load_config(args.config)  # before the optimizer's imports: a typo is answered at once
    from materia_tui.cli.session import run_session

    try:
        return run_session(args, loaded)
    except KeyboardInterrupt:  # Ctrl-C before the campaign's own handler is in place
        return 130


def require_run_extra() -> None:
    """Whether the run extra is installed, without importing it (scipy and scikit-learn are slow)."""
    missing = [name for name in ("yaml", "numpy", "scipy", "sklearn", "aiohttp") if find_spec(name) is None]
    if missing:
        raise UsageError("`run` needs its extra: pip install 'materia-tui[run]'.")
