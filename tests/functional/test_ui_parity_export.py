"""Pilot tests of the parity plot and the export screen, mounted in a small host
app over a state folded from a synthetic campaign (not the monitor app)."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Input, Static

from materia_tui.output.export import write_csv
from materia_tui.output.numbers import format_value
from materia_tui.protocol import Rejected, parse_campaign, parse_object
from materia_tui.state import CampaignState
from materia_tui.state.calibration import ParityPair
from materia_tui.ui.screens.export_screen import ExportResult, ExportScreen
from materia_tui.ui.widgets import parity_plot
from materia_tui.ui.widgets.parity_plot import SIGMA, ParityPlot, picture
from tests.support.campaigns import campaign_events, campaign_meta
from tests.support.waiting import wait_for

CAMPAIGN = "camp-test"


def folded(events: list[dict[str, Any]], meta: dict[str, Any]) -> CampaignState:
    state = CampaignState(CAMPAIGN, parse_campaign(meta))
    for raw in events:
        apply(state, raw)
    return state


def apply(state: CampaignState, raw: dict[str, Any]) -> None:
    event = parse_object(raw)
    assert not isinstance(event, Rejected), event
    state.apply(event, 0.0)


def expected_figures(events: list[dict[str, Any]], objective: str) -> dict[str, float]:
    """RMSE and ±1/±2 sigma coverage straight from the event dicts (independent of the reducer)."""
    predictions: dict[str, tuple[float, float]] = {}
    for event in events:
        for cand in event.get("candidates", []):
            predictions[cand["id"]] = (cand["predicted"][objective], cand["uncertainty"][objective])
    residuals, zs = [], []
    for event in events:
        for result in event.get("results", []):
            if result.get("error") or objective not in result["objectives"]:
                continue
            predicted, sigma = predictions[result["candidate_id"]]
            residual = result["objectives"][objective] - predicted
            residuals.append(residual)
            if sigma > 0:
                zs.append(abs(residual) / sigma)
    return {
        "count": len(residuals),
        "rmse": math.sqrt(sum(r * r for r in residuals) / len(residuals)),
        "within1": sum(z <= 1 for z in zs) / len(zs),
        "within2": sum(z <= 2 for z in zs) / len(zs),
    }


class Host(App[None]):
    def __init__(self, state: CampaignState) -> None:
        super().__init__()
        self.state = state
        self.results: list[ExportResult | None] = []

    def compose(self) -> ComposeResult:
        yield ParityPlot(self.state, id="parity")

    def open_export(self) -> None:
        self.push_screen(ExportScreen(self.state), self.results.append)


# ----- parity plot ------------------------------------------------------------------------


async def test_caption_shows_the_figures_of_the_shown_objective() -> None:
    events = campaign_events(seed=4, iterations=6, batch=5)
    app = Host(folded(events, campaign_meta()))
    async with app.run_test(size=(120, 36)) as pilot:
        plot = app.query_one(ParityPlot)
        await wait_for(pilot, lambda: plot.up_to_date, what="first drawing")
        flux = expected_figures(events, "water_flux")
        caption = plot.caption
        assert caption.startswith("water_flux [L/m2/h] (1/2)")
        assert f"n {flux['count']}" in caption
        assert f"RMSE {format_value(flux['rmse'])}" in caption
        assert f"±1{SIGMA} {flux['within1']:.0%} (exp. 68%)" in caption
        assert f"±2{SIGMA} {flux['within2']:.0%} (exp. 95%)" in caption
        assert plot.stats is not None and plot.stats.calibration_error is not None
        assert f"calibration error {plot.stats.calibration_error:.3f}" in caption
        assert (
            plot.shown.sampled == plot.shown.marks == flux["count"]
        )  # few points: all drawn, with error bars
        assert sum(len(xs) for xs, _, _ in plot.shown.error_bars.values()) == flux["count"]

        plot.cycle_objective()
        rejection = expected_figures(events, "salt_rejection")
        assert plot.caption.startswith("salt_rejection [%] (2/2)")
        assert f"RMSE {format_value(rejection['rmse'])}" in plot.caption
        plot.cycle_objective()
        assert plot.objective == "water_flux"


async def test_redraws_only_when_the_picture_changes() -> None:
    events = campaign_events(seed=5, iterations=3, batch=4)
    state = folded(events[:-8], campaign_meta())  # the last iteration is still to come
    app = Host(state)
    async with app.run_test(size=(100, 30)) as pilot:
        plot = app.query_one(ParityPlot)
        await wait_for(pilot, lambda: plot.up_to_date, what="first drawing")
        draws, count = plot.draws, plot.stats.count if plot.stats else 0
        plot.apply_changes(state, state.take_changes(), 0.0)
        assert plot.draws == draws  # same revision: nothing to do
        rest = events[-8:]
        proposal = next(i for i, e in enumerate(rest) if e["type"] == "candidates_proposed")
        for raw in rest[: proposal + 1]:  # new revision, same pairs
            apply(state, raw)
        plot.apply_changes(state, state.take_changes(), 0.0)
        await wait_for(pilot, lambda: plot.up_to_date, what="proposal seen")
        assert plot.draws == draws
        for raw in rest[proposal + 1 :]:
            apply(state, raw)
        plot.apply_changes(state, state.take_changes(), 0.0)
        await wait_for(pilot, lambda: plot.up_to_date, what="evaluation drawn")
        assert plot.draws == draws + 1
        assert plot.stats is not None and plot.stats.count > count


async def test_network_strings_are_inert_in_the_caption() -> None:
    meta = campaign_meta()
    meta["objectives"] = [{"name": "water_flux", "direction": "maximize", "unit": "\x1b[31m%\x07"}]
    events = campaign_events(seed=6, iterations=2, batch=3, objectives=1)
    app = Host(folded(events, meta))
    async with app.run_test(size=(100, 30)) as pilot:
        plot = app.query_one(ParityPlot)
        await wait_for(pilot, lambda: plot.up_to_date, what="first drawing")
        assert "\x1b" not in plot.caption and "\x07" not in plot.caption
        assert "[\\x1b[31m%\\x07]" in plot.caption  # shown, escaped, not interpreted as markup


async def test_many_candidates_are_sampled_for_the_picture_but_counted_in_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(parity_plot, "MAX_POINTS", 100)
    events = campaign_events(seed=7, iterations=30, batch=20)
    app = Host(folded(events, campaign_meta()))
    async with app.run_test(size=(100, 30)) as pilot:
        plot = app.query_one(ParityPlot)
        await wait_for(pilot, lambda: plot.up_to_date, what="first drawing")
        measured = expected_figures(events, "water_flux")["count"]
        assert plot.stats is not None and plot.stats.count == measured > 400
        assert 50 <= plot.shown.sampled <= 100
        assert f"(plot: a sample of {plot.shown.sampled:,})" in plot.caption
        assert not plot.shown.error_bars  # too many for bars: colours only
        drawn = sum(len(xs) for xs, _ in plot.shown.series.values())
        assert drawn == plot.shown.marks <= plot.shown.sampled


def test_marks_are_thinned_to_one_per_cell_with_the_worst_band_on_top() -> None:
    calibrated = [ParityPair(f"c-{i}", i, 50.0 + i * 1e-3, 50.0, 1.0) for i in range(50)]  # one cell, |z| < 1
    outlier = ParityPair("c-out", 99, 50.0, 50.01, 0.001)  # same cell, |z| = 10
    far = ParityPair("c-far", 100, 0.0, 100.0, None)
    shown = picture([*calibrated, outlier, far], (50, 20))
    assert shown.sampled == 52 and shown.marks == 2  # too many for error bars: thinned
    assert shown.series == {"gray": ([0.0], [100.0]), "red": ([50.0], [50.01])}
    low, high = shown.limits or (0, 0)
    assert low < 0 and high > 100 and high - low == pytest.approx(110)  # a square with margins


async def test_an_empty_campaign_says_so() -> None:
    app = Host(CampaignState(CAMPAIGN))
    async with app.run_test(size=(80, 24)) as pilot:
        plot = app.query_one(ParityPlot)
        await wait_for(pilot, lambda: plot.up_to_date, what="first drawing")
        assert plot.caption == "no measured candidates with a prediction yet"


# ----- export screen ----------------------------------------------------------------------


async def open_export(app: Host, pilot: Pilot[None]) -> ExportScreen:
    app.open_export()
    await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), what="export screen")
    screen = app.screen
    assert isinstance(screen, ExportScreen)
    return screen


def path_field(screen: ExportScreen) -> Input:
    return screen.query_one("#export-path", Input)


@pytest.mark.parametrize("installed", [False, True])
async def test_export_screen_names_the_parquet_extra_when_pyarrow_is_missing(
    installed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("materia_tui.ui.screens.export_screen.parquet_available", lambda: installed)
    app = Host(folded(campaign_events(seed=8, iterations=2, batch=2), campaign_meta()))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_export(app, pilot)
        hints = screen.query("#export-parquet-hint")
        assert bool(screen.query("#format-parquet")) is installed
        if installed:
            assert not hints
        else:
            hint = hints.first(Static)
            assert str(hint.render()) == "Parquet: pip install 'materia-tui[parquet]'"


async def test_export_front_as_json_to_the_default_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    state = folded(campaign_events(seed=8, iterations=5, batch=4), campaign_meta())
    app = Host(state)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_export(app, pilot)
        assert path_field(screen).value == "./camp-test-candidates.csv"
        await pilot.click("#format-json")
        await pilot.click("#scope-front")
        await wait_for(
            pilot, lambda: path_field(screen).value == "./camp-test-front.json", what="path follows"
        )
        await pilot.click("#export-write")
        await wait_for(pilot, lambda: bool(app.results), what="dismissed")
    result = app.results[0]
    assert result is not None and result.path == Path("./camp-test-front.json")
    assert result.format == "json" and result.front_only
    document = json.loads((tmp_path / "camp-test-front.json").read_text())
    front = [c.id for c in state.candidate_list if c.on_front]
    assert [row["id"] for row in document["candidates"]] == front and len(front) >= 2
    assert result.rows == len(front)
    assert (
        result.describe()
        == f"Wrote {len(front)} candidates on the Pareto front to camp-test-front.json (json)."
    )


async def test_an_unwritable_path_is_shown_and_the_screen_stays(tmp_path: Path) -> None:
    state = folded(campaign_events(seed=9, iterations=2, batch=3), campaign_meta())
    app = Host(state)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_export(app, pilot)
        path_field(screen).value = str(tmp_path / "missing" / "out.csv")
        await pilot.click("#export-write")
        await wait_for(pilot, lambda: screen.error is not None, what="error shown")
        assert screen.error is not None and "Cannot write" in screen.error and "No such file" in screen.error
        assert app.screen is screen and not app.results
        # (the button ignores clicks during its press animation: enter in the path field submits too)
        path_field(screen).value = str(tmp_path)  # a folder
        path_field(screen).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Is a directory" in (screen.error or ""), what="folder refused")
        target = tmp_path / "out.csv"
        path_field(screen).value = str(target)
        await pilot.click("#format-json")  # an edited path is kept when the format changes
        await pilot.pause()
        assert path_field(screen).value == str(target)
        path_field(screen).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(app.results), what="dismissed")
    assert app.results[0] is not None and app.results[0].rows == len(state.candidate_list) == 6
    assert json.loads(target.read_text())["campaign_id"] == CAMPAIGN  # JSON under the name given


async def test_escape_cancels() -> None:
    app = Host(CampaignState(CAMPAIGN))
    async with app.run_test(size=(100, 30)) as pilot:
        await open_export(app, pilot)
        await pilot.press("escape")
        await wait_for(pilot, lambda: bool(app.results), what="dismissed")
    assert app.results == [None]


def many_candidates(count: int) -> CampaignState:
    state = CampaignState(CAMPAIGN)
    candidates = [{"id": f"c{k}", "parameters": {"x": k / 7, "kind": "AB"[k % 2]}} for k in range(count)]
    apply(state, {"type": "candidates_proposed", "iteration": 1, "candidates": candidates})
    return state


def progress(screen: ExportScreen) -> str:
    return str(screen.query_one("#export-progress", Static).render())


def hold_after(steps: int, monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """The export waits, after ``steps`` steps, until the event returned is set."""
    go_on = asyncio.Event()
    taken = 0

    async def between_steps(screen: ExportScreen) -> None:
        nonlocal taken
        taken += 1
        await (go_on.wait() if taken == steps else asyncio.sleep(0))

    monkeypatch.setattr(ExportScreen, "between_steps", between_steps)
    return go_on


async def test_a_large_export_runs_a_block_at_a_time_and_the_ui_between(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("materia_tui.output.export_rows.BLOCK_ROWS", 50)
    go_on = hold_after(10, monkeypatch)
    state = many_candidates(3000)
    target = tmp_path / "all.csv"
    app = Host(state)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_export(app, pilot)
        path_field(screen).value = str(target)
        path_field(screen).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.written == 9 * 50, what="nine blocks written")  # the header first
        await pilot.pause()
        assert progress(screen) == "Writing… 450 of 3,000 candidates"
        assert not target.exists() and (tmp_path / ".all.csv.part").exists()  # never a partial file by its name
        await pilot.press("enter")  # a second export is not started over the first
        go_on.set()
        await wait_for(pilot, lambda: bool(app.results), what="dismissed")
    assert app.results == [ExportResult(target, 3000, "csv", False)]
    expected = tmp_path / "expected.csv"
    write_csv(state, expected)
    assert target.read_bytes() == expected.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all.csv", "expected.csv"]


async def test_escape_stops_an_export_and_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("materia_tui.output.export_rows.BLOCK_ROWS", 20)
    hold_after(5, monkeypatch)
    app = Host(many_candidates(3000))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_export(app, pilot)
        path_field(screen).value = str(tmp_path / "all.json")
        await pilot.click("#format-json")
        path_field(screen).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.written == 80, what="an export part written")
        assert (tmp_path / ".all.json.part").exists()
        await pilot.press("escape")
        await wait_for(pilot, lambda: bool(app.results), what="dismissed")
        await wait_for(pilot, lambda: not list(tmp_path.iterdir()), what="the partial file removed")
    assert app.results == [None]
