"""`materia-tui demo` end to end: `run` of the bundled membrane config (the membrane model as a
`python:` evaluator), served over a real WebSocket in the same process, watched with --plain /
--json, and checked against its own journal.

Before issue 14 these tests compared the output with backend/demo/campaign.py's in-process
campaign; the demo is now a `run`, so the ground truth is the journal it keeps."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from materia_tui.backend.run.config import parse_config
from materia_tui.output.numbers import with_unit
from materia_tui.state.pareto import brute_force_front

EXE = str(Path(sys.executable).with_name("materia-tui"))
OBJECTIVES = ("water_flux", "salt_rejection")


async def run_demo(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        EXE,
        "demo",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def journal_results(path: Path) -> list[dict[str, Any]]:
    events = [json.loads(line) for line in path.read_text().splitlines()]
    return [r for e in events if e.get("type") == "candidates_evaluated" for r in e["results"]]


def counted(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in results if r.get("feasible", True) and not r.get("error")]


async def test_demo_plain_runs_to_completion_and_agrees_with_its_journal(tmp_path: Path) -> None:
    journal = tmp_path / "demo.jsonl"
    code, out, err = await run_demo(
        "--plain", "--iterations", "3", "--speed", "0", "--seed", "5", "--journal", str(journal)
    )
    assert code == 0, err
    lines = out.splitlines()
    results = journal_results(journal)
    assert len(results) == 15
    assert lines[-1] == "Done! 3 iterations, 15 evaluations"
    best = [line for line in lines if "Best:" in line][-1]
    units = {"water_flux": "L/m2/h", "salt_rejection": "%"}
    expected = ", ".join(
        f"{name}={with_unit(max(r['objectives'][name] for r in counted(results)), units[name])}"
        for name in OBJECTIVES
    )
    assert best == f"[Iter  3/3] Best: {expected}"
    # 10 design points (iterations 1 and 2) before the surrogate trains.
    assert sum(1 for line in lines if "Training surrogate" in line) == 1
    assert "serving http://127.0.0.1:" in err


async def test_demo_json_front_matches_the_measurements() -> None:
    code, out, err = await run_demo("--json", "--iterations", "2", "--batch", "4", "--speed", "0")
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["type"] == "campaign_completed" and events[-1]["total_evaluations"] == 8
    results = [r for e in events if e["type"] == "candidates_evaluated" for r in e["results"]]
    measured = [(r["candidate_id"], tuple(r["objectives"][n] for n in OBJECTIVES)) for r in counted(results)]
    last_completed = [e for e in events if e["type"] == "iteration_completed"][-1]
    assert last_completed["pareto_size"] == len(brute_force_front(measured))


async def test_print_config_prints_the_bundled_config_which_validates() -> None:
    code, out, err = await run_demo("--print-config")
    assert code == 0, err
    config = parse_config(out, "membrane.yaml")
    assert list(config.objectives) == list(OBJECTIVES)
    assert config.evaluator.python == "materia_tui.backend.demo.evaluator:evaluate"
    assert out == (Path(__file__).parents[2] / "materia_tui/backend/demo/membrane.yaml").read_text()
