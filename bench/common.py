"""Shared pieces of the benchmarks: a result row, a table printer, a CLI shim.

Timings on this shared 2-core machine are noisy, so each figure is reported
beside a baseline measured in the same run (ratio = measured / baseline), and
only correctness checks (every event applied, nothing lost) fail a run.
"""

from __future__ import annotations

import argparse
import compileall
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# How a table says whether a row met its target (run_all's summary reads them back).
MET = "yes"
MISSED = "**no**"


@dataclass
class Row:
    what: str
    target: str
    measured: str
    baseline: str = ""
    ratio: str = ""
    meets_target: bool | None = None


@dataclass
class BenchResult:
    name: str
    rows: list[Row] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # correctness, not timing
    notes: list[str] = field(default_factory=list)

    def check(self, condition: bool, message: str) -> None:
        if not condition:
            self.failures.append(message)


def ensure_bytecode(tree: Path) -> None:
    """Compile ``tree``'s materia_tui package to ``__pycache__`` before timing a start.

    pip compiles a wheel's modules when it installs them, and Python writes the
    bytecode of an editable install on its first start; this machine sets
    PYTHONDONTWRITEBYTECODE, so without this every timed start would also compile
    the ~70 modules of the watch path (~150 ms), which no user's second start does.
    """
    compileall.compile_dir(tree / "materia_tui", quiet=1)


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """Minimum wall time of ``repeat`` runs: the least noisy estimate on a shared box."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def per_second(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s" if seconds > 0 else "n/a"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def proposed_frames(
    count: int, *, campaign_id: str | None = None, with_completion: bool = False
) -> list[str]:
    """``count`` 5-candidate ``candidates_proposed`` frames (seqs 1..count), as JSON text,
    optionally followed by a ``campaign_completed`` (seq count + 1)."""
    frames = []
    envelope: dict[str, object] = {"campaign_id": campaign_id} if campaign_id else {}
    for i in range(count):
        candidates = [
            {
                "id": f"c-{i}-{k}",
                "parameters": {"pore_size_nm": 0.5 + k / 10, "polymer": "PVDF", "layers": 3},
                "predicted": {"water_flux": 40.0 + k, "salt_rejection": 90.0},
                "uncertainty": {"water_flux": 1.5, "salt_rejection": 0.4},
                "acquisition_value": 0.1 * k,
            }
            for k in range(5)
        ]
        event = {
            "type": "candidates_proposed",
            "iteration": 1 + i // 10,
            "seq": i + 1,
            **envelope,
            "candidates": candidates,
        }
        frames.append(json.dumps(event))
    if with_completion:
        done = {
            "type": "campaign_completed",
            "total_iterations": 1 + (count - 1) // 10,
            "total_evaluations": 0,
            "seq": count + 1,
            **envelope,
        }
        frames.append(json.dumps(done))
    return frames


def render_table(result: BenchResult) -> str:
    header = "| what | target | measured | baseline (same run) | ratio | meets target |"
    lines = [f"### {result.name}", "", header, "| --- | --- | --- | --- | --- | --- |"]
    for row in result.rows:
        meets = "" if row.meets_target is None else (MET if row.meets_target else MISSED)
        lines.append(
            f"| {row.what} | {row.target} | {row.measured} | {row.baseline} | {row.ratio} | {meets} |"
        )
    for note in result.notes:
        lines.append(f"\n{note}")
    for failure in result.failures:
        lines.append(f"\n**CORRECTNESS FAILURE:** {failure}")
    return "\n".join(lines) + "\n"


def run_cli(bench: Callable[[bool], BenchResult]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI")
    args = parser.parse_args()
    result = bench(args.quick)
    print(render_table(result))
    sys.exit(1 if result.failures else 0)


def big_state(candidates: int, *, batch: int = 5000, evaluate: bool = True) -> Any:
    """A ``CampaignState`` holding ``candidates`` candidates (measured unless told otherwise)
    with two maximized objectives scattered over a plane and a front of a few hundred.

    Events are built with ``model_construct`` (valid by construction): building
    100k candidates through validation would take longer than the benchmark.
    """
    from materia_tui.protocol import (
        Candidate,
        CandidatesEvaluated,
        CandidatesProposed,
        EvaluationResult,
        IterationCompleted,
        IterationStarted,
    )
    from materia_tui.state import CampaignState
    from tests.support.fake_source import campaign_metadata

    state = CampaignState("camp-123", campaign_metadata("camp-123", "bench", max_iterations=10_000))
    at = 1_767_225_600.0
    made = 0
    number = 0
    while made < candidates:
        number += 1
        size = min(batch, candidates - made)
        state.apply(IterationStarted.model_construct(iteration=number, timestamp=""), at)
        batch_items = []
        for k in range(made, made + size):
            pore = 0.3 + (k * 7919 % 1700) / 1000
            batch_items.append(
                Candidate.model_construct(
                    id=f"c-{k:06d}",
                    parameters={"pore_size_nm": pore, "polymer": ("PVDF", "PES", "PSf")[k % 3]},
                    predicted={"water_flux": 20 + 30 * pore, "salt_rejection": 99 - 6 * pore * pore},
                    uncertainty={"water_flux": 1.5, "salt_rejection": 0.4},
                    acquisition_value=(k % 97) / 97,
                )
            )
        state.apply(CandidatesProposed.model_construct(candidates=batch_items, iteration=number), at + 1)
        if evaluate:
            results = []
            for c in batch_items:
                pore = float(c.parameters["pore_size_nm"])
                wobble = (int(c.id[2:]) * 2654435761 % 1000) / 1000  # deterministic noise
                results.append(
                    EvaluationResult.model_construct(
                        candidate_id=c.id,
                        feasible=True,
                        error=None,
                        objectives={
                            "water_flux": 18 + 32 * pore + 8 * wobble,
                            "salt_rejection": 99.5 - 6.5 * pore * pore - 2.5 * (1 - wobble),
                        },
                    )
                )
            state.apply(CandidatesEvaluated.model_construct(results=results, iteration=number), at + 2)
        state.apply(
            IterationCompleted.model_construct(iteration=number, best_value=0.0, pareto_size=0), at + 3
        )
        made += size
        at += 30
    return state


def more_candidates(state: Any, count: int, *, evaluate: bool = False, first_id: int = 10_000_000) -> None:
    """Append ``count`` new candidates to ``state`` (one proposal, optionally measured)."""
    from materia_tui.protocol import Candidate, CandidatesEvaluated, CandidatesProposed, EvaluationResult

    iteration = state.current_iteration + 1
    batch = [
        Candidate.model_construct(
            id=f"n-{first_id + k}",
            parameters={"pore_size_nm": 0.5 + (k % 100) / 100, "polymer": "PES"},
            predicted={"water_flux": 40.0 + k % 7},
            uncertainty={"water_flux": 1.0},
            acquisition_value=None,
        )
        for k in range(count)
    ]
    state.apply(CandidatesProposed.model_construct(candidates=batch, iteration=iteration), time.time())
    if evaluate:
        results = [
            EvaluationResult.model_construct(
                candidate_id=c.id,
                feasible=True,
                error=None,
                objectives={"water_flux": 30.0 + k % 41, "salt_rejection": 90.0 + k % 9},
            )
            for k, c in enumerate(batch)
        ]
        state.apply(CandidatesEvaluated.model_construct(results=results, iteration=iteration), time.time())
