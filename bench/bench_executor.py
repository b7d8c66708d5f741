"""Overhead per task of the Celery executor against the local one, on the same trivial evaluator.

A redis-server of the benchmark's own and one ``materia-tui worker --concurrency 2``
(real processes); the evaluator prints one JSON object and exits, so each figure is
almost all executor overhead plus the two process starts every evaluation pays
(``child.py`` leader + evaluator) on either executor. Measured, interleaved, best
of the rounds:

- a batch of N tasks over 2 slots (``LocalExecutor(2)`` vs one worker with 2 pool
  processes): wall time per task;
- one task at a time: the latency a lone evaluation pays.

Correctness: every task gets exactly one outcome, none failed.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BenchResult, Row, ms, run_cli
from materia_tui.backend.run.celery_app import make_app
from materia_tui.backend.run.celery_executor import CeleryExecutor
from materia_tui.backend.run.evaluation import EvaluationOutcome, EvaluationTask, EvaluatorSpec
from materia_tui.backend.run.executor import Executor, LocalExecutor
from tests.support.celery_workers import OwnRedis, worker_fleet

SLOTS = 2


def make_tasks(folder: str, count: int) -> list[EvaluationTask]:
    spec = EvaluatorSpec(command="echo '{\"y\": 1}'", python=None, timeout=30.0, workdir=folder)
    campaign = f"bench-{uuid.uuid4().hex[:8]}"
    return [EvaluationTask(campaign, f"c-{i}", 1, {"x": i}, spec) for i in range(count)]


async def timed_run(executor: Executor, tasks: list[EvaluationTask]) -> tuple[float, list[EvaluationOutcome]]:
    started = time.perf_counter()
    outcomes = [outcome async for outcome in executor.run(tasks)]
    return time.perf_counter() - started, outcomes


def check(
    result: BenchResult, label: str, tasks: list[EvaluationTask], outcomes: list[EvaluationOutcome]
) -> None:
    ids = sorted(o.candidate_id for o in outcomes)
    result.check(ids == sorted(t.candidate_id for t in tasks), f"{label}: not exactly one outcome per task")
    failed = [o.error for o in outcomes if o.error]
    result.check(not failed, f"{label}: evaluations failed: {failed[:2]}")


async def measure(result: BenchResult, broker: str, queue: str, folder: str, quick: bool) -> dict[str, float]:
    batch, singles, rounds = (8, 3, 1) if quick else (60, 15, 2)
    local = LocalExecutor(SLOTS)
    celery = CeleryExecutor(broker, queue=queue)
    best: dict[str, float] = {}
    try:
        for _ in range(rounds):
            for label, executor in (("local", local), ("celery", celery)):
                tasks = make_tasks(folder, batch)
                elapsed, outcomes = await timed_run(executor, tasks)
                check(result, f"{label} batch", tasks, outcomes)
                best[f"{label} batch"] = min(best.get(f"{label} batch", float("inf")), elapsed / batch)
                lone = []
                for _ in range(singles):
                    task = make_tasks(folder, 1)
                    elapsed, outcomes = await timed_run(executor, task)
                    check(result, f"{label} single", task, outcomes)
                    lone.append(elapsed)
                median = statistics.median(lone)
                best[f"{label} single"] = min(best.get(f"{label} single", float("inf")), median)
    finally:
        await local.aclose()
        await celery.aclose()
    return best


def bench(quick: bool) -> BenchResult:
    result = BenchResult("Executors: Celery against local, per task (trivial evaluator)")
    own = OwnRedis()
    own.start()
    folder = tempfile.mkdtemp(prefix="materia-bench-executor-")
    try:
        with worker_fleet(own.url) as fleet:
            fleet.start("bench", concurrency=SLOTS)
            fleet.wait_ready(make_app(fleet.broker, queue=fleet.queue))
            best = asyncio.run(measure(result, fleet.broker, fleet.queue, folder, quick))
    finally:
        own.close()
        shutil.rmtree(folder, ignore_errors=True)
    for kind, what in (("batch", f"a batch over {SLOTS} slots, wall per task"),
                       ("single", "one task at a time, latency")):
        local, celery = best[f"local {kind}"], best[f"celery {kind}"]
        result.rows.append(Row(what=f"{what}: Celery", target="", measured=ms(celery),
                               baseline=f"{ms(local)} (local)", ratio=f"{celery / local:.2f}x"))
        result.rows.append(Row(what=f"{what}: Celery overhead", target="", measured=ms(celery - local)))
    result.notes.append(
        "Both executors run the same evaluator (`echo` through `/bin/sh` under the `child.py` "
        "leader), so the difference is the Celery path: publish, the worker's prefork pool, "
        "the result in Redis and the runner's poll (every 50 ms)."
    )
    return result


if __name__ == "__main__":
    run_cli(bench)
