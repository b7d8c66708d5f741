"""``materia-tui run``: what the runner adds around the optimizer and the evaluator.

    .venv/bin/python bench/bench_run.py [--quick]

- one evaluation through ``evaluate`` (the process-group leader ``child.py``, JSON in and
  out, the parent-death signal) against the same work started directly with
  ``subprocess.run`` (the baseline), for a shell command and for a ``python:`` function;
- a campaign in this process (``CampaignRunner`` into a ``MemoryPublisher``, journal with
  fsyncs, trivial evaluator): wall time per iteration, split into the optimizer (fit and
  propose), the evaluations, and the rest (publishing, journal, fsync): the runner's own cost.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import BenchResult, Row, ms, run_cli  # noqa: E402
from materia_tui.backend.run.evaluation import EvaluationTask, EvaluatorSpec, evaluate  # noqa: E402

SHELL = "cat > /dev/null; echo '{\"y\": 1}'"
MODULE = "def f(p):\n    return {'y': p['x'] + 1}\n"
PY_BASELINE = "import json, sys; p = json.load(sys.stdin); print(json.dumps({'y': p['x'] + 1}))"


def time_evaluations(folder: Path, rounds: int) -> dict[str, list[float]]:
    (folder / "benchmod.py").write_text(MODULE)
    shell = EvaluatorSpec(SHELL, None, 30, str(folder))
    python = EvaluatorSpec(None, "benchmod:f", 30, str(folder))
    times: dict[str, list[float]] = {"shell": [], "shell_base": [], "python": [], "python_base": []}
    for _ in range(rounds):  # interleaved: the load changes under us
        for key, run in (
            ("shell", lambda: evaluate(EvaluationTask("b", "c-1", 1, {"x": 1.0}, shell))),
            (
                "shell_base",
                lambda: subprocess.run(["/bin/sh", "-c", SHELL], input=b'{"x": 1}', capture_output=True),
            ),
            ("python", lambda: evaluate(EvaluationTask("b", "c-1", 1, {"x": 1.0}, python))),
            (
                "python_base",
                lambda: subprocess.run(
                    [sys.executable, "-c", PY_BASELINE], input=b'{"x": 1}', capture_output=True, cwd=folder
                ),
            ),
        ):
            started = time.perf_counter()
            run()
            times[key].append(time.perf_counter() - started)
    return times


async def time_campaign(folder: Path, iterations: int) -> dict[str, Any]:
    from materia_tui.backend.publish import MemoryPublisher
    from materia_tui.backend.run.config import load_config
    from materia_tui.backend.run.executor import LocalExecutor
    from materia_tui.backend.run.runner import CampaignRunner
    from materia_tui.backend.server.bus import MemoryBus

    config = folder / "campaign.yaml"
    config.write_text(
        f"iterations: {iterations}\nbatch_size: 5\ninitial_samples: 10\n"
        "parameters:\n  x: {type: continuous, low: 0, high: 1}\n  z: {type: integer, low: 1, high: 9}\n"
        "  m: {type: categorical, choices: [a, b, c]}\n"
        "objectives:\n  y: {direction: maximize}\n  w: {direction: minimize}\n"
        f'evaluator:\n  command: "cat > /dev/null; echo \'{{\\"y\\": 1.5, \\"w\\": 2}}\'"\n'
    )
    executor = LocalExecutor(workers=2)
    runner = CampaignRunner(
        load_config(config),
        MemoryPublisher(MemoryBus()),
        executor,
        campaign_id="bench",
        seed=0,
        journal_path=folder / "j.jsonl",
    )
    spent = {"optimizer": 0.0, "evaluations": 0.0}
    fit, propose, run_tasks = runner.optimizer.fit, runner.optimizer.propose, executor.run

    def timed(key: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[key] += time.perf_counter() - started

        return wrapper

    async def timed_run(tasks: Any) -> Any:
        started = time.perf_counter()
        async for outcome in run_tasks(tasks):
            yield outcome
        spent["evaluations"] += time.perf_counter() - started

    runner.optimizer.fit = timed("optimizer", fit)  # type: ignore[method-assign]
    runner.optimizer.propose = timed("optimizer", propose)  # type: ignore[method-assign]
    executor.run = timed_run  # type: ignore[method-assign]
    await runner.prepare(resume=False)
    started = time.perf_counter()
    status = await runner.run()
    total = time.perf_counter() - started
    await executor.aclose()
    return {"status": status, "total": total, "events": runner.seq, **spent}


def bench(quick: bool) -> BenchResult:
    result = BenchResult("run: the runner around the optimizer and the evaluator")
    rounds, iterations = (4, 4) if quick else (12, 10)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        times = time_evaluations(folder, rounds)
        campaign = asyncio.run(time_campaign(folder, iterations))
    med = {key: statistics.median(values) for key, values in times.items()}
    result.check(campaign["status"] == "completed", f"the campaign ended {campaign['status']}")
    rest = campaign["total"] - campaign["optimizer"] - campaign["evaluations"]
    result.rows += [
        Row(
            "one shell-command evaluation (median)",
            "",
            ms(med["shell"]),
            f"sh -c directly {ms(med['shell_base'])}",
            f"{med['shell'] / med['shell_base']:.2f}x",
        ),
        Row(
            "one python: evaluation (median)",
            "",
            ms(med["python"]),
            f"python -c directly {ms(med['python_base'])}",
            f"{med['python'] / med['python_base']:.2f}x",
        ),
        Row(
            f"campaign, per iteration ({iterations} x 5 candidates, 2 workers)",
            "",
            ms(campaign["total"] / iterations),
        ),
        Row("  of which the optimizer (fit + propose)", "", ms(campaign["optimizer"] / iterations)),
        Row("  of which the evaluations", "", ms(campaign["evaluations"] / iterations)),
        Row(
            "  of which the runner (publish, journal, fsync)",
            "",
            ms(rest / iterations),
            "",
            f"{rest / campaign['total']:.1%} of the total",
        ),
    ]
    result.notes.append(f"{campaign['events']} events published and journaled.")
    return result


if __name__ == "__main__":
    run_cli(bench)
