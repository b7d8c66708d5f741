"""``/``: a filter expression typed in the monitor filters the table and the Pareto plot;
a bad one is explained inline (caret + sentence) and never applied."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from textual.pilot import Pilot

from materia_tui.ui.app import MonitorApp
from materia_tui.ui.widgets.filter_bar import FilterBar
from tests.support.fake_source import T0, FakeSource, campaign_items
from tests.support.waiting import wait_for


@asynccontextmanager
async def drawn_monitor(
    iterations: int = 8, size: tuple[int, int] = (120, 40)
) -> AsyncIterator[tuple[MonitorApp, Pilot[int]]]:
    """The monitor with ``iterations`` iterations streamed and drawn."""
    source = FakeSource(campaign_items(iterations))
    app = MonitorApp(source, "camp-123", now=lambda: T0 + 400)
    async with app.run_test(size=size) as pilot:
        source.release_all()
        await wait_for(pilot, lambda: source.drained and app.view.up_to_date, what="stream drawn")
        yield app, pilot


async def test_a_good_expression_filters_the_table_and_the_plot() -> None:
    async with drawn_monitor() as (app, pilot):
        total = app.view.table.row_count
        assert total == 40
        await pilot.press("slash")
        bar = app.query_one(FilterBar)
        assert bar.has_class("-open") and bar.input.has_focus
        await pilot.press(*"polymer=PA and water_flux>40")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not bar.has_class("-open"), what="bar closed")
        expected = [
            c.id
            for c in app.view.state.candidate_list
            if c.parameters["polymer"] == "PA"
            and c.status in ("evaluated", "infeasible")
            and c.objectives.get("water_flux", 0.0) > 40
        ]
        assert 0 < len(expected) < total
        shown = [app.view.table.record_at(i) for i in range(app.view.table.row_count)]
        assert [r.id for r in shown if r is not None] == expected
        assert "/polymer=PA and water_flux>40" in str(app.view.table.border_title)
        await wait_for(pilot, lambda: app.view.pareto.up_to_date, what="plot redrawn")
        plotted = app.view.pareto.data.measured
        evaluated_matching = sum(
            1 for c in app.view.state.candidate_list if c.id in expected and c.status == "evaluated"
        )
        assert plotted == evaluated_matching
        # an empty expression clears the filter
        await pilot.press("slash")
        await pilot.press("ctrl+u")  # Input: delete to the start of the line
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.view.table.row_count == total, what="filter cleared")
        assert not app.view.active_filter.active


async def test_a_bad_expression_is_explained_inline_and_not_applied() -> None:
    async with drawn_monitor(4, (80, 24)) as (app, pilot):
        total = app.view.table.row_count
        await pilot.press("slash")
        await pilot.press(*"water_flux>>3")
        bar = app.query_one(FilterBar)
        await wait_for(pilot, lambda: bar.has_class("-bad"), what="problem shown")
        assert bar.problem is not None
        caret = bar.problem.index("^")
        assert caret == len("water_flux>")  # under the second '>'
        await pilot.press("enter")
        await pilot.pause()
        assert bar.has_class("-open") and bar.has_class("-bad")  # still open, nothing applied
        assert not app.view.active_filter.active and app.view.table.row_count == total
        await pilot.press("escape")
        await wait_for(pilot, lambda: not bar.has_class("-open"), what="closed")
        # the table is hidden at 80x24 (overview section): the keys go to the view itself
        await wait_for(pilot, lambda: app.focused is app.view, what="focus back on the view")


async def test_the_parity_plot_follows_the_expression() -> None:
    from materia_tui.state.calibration import calibration_stats, parity_pairs

    async with drawn_monitor() as (app, pilot):
        await pilot.press("v")  # the parity plot in the plot slot
        parity = app.view.parity
        await wait_for(pilot, lambda: parity.up_to_date and parity.stats is not None, what="parity drawn")
        name = parity.objective
        assert name is not None and parity.stats is not None
        everything = parity_pairs(app.view.state, name)
        assert parity.stats.count == len(everything) and parity.shown.sampled == len(everything)
        app.view.apply_filter("polymer=PA")
        await wait_for(
            pilot,
            lambda: parity.shown.sampled < len(everything) and parity.up_to_date,
            what="filtered parity",
        )
        rows = app.view.state.candidate_list
        matching = [p for p in everything if rows[p.row].parameters["polymer"] == "PA"]
        assert 0 < len(matching) < len(everything)
        assert parity.shown.sampled == len(matching)
        want = calibration_stats(name, matching)  # one pair at a time: the figures up to rounding
        assert parity.stats.count == want.count and parity.stats.with_uncertainty == want.with_uncertainty
        assert parity.stats.rmse == pytest.approx(want.rmse, rel=1e-9)
        assert parity.stats.calibration_error == pytest.approx(want.calibration_error, abs=1e-12)
        app.view.apply_filter("")
        await wait_for(pilot, lambda: parity.shown.sampled == len(everything), what="filter cleared")
