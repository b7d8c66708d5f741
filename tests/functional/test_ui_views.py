"""Pilots of the analysis views: Parameter importance, Hypervolume (+ the stop advisor's alert),
Slice plots and Parallel coordinates (with brushing), each checked against the headless analysis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widget import Widget

from materia_tui.output.analysis import analyze_state
from materia_tui.protocol import (
    Candidate,
    CandidatesEvaluated,
    CandidatesProposed,
    EvaluationResult,
    IterationCompleted,
    IterationStarted,
)
from materia_tui.source import EventReceived, MetadataReceived, SourceItem
from materia_tui.ui.app import MonitorApp
from materia_tui.ui.widgets.hypervolume_view import HypervolumeView
from materia_tui.ui.widgets.importance_view import ImportanceView
from materia_tui.ui.widgets.parallel_view import ParallelView
from materia_tui.ui.widgets.slice_view import SliceView
from tests.support.fake_source import T0, FakeSource, campaign_items, campaign_metadata, iso
from tests.support.waiting import wait_for


@asynccontextmanager
async def monitor(
    items: list[SourceItem], size: tuple[int, int] = (160, 48)
) -> AsyncIterator[tuple[MonitorApp, Pilot[int]]]:
    source = FakeSource(items)
    app = MonitorApp(source, "camp-123", now=lambda: T0 + 1000)
    async with app.run_test(size=size) as pilot:
        source.release_all()
        await wait_for(pilot, lambda: source.drained and app.view.up_to_date, what="stream drawn", timeout=20)
        yield app, pilot


async def shown(pilot: Pilot[int], app: MonitorApp, key: str, widget: type[Widget]) -> Any:
    await pilot.press(key)
    view: Any = app.view.query_one(widget)
    await wait_for(pilot, lambda: view.display and view.up_to_date and view.result is not None, timeout=20)
    return view


async def test_importance_ranks_the_pore_size_first_with_its_measurement_count() -> None:
    async with monitor(campaign_items(12, complete=True)) as (app, pilot):
        view = await shown(pilot, app, "i", ImportanceView)
        expected = analyze_state(app.view.state).importance
        assert {k: v.ranking() for k, v in view.result.items()} == {
            k: v.ranking() for k, v in expected.items()
        }
        text = view.shown_text
        assert text.index("water_flux") < text.index("pore_size_nm") < text.index("polymer")
        assert "water_flux  57 measurements, R² 0.9" in text  # 60 evaluated, 3 failed
        assert view.result["water_flux"].ranking()[0][0] == "pore_size_nm"
        width = view.query_one("#importance-body").content_region.width
        assert max(len(line) for line in text.splitlines()) <= width


async def test_hypervolume_matches_analyze_and_names_its_reference_point() -> None:
    async with monitor(campaign_items(12, complete=True)) as (app, pilot):
        view = await shown(pilot, app, "h", HypervolumeView)
        analysis = analyze_state(app.view.state, importance=False)
        assert analysis.trace is not None and view.result.trace is not None
        assert view.result.trace.values() == analysis.trace.values()
        assert view.result.reference == analysis.reference_point
        caption = str(view.query_one("#hypervolume-caption").render())
        assert "ref: water_flux" in caption
        assert analysis.advice is not None and view.advice_line == analysis.advice.line


def stalled_campaign(iterations: int = 10) -> list[SourceItem]:
    """Two iterations build a front; every later one measures only dominated points."""
    items: list[SourceItem] = [MetadataReceived(campaign_metadata())]
    seq = 0
    for number in range(1, iterations + 1):
        at = T0 + number * 30
        batch = [
            Candidate(id=f"s-{number}-{k}", parameters={"pore_size_nm": 0.5 + 0.1 * k, "polymer": "PA"})
            for k in range(3)
        ]
        good = number <= 2
        results = [
            EvaluationResult(
                candidate_id=c.id,
                objectives={
                    "water_flux": (40.0 + 10 * k + number) if good else 10.0 + k,
                    "salt_rejection": (99.0 - 2 * k) if good else 80.0,
                },
            )
            for k, c in enumerate(batch)
        ]
        for event in (
            IterationStarted(iteration=number, seq=(seq := seq + 1), timestamp=iso(at)),
            CandidatesProposed(
                candidates=batch, iteration=number, seq=(seq := seq + 1), timestamp=iso(at + 1)
            ),
            CandidatesEvaluated(
                results=results, iteration=number, seq=(seq := seq + 1), timestamp=iso(at + 2)
            ),
            IterationCompleted(
                iteration=number, best_value=42.0, pareto_size=3, seq=(seq := seq + 1), timestamp=iso(at + 3)
            ),
        ):
            items.append(EventReceived(event, at))
    return items


async def test_a_stalled_campaign_gets_the_stop_advice_and_its_alert() -> None:
    async with monitor(stalled_campaign()) as (app, pilot):
        view = await shown(pilot, app, "h", HypervolumeView)
        assert view.result.advice is not None and view.result.advice.stop
        assert "no hypervolume gain for 8 iterations" in view.advice_line
        await wait_for(pilot, lambda: any(a.kind == "advice" for a in app.alerts_shown), what="alert")
        alert = next(a for a in app.alerts_shown if a.kind == "advice")
        assert "consider stopping" in alert.title and "no hypervolume gain" in alert.body


async def test_the_stop_alert_comes_with_the_hypervolume_view_never_opened() -> None:
    async with monitor(stalled_campaign()) as (app, pilot):
        await wait_for(pilot, lambda: any(a.kind == "advice" for a in app.alerts_shown), what="alert")
        view = app.view.query_one(HypervolumeView)
        assert not view.display and view.computations == 0  # the view never computed anything
        alert = next(a for a in app.alerts_shown if a.kind == "advice")
        assert "consider stopping" in alert.title and "no hypervolume gain" in alert.body
        advisor = app.view.stop_advisor
        await wait_for(pilot, lambda: advisor.up_to_date, what="advisor caught up")
        analysis = analyze_state(app.view.state, importance=False)
        assert advisor.trace is not None and analysis.trace is not None
        assert advisor.trace.values() == analysis.trace.values()
        # Throttled by iteration: at most one computation per (completed, current) iteration step.
        assert 1 <= advisor.computations <= 2 * app.view.state.completed_iterations


async def test_a_campaign_folded_before_the_monitor_starts_gets_its_stop_alert() -> None:
    from materia_tui.state import CampaignState
    from materia_tui.state.intake import apply_item

    state = CampaignState("camp-123")
    for item in stalled_campaign():
        apply_item(state, item)  # as a head start folds before the view mounts
    source = FakeSource([])
    app = MonitorApp(source, "camp-123", state=state, now=lambda: T0 + 1000)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: any(a.kind == "advice" for a in app.alerts_shown), what="alert")
        assert app.view.stop_advisor.computations == 1


async def test_a_campaign_that_still_gains_raises_no_stop_alert() -> None:
    async with monitor(campaign_items(12, complete=True)) as (app, pilot):
        advisor = app.view.stop_advisor
        await wait_for(pilot, lambda: advisor.up_to_date and advisor.advice is not None, what="advice")
        assert advisor.advice is not None and not advisor.advice.stop
        assert not any(a.kind == "advice" for a in app.alerts_shown)


async def test_slices_are_small_multiples_from_160x48_and_one_at_a_time_below() -> None:
    async with monitor(campaign_items(10, complete=True), size=(160, 48)) as (app, pilot):
        view = await shown(pilot, app, "8", SliceView)
        tiles = view.result.tiles
        assert len(tiles) >= 2
        assert [t.parameter for t in tiles[:2]] == ["pore_size_nm", "polymer"]
        assert {t.objective for t in tiles[:2]} == {"water_flux"}
        shown_canvases = [c for c in view.canvases if c.display]
        assert len(shown_canvases) == len(tiles) == view.grid[0] * view.grid[1]
        await pilot.press("j")
        await wait_for(pilot, lambda: view.up_to_date and view.result.parameter == "polymer")
    async with monitor(campaign_items(10, complete=True), size=(159, 48)) as (app, pilot):
        view = await shown(pilot, app, "8", SliceView)
        assert len(view.result.tiles) == 1 and view.grid == (1, 1)


async def test_a_thinned_slice_counts_every_point_and_says_how_many_are_drawn(monkeypatch: Any) -> None:
    import materia_tui.ui.widgets.slice_view as slice_view

    monkeypatch.setattr(slice_view, "MAX_POINTS", 6)
    async with monitor(campaign_items(10, complete=True), size=(80, 24)) as (app, pilot):
        view = await shown(pilot, app, "8", SliceView)
        first = view.result.tiles[0]
        feasible = sum(1 for c in app.view.state.candidate_list if c.status == "evaluated")
        drawn = len(first.measured[0]) + len(first.front[0])
        assert first.measured_count == feasible > drawn
        caption = str(view.query_one("#slice-caption").render())
        assert f"· {feasible} ({drawn} drawn) measured · {first.waiting_count} predicted" in caption


async def test_parallel_coordinates_count_every_line_and_say_how_many_are_drawn(monkeypatch: Any) -> None:
    import materia_tui.ui.widgets.parallel_view as parallel_view

    monkeypatch.setattr(parallel_view, "MAX_LINES", 5)
    async with monitor(campaign_items(10, complete=True), size=(120, 40)) as (app, pilot):
        view = await shown(pilot, app, "9", ParallelView)
        drawn = len(view.result.lines) + len(view.result.front)
        assert view.result.candidates > drawn
        caption = str(view.query_one("#parallel-caption").render())
        assert caption.startswith(f"{view.result.candidates} ({drawn} drawn) measured · ")


async def test_slices_cycle_parameters_and_follow_the_filter() -> None:
    async with monitor(campaign_items(10, complete=True), size=(80, 24)) as (app, pilot):
        view = await shown(pilot, app, "8", SliceView)
        assert (view.result.parameter, view.result.objective) == ("pore_size_nm", "water_flux")
        everything = len(view.result.measured[0]) + len(view.result.front[0]) + len(view.result.infeasible[0])
        assert everything == 48  # 50 proposed, 2 failed (iterations 4 and 8)
        await pilot.press("j")
        await wait_for(pilot, lambda: view.up_to_date and view.result.parameter == "polymer")
        assert view.result.categories == ["PA", "PES", "PSf", "PVDF"]
        app.view.apply_filter("polymer=PA")
        await wait_for(pilot, lambda: view.up_to_date, what="filtered slice")
        assert set(view.result.measured[0] + view.result.front[0]) <= {0.0}  # only the PA category
        pa = sum(
            1
            for c in app.view.state.candidate_list
            if c.parameters["polymer"] == "PA" and c.status in ("evaluated", "infeasible")
        )
        shown_now = len(view.result.measured[0]) + len(view.result.front[0]) + len(view.result.infeasible[0])
        assert shown_now == pa < everything


async def test_the_brush_and_the_expression_combine_and_clear_on_their_own() -> None:
    async with monitor(campaign_items(10, complete=True)) as (app, pilot):
        view = await shown(pilot, app, "9", ParallelView)
        assert app.view.apply_filter("polymer=PA") is None
        await pilot.press("b")  # the bottom third of pore size, AND polymer=PA
        await wait_for(pilot, lambda: app.view.active_filter.brush is not None, what="brush applied")
        low, high = view.result.axes[0].low, view.result.axes[0].high
        cut = low + (high - low) / 3
        candidates = app.view.state.candidate_list

        def pa(c: Any) -> bool:
            return bool(c.parameters["polymer"] == "PA")

        def brushed(c: Any) -> bool:
            return bool(low <= c.parameters["pore_size_nm"] <= cut + 1e-6)

        def table_ids() -> list[str]:
            rows = [app.view.table.record_at(i) for i in range(app.view.table.row_count)]
            return [r.id for r in rows if r is not None]

        both = [c.id for c in candidates if pa(c) and brushed(c)]
        assert both and table_ids() == both
        label = app.view.active_filter.label
        assert label.startswith("polymer=PA + brush pore_size_nm>=")
        assert "polymer=PA + brush" in str(app.view.table.border_title)
        assert app.view.active_filter.text == "polymer=PA"  # `/` reopens with its own text
        assert app.view.apply_filter("") is None  # clearing `/` keeps the brush
        assert table_ids() == [c.id for c in candidates if brushed(c)]
        assert app.view.apply_filter("polymer=PA") is None
        for _ in range(3):  # the brush: middle, top, then off; `/` stays
            await pilot.press("b")
        await wait_for(pilot, lambda: app.view.active_filter.brush is None, what="brush cleared")
        assert table_ids() == [c.id for c in candidates if pa(c)]


async def test_parallel_coordinates_brush_filters_the_table() -> None:
    async with monitor(campaign_items(10, complete=True)) as (app, pilot):
        view = await shown(pilot, app, "9", ParallelView)
        assert [a.name for a in view.result.axes] == [
            "pore_size_nm",
            "polymer",
            "water_flux",
            "salt_rejection",
        ]
        assert len(view.result.front) == app.view.state.pareto_size
        await pilot.press("b")  # the bottom third of the first axis (pore size)
        await wait_for(pilot, lambda: app.view.active_filter.active, what="brush applied")
        low, high = view.result.axes[0].low, view.result.axes[0].high
        cut = low + (high - low) / 3
        expected = [
            c.id for c in app.view.state.candidate_list if low <= c.parameters["pore_size_nm"] <= cut + 1e-6
        ]
        rows = [app.view.table.record_at(i) for i in range(app.view.table.row_count)]
        assert [r.id for r in rows if r is not None] == expected
        assert app.view.active_filter.text == ""  # the brush is not the `/` expression
        assert "brush pore_size_nm>=" in app.view.active_filter.label
        for _ in range(3):  # middle, top, then off
            await pilot.press("b")
        await wait_for(pilot, lambda: not app.view.active_filter.active, what="brush cleared")
        assert app.view.table.row_count == len(app.view.state.candidate_list)


async def test_past_its_row_budget_the_advisor_reads_the_recent_window_and_still_alerts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As if the campaign were past 50,000 candidates.
    monkeypatch.setattr("materia_tui.ui.widgets.stop_advisor.WHOLE_CAMPAIGN_ROWS", 10)
    async with monitor(stalled_campaign(20)) as (app, pilot):
        advisor = app.view.stop_advisor
        await wait_for(pilot, lambda: any(a.kind == "advice" for a in app.alerts_shown), what="alert")
        await wait_for(pilot, lambda: advisor.up_to_date, what="advisor caught up")
        state = app.view.state
        chosen = advisor.rows_to_read()
        assert chosen is not None
        rows = state.candidate_list
        recent = [c.row for c in rows if (c.iteration or 0) > state.current_iteration - 12]
        assert chosen.start == recent[0] and recent == list(range(chosen.start, len(rows)))
        assert list(chosen.before) == [c.row for c in rows[: chosen.start] if c.on_front]
        assert chosen.before  # the first two iterations' front
        earlier = sorted({rows[row].iteration or 0 for row in chosen.before})
        assert advisor.trace is not None
        assert [p.iteration for p in advisor.trace.points] == [*earlier, *range(9, 21)]
        assert advisor.advice is not None and advisor.advice.stop


async def test_the_advisor_lets_go_of_its_column_copies_without_a_garbage_collection() -> None:
    # A worker lives on in reference cycles until a full collection, which the app runs
    # rarely: a copy its callable captured stayed alive with it (~3 MB each at 100k).
    import gc

    from materia_tui.state.columns import ColumnSnapshot

    gc.collect()
    gc.disable()
    try:
        async with monitor(stalled_campaign(12)) as (app, pilot):
            advisor = app.view.stop_advisor
            await wait_for(pilot, lambda: advisor.up_to_date and advisor.computations >= 1, what="advice")
            alive = [o for o in gc.get_objects() if isinstance(o, ColumnSnapshot)]
            assert alive == []
            assert advisor.trace is not None and advisor.advice is not None and advisor.advice.stop
    finally:
        gc.enable()
