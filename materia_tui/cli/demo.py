"""``materia-tui demo``: ``run`` of the bundled reverse-osmosis membrane config, watched locally.

The config (``materia_tui/backend/demo/membrane.yaml``, printed by
``--print-config``) evaluates the membrane model of backend/demo/membrane.py as a
``python:`` evaluator. One process runs the embedded server on 127.0.0.1, the
campaign runner and the monitor (or ``--plain`` / ``--json``), exactly as ``run``.
The journal goes to a temporary folder unless ``--journal`` names one.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from importlib import resources

from materia_tui.cli.common import add_display_arguments, add_port_argument, positive_int, speed_factor
from materia_tui.cli.main import Subparsers, add_command

DEMO_CAMPAIGN_ID = "demo-ro-membrane"
CONFIG_RESOURCE = ("materia_tui.backend.demo", "membrane.yaml")


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "demo",
        (
            "Run the bundled example campaign: a Bayesian multi-objective optimization of a "
            "reverse-osmosis membrane (Gaussian-process surrogates, expected hypervolume "
            "improvement), served on 127.0.0.1 over a real WebSocket, and watch it. It is "
            "`materia-tui run` of the config --print-config prints: copy it to start your own."
        ),
        run,
    )
    parser.add_argument("--print-config", action="store_true", help="print the demo's config and exit")
    parser.add_argument("--iterations", type=positive_int, default=None, help="iterations (default 12)")
    parser.add_argument("--batch", type=positive_int, default=None, help="candidates per round (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="random seed: same seed, same campaign")
    parser.add_argument(
        "--speed",
        type=speed_factor,
        default=1.0,
        metavar="X",
        help="pace multiplier for simulated lab time (2 = twice as fast; 0 = as fast as possible)",
    )
    parser.add_argument("--workers", type=positive_int, default=1, help="evaluations at once (default 1)")
    parser.add_argument("--journal", metavar="PATH", help="keep the journal here (default: a temporary file)")
    add_port_argument(parser, 0)
    add_display_arguments(parser)


def config_text() -> str:
    return resources.files(CONFIG_RESOURCE[0]).joinpath(CONFIG_RESOURCE[1]).read_text(encoding="utf-8")


def run(args: argparse.Namespace) -> int:
    if args.print_config:
        sys.stdout.write(config_text())
        return 0
    from materia_tui.cli.run import require_run_extra

    require_run_extra()
    from pathlib import Path

    from materia_tui.backend.run.config import LoadedConfig, parse_config
    from materia_tui.cli.session import run_session

    text = config_text()
    config = parse_config(text, "membrane.yaml")
    updates = {"seed": args.seed}
    if args.iterations is not None:
        updates["iterations"] = args.iterations
    if args.batch is not None:
        updates["batch_size"] = args.batch
    config = config.model_copy(update=updates)
    os.environ["MATERIA_DEMO_SEED"] = str(args.seed)  # the evaluator's measurement noise
    with tempfile.TemporaryDirectory(prefix="materia-demo-") as folder:
        loaded = LoadedConfig(config, Path(folder) / "membrane.yaml", text)
        args.campaign_id, args.redis, args.resume = DEMO_CAMPAIGN_ID, None, False
        return run_session(args, loaded, pace=args.speed, label="demo")
