"""``materia-tui watch/ls/export --optuna`` against real Optuna studies optimized in another process.

The truth is Optuna's own reading of the same storage (``load_study``): its
``best_value`` and ``best_trials`` must be what materia-tui shows.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import pytest

from materia_tui.output.numbers import format_value, with_unit
from materia_tui.protocol import Rejected, parse_campaign, parse_object
from materia_tui.source.optuna import OptunaSource
from materia_tui.source.optuna_study import is_feasible
from materia_tui.state import CampaignState
from materia_tui.state.intake import apply_item
from tests.support.optuna_process import (
    finish_cli,
    front_numbers,
    load_study,
    run_cli,
    run_worker,
    start_cli,
    start_worker,
    storage_spec,
)

pytestmark = pytest.mark.timeout(300)


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
async def test_plain_follows_a_running_tpe_study_to_its_done_line(tmp_path: Path, kind: str) -> None:
    spec = storage_spec(tmp_path, kind)
    gate = tmp_path / "go"
    worker = await start_worker(spec, "tpe", "tpe", 20, "--gate", str(gate), "--sleep", "0.02")
    try:
        cli = await start_cli("watch", "--optuna", spec, "tpe", "--plain", "--n-trials", "20")
        assert cli.stdout is not None
        # Trial 0 waits at the gate, RUNNING: the watcher shows it as proposed before anything finished.
        first = await asyncio.wait_for(cli.stdout.readline(), 60)
        # (of "?" iterations: the iteration size is known once a trial has finished)
        assert first.decode().startswith("[Iter  1/?] Optimizing acquisition... done"), first
        gate.touch()
        code, out, err = await finish_cli(cli)
        worker_code, worker_err = await worker.finish()
    finally:
        worker.kill()
    assert worker_code == 0, worker_err
    assert code == 0, err
    lines = out.splitlines()
    assert lines[-1] == "Done! 20 iterations, 20 evaluations"
    study = load_study(spec, "tpe")
    best = [line for line in lines if "Best:" in line][-1]
    assert best == f"[Iter 20/20] Best: value={with_unit(study.best_value, 'eV')}"
    failed = sum(1 for t in study.trials if t.state.name == "FAIL")
    assert failed and sum(line.count(" failed)") for line in lines) == failed
    assert "Traceback" not in err


async def test_json_and_recording_of_a_constrained_nsga2_study_match_optuna(tmp_path: Path) -> None:
    spec = storage_spec(tmp_path, "sqlite")
    record = tmp_path / "run.jsonl"
    worker = await start_worker(spec, "nsga", "nsga2", 40, "--sleep", "0.01")
    try:
        code, out, err = await run_cli(
            "watch", "--optuna", spec, "nsga", "--json", "--n-trials", "40", "--record", str(record)
        )
        worker_code, worker_err = await worker.finish()
    finally:
        worker.kill()
    assert (code, worker_code) == (0, 0), err + worker_err
    study = load_study(spec, "nsga")
    assert any(not is_feasible(t.system_attrs) for t in study.trials)  # some are infeasible
    recorded = [json.loads(line) for line in record.read_text().splitlines()]
    metadata = parse_campaign([obj for obj in recorded if "metadata" in obj][-1]["metadata"])
    assert metadata is not None
    printed = [json.loads(line) for line in out.splitlines()]
    for lines in (printed, [obj for obj in recorded if "metadata" not in obj]):
        state = CampaignState("nsga", metadata)
        for obj in lines:
            event = parse_object(obj)
            assert not isinstance(event, Rejected)
            state.apply(event, obj.get("received_at", 0.0))
        assert state.status == "completed"
        assert sorted(state.front_ids()) == front_numbers(study)
        assert state.pareto_mismatches == []
        assert [(o, state.directions[o], state.units[o]) for o in state.objectives] == [
            ("cost", "minimize", "$"), ("yield", "maximize", "%"),
        ]
    code, out, err = await run_cli("replay", str(record), "--plain")
    assert code == 0, err
    assert out.splitlines()[-1] == "Done! 40 iterations, 40 evaluations"


async def test_pruned_and_failed_trials_followed_through_the_source(tmp_path: Path) -> None:
    spec = storage_spec(tmp_path, "journal")
    worker = await start_worker(spec, "prune", "prune", 24, "--sleep", "0.01")
    state = CampaignState("prune")
    try:
        async for item in OptunaSource(spec, "prune", n_trials=24, batch=4, poll_seconds=0.1):
            apply_item(state, item)
        code, err = await worker.finish()
    finally:
        worker.kill()
    assert code == 0, err
    study = load_study(spec, "prune")
    pruned = {f"trial-{t.number}" for t in study.trials if t.state.name == "PRUNED"}
    failed = {f"trial-{t.number}" for t in study.trials if t.state.name == "FAIL"}
    assert pruned and failed
    errors = {c.id: c.error for c in state.candidate_list if c.status == "failed"}
    assert set(errors) == pruned | failed
    assert all(errors[c] == "pruned at step 3" for c in pruned)
    assert state.best["value"].value == study.best_value
    assert state.completed_iterations == 6 and state.max_iterations == 6
    assert state.name == "Optuna study, 4 trials/iteration"


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
async def test_an_unknown_study_is_exit_4(tmp_path: Path, kind: str) -> None:
    spec = storage_spec(tmp_path, kind)
    await run_worker(spec, "real", "tpe", 2)
    for args in (["watch", "--optuna", spec, "nope", "--plain"], ["export", "--optuna", spec, "nope"]):
        code, _, err = await run_cli(*args)
        assert code == 4, err
        assert err.strip() == f"materia-tui: There is no study 'nope' in {spec}."


async def test_an_unreadable_storage_is_exit_2_with_one_sentence(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x00\x01 not optuna\n")
    not_optuna = tmp_path / "other.db"
    import sqlite3

    with sqlite3.connect(not_optuna) as db:
        db.execute("create table t (x)")
    cases = [
        str(tmp_path / "missing.log"),
        f"sqlite:///{tmp_path / 'missing.db'}",
        str(garbage),
        str(not_optuna),
        f"sqlite:///{not_optuna}",
        "nosuchdb://user:secret@host/db",
        "sqlite://",
        str(tmp_path),
    ]
    runs = [["watch", "--optuna", spec, "s", "--plain"] for spec in cases]
    runs += [["ls", "--optuna", cases[0]], ["ls", "--optuna", cases[3]], ["export", "--optuna", cases[2], "s"]]
    for args, (code, _, err) in zip(runs, await asyncio.gather(*(run_cli(*args) for args in runs)), strict=True):
        assert code == 2, (args, err)
        assert len(err.strip().splitlines()) == 1 and err.startswith("materia-tui: "), (args, err)
        assert "Traceback" not in err and "secret" not in err
    assert not (tmp_path / "missing.db").exists() and not (tmp_path / "missing.log").exists()


async def test_ls_and_export_read_the_studies(tmp_path: Path) -> None:
    spec = storage_spec(tmp_path, "sqlite")
    await run_worker(spec, "tpe", "tpe", 12)
    await run_worker(spec, "two objectives", "nsga2", 10)
    code, out, err = await run_cli("ls", "--optuna", spec)
    assert code == 0, err
    study = load_study(spec, "tpe")
    finished = sum(1 for t in study.trials if t.state.is_finished())
    assert out.splitlines()[0].split() == ["STUDY", "OBJECTIVES", "TRIALS", "RUNNING", "BEST"]
    tpe_row = next(line for line in out.splitlines() if line.startswith("tpe "))
    assert f"{finished}/12" in tpe_row and f"{format_value(study.best_value)} (trial {study.best_trial.number})" in tpe_row
    code, out, err = await run_cli("ls", "--optuna", spec, "--json")
    listed = {s["study"]: s for s in json.loads(out)["studies"]}
    assert listed["tpe"]["best_value"] == study.best_value
    assert listed["two objectives"]["campaign_id"].startswith("two-objectives-")
    code, out, err = await run_cli("export", "--optuna", spec, "two objectives", "--front-only")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert sorted(row["id"] for row in rows) == front_numbers(load_study(spec, "two objectives"))


async def test_optuna_options_are_checked() -> None:
    for args, expected in [
        (["watch", "camp-1", "--batch", "2"], "--batch and --n-trials go with --optuna"),
        (["watch", "--optuna", "x.db", "s", "--batch", "0"], "must be 1 or more"),
        (["watch", "--optuna", "x.db", "a", "b", "--plain"], "exactly one study"),
        (["watch", "--optuna", "x.db", "--record", "r.jsonl"], "exactly one study"),
    ]:
        code, _, err = await run_cli(*args)
        assert code == 2 and expected in err, (args, err)


async def test_without_optuna_installed_the_install_command_is_the_answer(tmp_path: Path) -> None:
    missing = tmp_path / "site" / "optuna"
    missing.mkdir(parents=True)
    (missing / "__init__.py").write_text("raise ImportError(\"No module named 'optuna'\")\n")
    for args in (["watch", "--optuna", "x.db", "s", "--plain"], ["ls", "--optuna", "x.db"]):
        code, _, err = await run_cli(*args, env={"PYTHONPATH": str(tmp_path / "site")})
        assert code == 2, err
        assert err.strip() == (
            "materia-tui: Optuna is not installed here: pip install 'materia-tui[optuna]' (Optuna 4 or newer)."
        )
