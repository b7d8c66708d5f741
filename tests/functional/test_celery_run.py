"""``materia-tui run CONFIG --executor celery`` end to end: a real redis-server, real
``materia-tui worker`` processes, the real runner in its own process.

Applied outcomes are counted in the journal (``.materia/ID.outcomes.jsonl`` and the
``candidates_evaluated`` events), evaluator runs in the evaluator's own log: a run
may be repeated (a killed or cancelled evaluation), an outcome is applied once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.celery_workers import CONSOLE_SCRIPT, WorkerFleet, worker_fleet
from tests.support.redis_server import redis_url, unique_campaign_id  # noqa: F401 (fixture)

pytest.importorskip("celery")
pytest.importorskip("yaml")

from materia_tui.backend.run.celery_app import make_app

pytestmark = [pytest.mark.redis, pytest.mark.timeout(90)]

CONFIG = """\
name: celery run test
iterations: {iterations}
batch_size: {batch}
seed: 0
initial_samples: {batch}
parameters:
  x: {{type: continuous, low: 0.0, high: 1.0}}
objectives:
  y: {{direction: maximize}}
evaluator:
  command: [python3, evaluate.py]
  timeout: 40
"""

EVALUATOR = """\
import json, os, sys, time
p = json.load(sys.stdin)
with open("calls.log", "a") as f:
    f.write(f"{os.environ['MATERIA_CANDIDATE_ID']} {os.environ.get('MATERIA_WORKER')} {os.getpid()}\\n")
if os.path.exists("slow"):  # its content: seconds to sleep (default 30)
    time.sleep(float(open("slow").read() or 30))
print(json.dumps({"y": -(p["x"] - 0.3) ** 2}))
"""


def write_campaign(folder: Path, *, iterations: int, batch: int) -> Path:
    (folder / "evaluate.py").write_text(EVALUATOR)
    config = folder / "campaign.yaml"
    config.write_text(CONFIG.format(iterations=iterations, batch=batch))
    return config


def run_command(config: Path, fleet: WorkerFleet, campaign_id: str, *extra: str) -> list[str]:
    return [str(CONSOLE_SCRIPT), "run", str(config), "--plain", "--campaign-id", campaign_id,
            "--executor", "celery", "--broker", fleet.broker, "--queue", fleet.queue, *extra]


def in_tmp(folder: Path) -> dict[str, str]:
    """The runner's environment, its temporary files (the token's folder) under ``folder``:
    a runner killed with SIGKILL cannot remove them itself."""
    return {**os.environ, "TMPDIR": str(folder)}


def calls(folder: Path) -> list[list[str]]:
    path = folder / "calls.log"
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


def applied(folder: Path, campaign_id: str) -> tuple[Counter[str], Counter[str]]:
    """Outcomes the runner recorded, and results its candidates_evaluated events carry, per candidate."""
    journal = folder / ".materia" / f"{campaign_id}.jsonl"
    outcomes = folder / ".materia" / f"{campaign_id}.outcomes.jsonl"
    recorded = Counter(json.loads(line)["candidate_id"] for line in outcomes.read_text().splitlines() if line)
    published: Counter[str] = Counter()
    for line in journal.read_text().splitlines():
        event = json.loads(line)
        if event.get("type") == "candidates_evaluated":
            published.update(result["candidate_id"] for result in event["results"])
    return recorded, published


@pytest.fixture(scope="module")
def fleet(redis_url: str) -> Iterator[WorkerFleet]:  # noqa: F811
    """Two workers with one slot each, shared by the module's tests (workers outlive campaigns)."""
    with worker_fleet(redis_url.rsplit("/", 1)[0] + "/2") as workers:
        workers.start("w1")
        workers.start("w2")
        workers.wait_ready(make_app(workers.broker, queue=workers.queue))
        yield workers


def test_run_spreads_a_campaign_over_workers(fleet: WorkerFleet, tmp_path: Path) -> None:
    config = write_campaign(tmp_path, iterations=2, batch=4)
    campaign_id = unique_campaign_id("celery-run")
    done = subprocess.run(run_command(config, fleet, campaign_id), capture_output=True, text=True, timeout=80)
    assert done.returncode == 0, done.stderr
    assert "Done! 2 iterations, 8 evaluations" in done.stdout
    assert "[Iter  1/2] Evaluating candidates... done (" in done.stdout  # MatCraft's line, unchanged
    assert f"evaluations on Celery workers (queue '{fleet.queue}'" in done.stderr
    recorded, published = applied(tmp_path, campaign_id)
    assert len(recorded) == 8 and set(recorded.values()) == {1}
    assert published == recorded
    assert {line[1] for line in calls(tmp_path)} == {w.name for w in fleet.workers}  # MATERIA_WORKER
    outcomes = (tmp_path / ".materia" / f"{campaign_id}.outcomes.jsonl").read_text().splitlines()
    assert {json.loads(line)["worker"] for line in outcomes} == {w.name for w in fleet.workers}


