"""CeleryExecutor against real ``materia-tui worker`` processes and a real redis-server.

The evaluator (``EVALUATOR`` below) appends ``start``/``end`` lines with its candidate id,
worker name and pid to a log, so a test can tell which worker ran what and how often.
An evaluation may run twice (a killed worker's task is run again elsewhere; that is
the point of late acknowledgement) but its outcome is applied once: the tests count
outcomes per candidate, not evaluator runs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.celery_workers import OwnRedis, WorkerFleet, unique_queue, worker_fleet
from tests.support.redis_server import redis_url, unique_campaign_id  # noqa: F401 (fixture)

pytest.importorskip("celery")

from materia_tui.backend.run.celery_app import make_app
from materia_tui.backend.run.celery_executor import CeleryExecutor
from materia_tui.backend.run.evaluation import EvaluationOutcome, EvaluationTask, EvaluatorSpec

pytestmark = [pytest.mark.redis, pytest.mark.timeout(90)]

EVALUATOR = """\
import json, os, sys, time
params = json.load(sys.stdin)
cid = os.environ["MATERIA_CANDIDATE_ID"]
def log(kind):
    with open("evaluations.log", "a") as f:
        f.write(f"{kind} {cid} {os.environ.get('MATERIA_WORKER')} {os.getpid()}\\n")
log("start")
slow_once = params.get("slow_once")
if slow_once and not os.path.exists(f"slow-{cid}"):
    open(f"slow-{cid}", "w").close()
    time.sleep(slow_once)
time.sleep(params.get("sleep", 0))
log("end")
print(json.dumps({"y": params["x"] * 2}))
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "evaluator.py").write_text(EVALUATOR)
    return tmp_path


def tasks_for(folder: Path, count: int, *, sleep: float = 0.0, timeout: float = 20.0,
              campaign_id: str | None = None, extra: dict[int, dict[str, float]] | None = None
              ) -> list[EvaluationTask]:
    spec = EvaluatorSpec(command=("python3", "evaluator.py"), python=None, timeout=timeout, workdir=str(folder))
    campaign = campaign_id or unique_campaign_id("celery")
    return [
        EvaluationTask(campaign, f"c-{i}", 1, {"x": i, "sleep": sleep, **(extra or {}).get(i, {})}, spec)
        for i in range(count)
    ]


def log_lines(folder: Path, kind: str) -> list[list[str]]:
    path = folder / "evaluations.log"
    lines = path.read_text().splitlines() if path.exists() else []
    return [line.split() for line in lines if line.startswith(kind + " ")]


async def collect(executor: CeleryExecutor, tasks: list[EvaluationTask]) -> list[EvaluationOutcome]:
    return [outcome async for outcome in executor.run(tasks)]


def assert_each_once(outcomes: list[EvaluationOutcome], tasks: list[EvaluationTask]) -> None:
    counts = Counter(o.candidate_id for o in outcomes)
    assert counts == Counter(t.candidate_id for t in tasks), counts
    for outcome in outcomes:
        assert outcome.error is None, outcome
        assert outcome.objectives == {"y": 2 * int(outcome.candidate_id.removeprefix("c-"))}


def pid_gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        stat = Path(f"/proc/{pid}/stat")
        if stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z":
            return True  # a zombie: dead, waiting for its parent to reap it
        time.sleep(0.05)
    return False


@pytest.fixture
def fleet(redis_url: str) -> Iterator[WorkerFleet]:  # noqa: F811
    """No workers yet: the test starts (and may kill) its own."""
    with worker_fleet(redis_url) as workers:
        yield workers


@pytest.fixture(scope="module")
def shared(redis_url: str) -> Iterator[WorkerFleet]:  # noqa: F811
    """Two workers with one slot each, for the tests that leave them running."""
    with worker_fleet(redis_url) as workers:
        workers.start("w1")
        workers.start("w2")
        workers.wait_ready(make_app(workers.broker, queue=workers.queue))
        yield workers


