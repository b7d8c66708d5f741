"""`materia-tui demo` end to end: a real GP campaign, served over a real
WebSocket in the same process, watched with --plain / --json."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from materia_tui.backend.demo.campaign import MemorySink, run_campaign
from materia_tui.output.numbers import with_unit
from materia_tui.state.pareto import brute_force_front

EXE = str(Path(sys.executable).with_name("materia-tui"))


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


async def test_demo_plain_runs_to_completion_and_agrees_with_the_campaign_record() -> None:
    code, out, err = await run_demo("--plain", "--iterations", "3", "--speed", "0", "--seed", "5")
    assert code == 0, err
    record = await run_campaign(MemorySink(), iterations=3, batch=5, seed=5, speed=0)
    lines = out.splitlines()
    assert lines[-1] == f"Done! 3 iterations, {record.total_evaluations} evaluations"
    assert record.total_evaluations == 15
    best = [line for line in lines if "Best:" in line][-1]
    units = {"water_flux": "L/m2/h", "salt_rejection": "%"}
    expected = ", ".join(
        f"{name}={with_unit(value, units[name])}" for name, value in record.best_values.items()
    )
    assert best == f"[Iter  3/3] Best: {expected}"
    assert sum(1 for line in lines if "Training surrogate" in line) == 2  # none in iteration 1
    assert "serving http://127.0.0.1:" in err


async def test_demo_json_front_matches_the_record() -> None:
    code, out, err = await run_demo("--json", "--iterations", "2", "--batch", "4", "--speed", "0")
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["type"] == "campaign_completed" and events[-1]["total_evaluations"] == 8
    record = await run_campaign(MemorySink(), iterations=2, batch=4, seed=0, speed=0)
    measured = [
        (r["candidate_id"], (r["objectives"]["water_flux"], r["objectives"]["salt_rejection"]))
        for e in events
        if e["type"] == "candidates_evaluated"
        for r in e["results"]
        if r.get("feasible", True) and not r.get("error")
    ]
    assert brute_force_front(measured) == set(record.pareto_front_ids)
    last_completed = [e for e in events if e["type"] == "iteration_completed"][-1]
    assert last_completed["pareto_size"] == len(record.pareto_front_ids)