def test_ctrl_c_leaves_no_task_behind_and_resume_finishes(fleet: WorkerFleet, tmp_path: Path) -> None:
    config = write_campaign(tmp_path, iterations=2, batch=4)
    (tmp_path / "slow").touch()
    app = make_app(fleet.broker, queue=fleet.queue)
    campaign_id = unique_campaign_id("celery-cancel")
    runner = subprocess.Popen(run_command(config, fleet, campaign_id), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=in_tmp(tmp_path))
    try:
        deadline = time.monotonic() + 40
        while len(calls(tmp_path)) < 2:
            assert time.monotonic() < deadline and runner.poll() is None, "the evaluations never started"
            time.sleep(0.05)
        client = app.backend.client
        assert client.llen(fleet.queue) == 2  # one taken by each worker's slot, two waiting
        evaluator_pids = [int(line[2]) for line in calls(tmp_path)]
        runner.send_signal(signal.SIGINT)
        _out, err = runner.communicate(timeout=30)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
    assert runner.returncode == 130, err
    assert client.llen(fleet.queue) == 0
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in evaluator_pids):  # the workers kill running evaluations on the cancel flag
        assert time.monotonic() < deadline, "a running evaluation was left running"
        time.sleep(0.05)
    assert all(worker.alive() for worker in fleet.workers)
    assert len(app.control.ping(timeout=1.0)) == 2  # both still take tasks

    (tmp_path / "slow").unlink()
    resumed = subprocess.run(run_command(config, fleet, campaign_id, "--resume"), capture_output=True,
                             text=True, timeout=80)
    assert resumed.returncode == 0, resumed.stderr
    assert "Done! 2 iterations, 8 evaluations" in resumed.stdout
    recorded, published = applied(tmp_path, campaign_id)
    assert len(recorded) == 8 and set(recorded.values()) == {1}
    assert published == recorded
    runs = Counter(line[0] for line in calls(tmp_path))
    cancelled = {line[0] for line in calls(tmp_path)[:2]}
    assert {c for c, n in runs.items() if n == 2} == cancelled  # they ran again on resume; no other twice
    assert sum(runs.values()) == 10


def test_run_rejects_a_broker_it_cannot_reach(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from materia_tui.cli.main import run

    config = str(write_campaign(tmp_path, iterations=1, batch=1))
    assert run(["run", config, "--plain", "--executor", "celery", "--broker", "redis://127.0.0.1:1/0"]) == 2
    assert capsys.readouterr().err == "materia-tui: Cannot reach the broker at redis://127.0.0.1:1/0: check --broker.\n"
    assert run(["run", config, "--executor", "celery"]) == 2
    assert "--executor celery needs --broker URL" in capsys.readouterr().err
    assert run(["run", config, "--broker", "redis://127.0.0.1:1/0"]) == 2
    assert "--broker goes with --executor celery" in capsys.readouterr().err


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def test_worker_usage_errors_are_one_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    from materia_tui.cli.main import run

    assert run(["worker", "--broker", "amqp://localhost//"]) == 2
    assert capsys.readouterr().err == (
        "materia-tui: --broker must be a redis:// or rediss:// URL, not 'amqp://localhost//'\n"
    )
    assert run(["worker", "--broker", "redis://127.0.0.1:1/0", "--concurrency", "0"]) == 2
    assert capsys.readouterr().err == "materia-tui: --concurrency must be at least 1\n"


def test_resume_after_kill_9_takes_what_the_workers_finished_meanwhile(fleet: WorkerFleet, tmp_path: Path) -> None:
    # The runner dies (kill -9) while its four evaluations run; the workers finish them
    # anyway. --resume takes their stored outcomes: no candidate is evaluated twice.
    config = write_campaign(tmp_path, iterations=2, batch=4)
    (tmp_path / "slow").write_text("3")
    campaign_id = unique_campaign_id("celery-kill")
    runner = subprocess.Popen(run_command(config, fleet, campaign_id), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env=in_tmp(tmp_path))
    try:
        deadline = time.monotonic() + 40
        while len(calls(tmp_path)) < 2:
            assert time.monotonic() < deadline and runner.poll() is None, "the evaluations never started"
            time.sleep(0.05)
    finally:
        runner.kill()
        runner.wait()
    (tmp_path / "slow").unlink()  # the queued two run fast; the running two finish their sleep
    resumed = subprocess.run(run_command(config, fleet, campaign_id, "--resume"), capture_output=True,
                             text=True, timeout=80)
    assert resumed.returncode == 0, resumed.stderr
    assert "Done! 2 iterations, 8 evaluations" in resumed.stdout
    recorded, published = applied(tmp_path, campaign_id)
    assert len(recorded) == 8 and set(recorded.values()) == {1}
    assert published == recorded
    runs = Counter(line[0] for line in calls(tmp_path))
    assert set(runs.values()) == {1} and len(runs) == 8, runs