async def test_worker_killed_mid_evaluation_loses_nothing(fleet: WorkerFleet, folder: Path) -> None:
    # The visibility timeout stays above an evaluation's ~2 s even on a busy machine, so only the
    # killed worker's task is handed on.
    executor = CeleryExecutor(fleet.broker, queue=fleet.queue, visibility_timeout=4.0, sweep_interval=0.3)
    victim, survivor = fleet.start("victim"), fleet.start("survivor")
    fleet.wait_ready(executor.app)
    tasks = tasks_for(folder, 5, sleep=1.5)
    run = asyncio.create_task(collect(executor, tasks))
    try:
        deadline = time.monotonic() + 30
        while {line[2] for line in log_lines(folder, "start")} != {victim.name, survivor.name}:
            assert time.monotonic() < deadline, "both workers never got busy"
            await asyncio.sleep(0.05)
        killed = next(line for line in log_lines(folder, "start") if line[2] == victim.name)
        pool = victim.pool_pids()
        victim.process.send_signal(signal.SIGKILL)  # kill -9 of `materia-tui worker`
        outcomes = await asyncio.wait_for(run, 60)
    finally:
        await executor.aclose()
    assert_each_once(outcomes, tasks)
    # The victim took its evaluator and pool processes down with it.
    assert pool and all(pid_gone(pid) for pid in pool)
    assert pid_gone(int(killed[3]))
    assert ["end", killed[1], victim.name, killed[3]] not in log_lines(folder, "end")
    # Its candidate was run again, by the survivor, and applied once.
    assert [line[1] for line in log_lines(folder, "start")].count(killed[1]) >= 2
    assert next(o for o in outcomes if o.candidate_id == killed[1]).worker == survivor.name
    assert survivor.alive()


async def test_slow_worker_finishing_after_redelivery_is_applied_once(shared: WorkerFleet, folder: Path) -> None:
    # c-0's first run outlasts the visibility timeout: it is handed to the other worker,
    # which finishes first; the slow one's later result must change nothing.
    fleet = shared
    executor = CeleryExecutor(fleet.broker, queue=fleet.queue, visibility_timeout=1.0, sweep_interval=0.2)
    tasks = tasks_for(folder, 2, extra={0: {"slow_once": 4.0}})
    try:
        first = await collect(executor, tasks)
        deadline = time.monotonic() + 15
        while len([line for line in log_lines(folder, "end") if line[1] == "c-0"]) < 2:
            assert time.monotonic() < deadline, "the slow run never finished"
            await asyncio.sleep(0.1)
        later = await collect(executor, tasks)  # the same tasks again: already applied, nothing new
    finally:
        await executor.aclose()
    assert_each_once(first, tasks)
    assert later == []
    assert [line[1] for line in log_lines(folder, "start")].count("c-0") == 2
    assert executor.app.backend.client.llen(fleet.queue) == 0


async def test_broker_restart_mid_campaign(folder: Path) -> None:
    own = OwnRedis()
    own.start()
    try:
        with worker_fleet(own.url, unique_queue()) as fleet:
            executor = CeleryExecutor(fleet.broker, queue=fleet.queue, visibility_timeout=3.0, sweep_interval=0.5)
            fleet.start("w1")
            fleet.start("w2")
            fleet.wait_ready(executor.app)
            tasks = tasks_for(folder, 8, sleep=0.6)
            outcomes: list[EvaluationOutcome] = []
            problems: list[str] = []

            async def consume() -> None:
                async for outcome in executor.run(tasks):
                    outcomes.append(outcome)

            run = asyncio.create_task(consume())
            try:
                while len(outcomes) < 2:
                    await asyncio.sleep(0.05)
                own.stop()  # everything in it is gone: queue, results, unacked tasks
                deadline = time.monotonic() + 10
                while executor.problem is None:
                    assert time.monotonic() < deadline, "the outage was never reported"
                    await asyncio.sleep(0.05)
                problems.append(executor.problem)
                await asyncio.sleep(1.0)
                own.start()
                await asyncio.wait_for(run, 60)
            finally:
                await executor.aclose()
            assert all(w.alive() for w in fleet.workers)
    finally:
        own.close()
    assert_each_once(outcomes, tasks)
    assert "unreachable" in problems[0] and f"127.0.0.1:{own.port}" in problems[0]
    assert executor.problem is None


