"""Shared pieces of the benchmarks: a result row, a table printer, a CLI shim.

Timings on this shared 2-core machine are noisy, so each figure is reported
beside a baseline measured in the same run (ratio = measured / baseline), and
only correctness checks (every event applied, nothing lost) fail a run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field


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


def render_table(result: BenchResult) -> str:
    header = "| what | target | measured | baseline (same run) | ratio | meets target |"
    lines = [f"### {result.name}", "", header, "| --- | --- | --- | --- | --- | --- |"]
    for row in result.rows:
        meets = "" if row.meets_target is None else ("yes" if row.meets_target else "**no**")
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
