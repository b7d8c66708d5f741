"""The monitor shows an Optuna study that another process optimizes (Textual pilots)."""

from __future__ import annotations

from pathlib import Path

import pytest

from materia_tui.cli.main import build_parser
from materia_tui.cli.watch_optuna import several_studies_app
from materia_tui.source.optuna import OptunaSource
from materia_tui.ui.app import MonitorApp
from materia_tui.ui.screens.campaign_picker import CampaignPicker
from materia_tui.ui.widgets.candidate_table import CandidateTable
from materia_tui.ui.widgets.progress_panel import ProgressPanel
from materia_tui.ui.widgets.status_bar import StatusBar
from tests.support.optuna_process import load_study, run_worker, start_worker, storage_spec
from tests.support.waiting import wait_for

pytestmark = pytest.mark.timeout(300)


async def test_the_monitor_shows_a_study_as_it_runs(tmp_path: Path) -> None:
    spec = storage_spec(tmp_path, "sqlite")
    gate = tmp_path / "go"
    worker = await start_worker(spec, "tpe", "tpe", 8, "--gate", str(gate))
    try:
        source = OptunaSource(spec, "tpe", n_trials=8, poll_seconds=0.1)
        app = MonitorApp(source, source.campaign_id)
        async with app.run_test(size=(160, 48)) as pilot:
            table = app.query_one(CandidateTable)
            await wait_for(pilot, lambda: table.row_count == 1, timeout=60, what="the running trial")
            assert app.view.state.candidates["trial-0"].status == "proposed"
            gate.touch()
            await wait_for(pilot, lambda: app.view.state.is_finished, timeout=120, what="the end of the study")
            await wait_for(pilot, lambda: table.row_count == 8, what="every trial in the table")
            status = app.query_one(StatusBar).shown_plain
            assert "COMPLETED" in status and "Optuna study, 1 trial/iteration" in status and "tpe" in status
            progress = app.query_one(ProgressPanel).shown_plain
            assert "iteration 8/8" in progress and "100%" in progress
            study = load_study(spec, "tpe")
            best = app.view.state.best["value"]
            assert (best.value, best.candidate_id) == (study.best_value, f"trial-{study.best_trial.number}")
            assert "eV" in progress
            await pilot.press("q")
        code, err = await worker.finish()
    finally:
        worker.kill()
    assert code == 0, err
    assert app.return_code == 0


async def test_watch_without_a_study_name_picks_from_the_storage(tmp_path: Path) -> None:
    spec = storage_spec(tmp_path, "journal")
    await run_worker(spec, "first", "tpe", 3)
    await run_worker(spec, "second study", "nsga2", 4)
    args = build_parser("watch").parse_args(["watch", "--optuna", spec])
    app = several_studies_app(args, [])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CampaignPicker), what="the picker")
        picker = app.screen
        assert isinstance(picker, CampaignPicker)
        await wait_for(pilot, lambda: picker.loaded, what="the study list")
        ids = [c.id for c in picker.campaigns]
        assert ids[0] == "first" and ids[1].startswith("second-study-")
        await pilot.press("down", "enter")  # open the second study
        await wait_for(pilot, lambda: len(app.views) == 1, what="a tab")
        view = app.views[0]
        await wait_for(pilot, lambda: view.state.evaluations == 4, timeout=60, what="the study's trials")
        assert view.state.objectives == ["cost", "yield"]
        await pilot.press("q")


async def test_several_studies_open_one_tab_each(tmp_path: Path) -> None:
    spec = storage_spec(tmp_path, "sqlite")
    await run_worker(spec, "a", "tpe", 2)
    await run_worker(spec, "b", "prune", 3)
    args = build_parser("watch").parse_args(["watch", "--optuna", spec, "a", "b", "--n-trials", "2"])
    app = several_studies_app(args, ["a", "b"])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: all(v.state.evaluations >= 2 for v in app.views), timeout=60, what="both")
        assert [v.campaign_id for v in app.views] == ["a", "b"]
        assert app.views[0].state.is_finished  # --n-trials 2: study a is complete
        await pilot.press("q")


async def test_exit_on_complete_leaves_once_the_trials_have_finished(tmp_path: Path) -> None:
    spec = storage_spec(tmp_path, "journal")
    await run_worker(spec, "s", "tpe", 3)
    source = OptunaSource(spec, "s", n_trials=3)
    app = MonitorApp(source, source.campaign_id, exit_on_complete=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.return_code is not None, timeout=60, what="the app to leave")
    assert app.return_code == 0 and app.view.state.evaluations == 3
