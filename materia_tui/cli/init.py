"""``materia-tui init [FILE]``: write a commented example campaign config to start from."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from materia_tui.cli.main import Subparsers, add_command
from materia_tui.errors import UsageError

DEFAULT_FILE = "campaign.yaml"

EXAMPLE_CONFIG = """\
# A materia-tui campaign: `materia-tui run campaign.yaml` runs it and opens the monitor.
# Every field is documented in docs/campaign-config.md.
name: RO membrane screen
iterations: 20                  # optimization rounds
batch_size: 5                   # candidates proposed (and evaluated) per round
seed: 0                         # same seed, same proposals
initial_samples: 10             # space-filling design before the surrogate takes over

parameters:                     # what the optimizer may vary
  pore_size_nm:   {type: continuous, low: 0.2, high: 2.0}
  thickness_um:   {type: continuous, low: 0.05, high: 1.0, log: true}
  temperature_c:  {type: integer, low: 20, high: 80}
  polymer:        {type: categorical, choices: [PA, PES, PSf, PVDF]}

objectives:                     # one or more measured values, each maximized or minimized
  water_flux:     {direction: maximize, unit: L/m2/h}
  salt_rejection: {direction: maximize, unit: "%"}

constraints:                    # a measurement outside a bound makes the candidate infeasible
  salt_rejection: {min: 90}

evaluator:
  # A command gets the parameters as one JSON object on stdin (and MATERIA_CAMPAIGN_ID,
  # MATERIA_CANDIDATE_ID, MATERIA_ITERATION in its environment), runs in this folder, and
  # prints one JSON object: {"water_flux": 41.2, "salt_rejection": 93.1}, optionally with
  # "feasible": false or "error": "why it failed".
  command: [python3, simulate.py]
  # python: "mymodule:evaluate"   # or a function of mymodule.py next to this file: dict in, dict out
  timeout: 60                     # seconds per evaluation; a slower one is killed and counts as failed

stop:
  convergence: 0.01             # optional: stop early when the convergence metric falls below this
"""

EXAMPLE_SIMULATOR = '''\
"""A stand-in simulation for campaign.yaml: parameters (JSON) on stdin, objectives (JSON) on stdout."""

import json
import math
import sys

p = json.load(sys.stdin)
permeability = {"PA": 1.0, "PES": 0.75, "PSf": 0.65, "PVDF": 0.5}[p["polymer"]]
heat = 1 + (p["temperature_c"] - 20) / 60
flux = 40 * permeability * p["pore_size_nm"] ** 2 / math.sqrt(p["thickness_um"]) * heat
rejection = 100 * (1 - math.exp(-3.0 / p["pore_size_nm"] * (0.6 + p["thickness_um"])))
print(json.dumps({"water_flux": round(flux, 3), "salt_rejection": round(rejection, 3)}))
'''


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "init",
        (
            "Write a commented example campaign config (and, next to it, the small simulate.py its "
            "evaluator runs, unless one exists) for `materia-tui run`. Never overwrites a file."
        ),
        run,
    )
    parser.add_argument("file", metavar="FILE", nargs="?", default=DEFAULT_FILE, help=DEFAULT_FILE)


def run(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if path.exists() or path.is_symlink():
        raise UsageError(f"{path} exists; init never overwrites a file (name another FILE).")
    _create(path, EXAMPLE_CONFIG)
    simulator = path.parent / "simulate.py"
    wrote_simulator = not simulator.exists() and not simulator.is_symlink()
    if wrote_simulator:
        _create(simulator, EXAMPLE_SIMULATOR)
    extra = f" and {simulator}" if wrote_simulator else ""
    print(f"wrote {path}{extra}; run it with: materia-tui run {path}", file=sys.stderr)
    return 0


def _create(path: Path, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise UsageError(f"{path} exists; init never overwrites a file (name another FILE).") from None
    except OSError as exc:
        raise UsageError(f"Cannot write {path}: {exc.strerror or exc}.") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
