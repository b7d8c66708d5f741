"""Real evaluator processes: what they get, what they print, every way they fail, and that a
timeout or a cancel kills the evaluator's whole process group."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from pathlib import Path

import pytest

from materia_tui.backend.run.evaluation import EvaluationTask, EvaluatorSpec, evaluate
from materia_tui.backend.run.executor import LocalExecutor

ECHO_SCRIPT = """\
import json, os, sys
p = json.load(sys.stdin)
print(json.dumps({"y": p["x"] * 2, "cwd": os.getcwd(),
                  "env": [os.environ[k] for k in ("MATERIA_CAMPAIGN_ID", "MATERIA_CANDIDATE_ID", "MATERIA_ITERATION")]}))
"""

MODULE = """\
import os

def evaluate(p):
    if p["x"] < 0:
        raise ValueError("x must not be negative")
    return {"y": p["x"] + 1, "feasible": p["x"] < 10, "iteration": int(os.environ["MATERIA_ITERATION"])}

def not_a_dict(p):
    return [1, 2]
"""


def task(folder: Path, *, command: tuple[str, ...] | str | None = None, python: str | None = None,
         timeout: float = 20.0, x: float = 1.5, candidate: str = "c-0001") -> EvaluationTask:
    spec = EvaluatorSpec(command=command, python=python, timeout=timeout, workdir=str(folder))
    return EvaluationTask("camp-1", candidate, 3, {"x": x, "polymer": "PA"}, spec)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead; only an unreaped child of ours could be one.
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "echo.py").write_text(ECHO_SCRIPT)
    (tmp_path / "mymodule.py").write_text(MODULE)
    return tmp_path


def test_a_command_gets_json_on_stdin_the_environment_and_the_config_folder(folder: Path) -> None:
    outcome = evaluate(task(folder, command=("python3", "echo.py")))
    assert outcome.error is None and outcome.feasible
    assert outcome.objectives == {"y": 3.0}  # only numbers are objectives
    assert outcome.candidate_id == "c-0001" and outcome.duration > 0 and outcome.worker
    # The strings came through too (checked through a shell command that prints them as numbers).
    shell = "read line; test \"$MATERIA_CAMPAIGN_ID/$MATERIA_CANDIDATE_ID/$MATERIA_ITERATION\" = camp-1/c-0001/3 " \
            "&& test -f echo.py && echo '{\"ok\": 1}'"
    assert evaluate(task(folder, command=shell)).objectives == {"ok": 1.0}


def test_a_python_function_is_called_with_a_dict(folder: Path) -> None:
    outcome = evaluate(task(folder, python="mymodule:evaluate", x=12))
    assert outcome.error is None
    assert outcome.objectives == {"y": 13.0, "iteration": 3.0}
    assert outcome.feasible is False


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ({"command": "echo starting >&2; echo 'disk full: /scratch' >&2; exit 3"},
         "exited with status 3: starting | disk full: /scratch"),
        ({"command": "true"}, "printed nothing on stdout (expected one JSON object)"),
        ({"command": "echo 'not json at all'"}, "output is not a JSON object: not json at all"),
        ({"command": "echo '[1, 2]'"}, "printed list JSON, not a JSON object: [1, 2]"),
        ({"command": "echo '{\"error\": \"mesh did not converge\"}'"}, "mesh did not converge"),
        ({"command": "echo '{\"y\": NaN}'"}, "y is nan, not a finite number"),
        ({"command": "echo '{\"y\": 1, \"feasible\": \"no\"}'"}, "\"feasible\" must be true or false"),
        ({"command": ("./no-such-program",)}, "exited with status 127: cannot start ./no-such-program"),
        ({"command": "kill -9 $$"}, "exited with status 137"),
        ({"python": "mymodule:evaluate", "x": -1}, "ValueError: x must not be negative"),
        ({"python": "mymodule:not_a_dict"}, "printed list JSON, not a JSON object"),
        ({"python": "nomodule:evaluate"}, "ModuleNotFoundError: No module named 'nomodule'"),
        ({"command": "printf '\\033[31mred\\033[0m' >&2; exit 1"}, "exited with status 1: \\x1b[31mred\\x1b[0m"),
    ],
)
def test_every_kind_of_failure_is_one_cleaned_reason(folder: Path, kind: dict, expected: str) -> None:
    outcome = evaluate(task(folder, **kind))
    assert outcome.error is not None and outcome.error.startswith(expected), outcome.error
    assert outcome.objectives == {} and outcome.feasible is False
    assert "\n" not in outcome.error and "\x1b" not in outcome.error


def test_progress_lines_before_the_result_are_tolerated(folder: Path) -> None:
    outcome = evaluate(task(folder, command="echo 'step 1'; echo 'step 2'; echo '{\"y\": 4}'"))
    assert outcome.objectives == {"y": 4.0}


def test_a_timeout_kills_the_whole_process_group(folder: Path) -> None:
    pids = folder / "pids"
    # A shell that starts a grandchild in the background and waits: both must die.
    command = f"sleep 60 & echo $! >> {pids}; echo $$ >> {pids}; wait"
    started = time.monotonic()
    outcome = evaluate(task(folder, command=command, timeout=1.5))
    assert outcome.error == "timed out after 1.5 s"
    assert time.monotonic() - started < 10
    recorded = [int(p) for p in pids.read_text().split()]
    assert len(recorded) == 2
    deadline = time.monotonic() + 5
    while any(alive(p) for p in recorded) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(p) for p in recorded)


async def test_the_local_pool_runs_workers_at_once_and_yields_one_outcome_per_task(folder: Path) -> None:
    executor = LocalExecutor(workers=3)
    tasks = [task(folder, command="sleep 1; echo '{\"y\": 1}'", candidate=f"c-{i}") for i in range(6)]
    started = time.monotonic()
    seen = []
    statuses = []
    async for outcome in executor.run(tasks):
        seen.append(outcome.candidate_id)
        statuses.append(executor.status())
    elapsed = time.monotonic() - started
    await executor.aclose()
    assert sorted(seen) == sorted(t.candidate_id for t in tasks)
    assert elapsed < 5.5  # 6 one-second evaluations on 3 workers, not 6 s in a row
    assert all(s.workers == 3 and s.busy <= 3 for s in statuses)


async def test_cancel_kills_running_evaluations_and_skips_queued_ones(folder: Path) -> None:
    pids = folder / "pids"
    executor = LocalExecutor(workers=2)
    tasks = [task(folder, command=f"echo $$ >> {pids}; sleep 60", candidate=f"c-{i}") for i in range(4)]
    outcomes = []

    async def consume() -> None:
        async for outcome in executor.run(tasks):
            outcomes.append(outcome)

    consumer = asyncio.create_task(consume())
    deadline = time.monotonic() + 10
    while (not pids.exists() or len(pids.read_text().split()) < 2) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert executor.status().busy == 2 and executor.status().waiting == 2
    await executor.cancel()
    await asyncio.wait_for(consumer, 10)
    await executor.aclose()
    assert sorted(o.candidate_id for o in outcomes) == ["c-0", "c-1", "c-2", "c-3"]
    assert all(o.error == "cancelled" for o in outcomes)
    assert len(pids.read_text().split()) == 2  # the queued two never started
    assert not any(alive(int(p)) for p in pids.read_text().split())


def test_outcome_json_round_trip_is_plain(folder: Path) -> None:
    outcome = evaluate(task(folder, command="echo '{\"y\": 2, \"note\": \"fine\"}'"))
    assert json.loads(json.dumps({"objectives": outcome.objectives}))["objectives"] == {"y": 2.0}


def test_a_user_module_named_like_one_of_ours_is_the_users(folder: Path) -> None:
    (folder / "config.py").write_text("def evaluate(p):\n    return {'mine': 1}\n")
    assert evaluate(task(folder, python="config:evaluate")).objectives == {"mine": 1.0}


async def test_a_consumer_that_is_cancelled_kills_the_running_evaluations(folder: Path) -> None:
    pids = folder / "pids"
    executor = LocalExecutor(workers=2)
    tasks = [task(folder, command=f"echo $$ >> {pids}; sleep 60", candidate=f"c-{i}") for i in range(3)]

    async def consume() -> None:
        async for _ in executor.run(tasks):
            pass

    consumer = asyncio.create_task(consume())
    deadline = time.monotonic() + 10
    while (not pids.exists() or len(pids.read_text().split()) < 2) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    started = time.monotonic()
    consumer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(consumer, 10)
    assert time.monotonic() - started < 5
    assert not any(alive(int(p)) for p in pids.read_text().split())
    assert len(pids.read_text().split()) == 2  # the queued one never started
    await executor.aclose()