async def test_cancel_empties_the_queue_and_keeps_workers(shared: WorkerFleet, folder: Path) -> None:
    fleet = shared
    executor = CeleryExecutor(fleet.broker, queue=fleet.queue)
    tasks = tasks_for(folder, 6, sleep=30.0, timeout=60.0)
    outcomes: list[EvaluationOutcome] = []

    async def consume() -> None:
        async for outcome in executor.run(tasks):
            outcomes.append(outcome)

    run = asyncio.create_task(consume())
    client = executor.app.backend.client
    try:
        deadline = time.monotonic() + 30
        while len(log_lines(folder, "start")) < 2:
            assert time.monotonic() < deadline, "the evaluations never started"
            await asyncio.sleep(0.05)
        assert client.llen(fleet.queue) == 4  # two running (one per worker slot), four waiting
        running = [int(line[3]) for line in log_lines(folder, "start")]
        started = time.monotonic()
        await executor.cancel()
        await asyncio.wait_for(run, 10)
        assert client.llen(fleet.queue) == 0
        assert all(pid_gone(pid, within=5.0) for pid in running)  # killed, not left to finish
        assert time.monotonic() - started < 5.0
        # The workers are still up, and take the next campaign's tasks.
        assert all(worker.alive() for worker in fleet.workers)
        next_tasks = tasks_for(folder, 1)
        again = await asyncio.wait_for(collect(executor, next_tasks), 30)
    finally:
        await executor.aclose()
    assert sorted(o.candidate_id for o in outcomes) == sorted(t.candidate_id for t in tasks)
    assert all(o.error == "cancelled" for o in outcomes)
    assert_each_once(again, next_tasks)
    assert len(log_lines(folder, "end")) == 1  # only the next campaign's evaluation ever finished


async def test_failures_and_timeouts_come_back_as_the_candidates_errors(shared: WorkerFleet, folder: Path) -> None:
    (folder / "failing.py").write_text("import sys\nprint('no such material', file=sys.stderr)\nsys.exit(3)\n")
    campaign = unique_campaign_id("celery-fail")
    timing_out = EvaluatorSpec(command=("python3", "evaluator.py"), python=None, timeout=1.0, workdir=str(folder))
    failing = EvaluatorSpec(command=("python3", "failing.py"), python=None, timeout=20.0, workdir=str(folder))
    tasks = [
        EvaluationTask(campaign, "c-slow", 1, {"x": 1, "sleep": 30}, timing_out),
        EvaluationTask(campaign, "c-fail", 1, {"x": 2}, failing),
    ]
    executor = CeleryExecutor(shared.broker, queue=shared.queue)
    started = time.monotonic()
    try:
        outcomes = {o.candidate_id: o for o in await asyncio.wait_for(collect(executor, tasks), 30)}
    finally:
        await executor.aclose()
    assert outcomes["c-slow"].error == "timed out after 1 s"  # enforced on the worker, by evaluate()
    assert outcomes["c-fail"].error == "exited with status 3: no such material"
    assert not outcomes["c-fail"].objectives and not outcomes["c-fail"].feasible
    assert time.monotonic() - started < 20
    assert pid_gone(int(log_lines(folder, "start")[0][3]))  # the timed-out evaluator was killed


async def test_an_unreachable_broker_is_said_and_waited_for(folder: Path) -> None:
    from materia_tui.backend.run.executors import report_status

    own = OwnRedis()  # a port nobody listens on yet
    executor = CeleryExecutor(own.url, queue=unique_queue())
    lines: list[str] = []
    run = asyncio.create_task(collect(executor, tasks_for(folder, 1)))
    reporter = asyncio.create_task(report_status(executor, lines.append, interval=0.1))
    try:
        deadline = time.monotonic() + 15
        while not any("unreachable" in line for line in lines):
            assert time.monotonic() < deadline, lines
            assert not run.done()  # waiting, not failing
            await asyncio.sleep(0.1)
    finally:
        run.cancel()
        reporter.cancel()
        await asyncio.gather(run, reporter, return_exceptions=True)
        await executor.aclose()
        own.close()
    assert lines[-1].startswith(f"evaluations on Celery workers (queue '{executor.queue}' on {own.url}): 0 workers")
    assert lines[-1].endswith("; waiting for it")
