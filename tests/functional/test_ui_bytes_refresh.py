"""What the monitor asks Textual to repaint while a campaign streams (pilot tests).

Terminal bytes follow repaints: these tests count refresh passes, repainted
table lines and repainted text cells, never wall-clock durations. The one
time-derived bound (bulky panels at most once per ``BULK_REFRESH_INTERVAL``)
is computed from the elapsed time the test measured, so a slow machine only
loosens it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from textual.pilot import Pilot

from materia_tui.ui.app import MonitorApp
from materia_tui.ui.repaint import BULK_REFRESH_INTERVAL, PLOT_REFRESH_INTERVAL, RefreshRates
from materia_tui.ui.widgets.candidate_table import CandidateTable
from materia_tui.ui.widgets.event_log import EventLog
from materia_tui.ui.widgets.progress_panel import ProgressPanel
from materia_tui.ui.widgets.status_bar import StatusBar
from tests.support.fake_source import T0, CampaignScript, FakeSource, campaign_items
from tests.support.waiting import wait_for

NOW = T0 + 200


@asynccontextmanager
async def running(
    source: FakeSource, refresh: float | None = None
) -> AsyncIterator[tuple[MonitorApp, Pilot[int]]]:
    app = MonitorApp(source, "camp-123", now=lambda: NOW, refresh=refresh)
    async with app.run_test(size=(120, 40)) as pilot:
        yield app, pilot


def drawn(app: MonitorApp, source: FakeSource) -> bool:
    return source.drained and app.view.up_to_date


@pytest.mark.parametrize("refresh", [None, 2.5])
async def test_table_log_and_plot_follow_a_stream_at_a_bounded_rate(refresh: float | None) -> None:
    source = FakeSource(campaign_items(30))
    async with running(source, refresh) as (app, pilot):
        view = app.view
        rates = view.rates
        assert rates == (RefreshRates() if refresh is None else RefreshRates(0.125, 2.5, 5.0))

        def refreshed_since(count: int) -> Callable[[], bool]:
            return lambda: view.scheduler.passes["small"] > count

        source.release(12)
        await wait_for(pilot, lambda: drawn(app, source), what="first items drawn")
        refreshes, bulk = view.scheduler.passes["small"], view.scheduler.passes["bulk"]
        plots = view.scheduler.passes["plot"]
        started = time.monotonic()
        released = 0
        while released < 60:  # one item per refresh pass: the small panels follow every one
            released += source.release(1)
            await wait_for(pilot, refreshed_since(view.scheduler.passes["small"]), what=f"refresh after item {released}")
        elapsed = time.monotonic() - started
        passes = view.scheduler.passes["small"] - refreshes
        table_syncs = view.scheduler.passes["bulk"] - bulk
        assert passes >= released
        # Once per item would be 60; the bound grows with the time the machine took.
        assert BULK_REFRESH_INTERVAL >= 0.5 and PLOT_REFRESH_INTERVAL >= BULK_REFRESH_INTERVAL  # htop-like
        assert 1 <= table_syncs <= elapsed / rates.bulk + 2, (table_syncs, passes, elapsed)
        assert view.scheduler.passes["plot"] - plots <= elapsed / rates.plot + 2
        # Small panels: at most one pass per ``rates.small`` (the leading edge aside).
        assert passes <= elapsed / rates.small + 2, (passes, elapsed)
        # The trailing edge: the last item of the burst is drawn without another event.
        await wait_for(pilot, lambda: drawn(app, source), what="the burst drawn")
        assert app.query_one(EventLog).line_count == app.view.state.counters.applied + app.view.state.counters.rejected


async def test_an_evaluation_repaints_its_rows_and_a_new_count_its_cells_only() -> None:
    script = CampaignScript()
    first = script.iteration(1)  # its evaluations bring the measured columns: a new layout
    source = FakeSource([*first, *script.iteration(2)])
    async with running(source) as (app, pilot):
        table = app.query_one(CandidateTable)
        source.release(len(first) + 3)  # then iteration_started, surrogate_trained, candidates_proposed
        await wait_for(pilot, lambda: drawn(app, source) and table.row_count == 10, what="10 rows drawn")
        lines_before = table.repainted_lines
        status = app.query_one(StatusBar)
        status_cells, status_text = status.repainted_cells, status.shown_plain
        source.release(1)  # candidates_evaluated: the same 5 rows change in place
        await wait_for(
            pilot,
            lambda: drawn(app, source) and all(r.status != "proposed" for r in table.visible_records()),
            what="evaluations drawn",
        )
        assert table.scroll_y == 0
        # Five changed lines, not the table's whole height (~25 lines, ~4 KB to the terminal).
        assert table.repainted_lines - lines_before == 5
        # "events N  last HH:MM:SS": the run from the counter to the clock, not the line's 120.
        assert status.shown_plain != status_text
        assert 0 < status.repainted_cells - status_cells <= len("events 99  last 00:00:00")


async def test_progress_panel_repaints_changed_runs_of_cells() -> None:
    source = FakeSource(campaign_items(3))
    async with running(source) as (app, pilot):
        source.release(4)
        await wait_for(pilot, lambda: drawn(app, source), what="first items drawn")
        panel = app.query_one(ProgressPanel)
        cells = panel.repainted_cells
        area = panel.size.area
        changes = 0
        for _ in range(10):
            shown = panel.shown_plain
            source.release(1)
            await wait_for(pilot, lambda: drawn(app, source), what="next item drawn")
            changes += panel.shown_plain != shown
        assert changes > 0
        # Whole-panel updates would be changes * area (~8 x 300 cells).
        assert panel.repainted_cells - cells < changes * area / 3, (
            panel.repainted_cells - cells,
            changes,
            area,
        )


async def test_an_idle_running_campaign_repaints_nothing_but_the_quiet_marker() -> None:
    items = campaign_items(4, partial_last=True)  # running: iteration 4 is still being evaluated
    clock = [T0]
    app = MonitorApp(FakeSource(items), "camp-123", now=lambda: clock[0])
    async with app.run_test(size=(120, 40)) as pilot:
        source = app.view.source
        assert isinstance(source, FakeSource)
        source.release_all()
        await wait_for(pilot, lambda: drawn(app, source), what="the stream drawn")
        last = app.view.state.last_event_at
        assert last is not None and not app.view.state.is_finished
        status, progress = app.query_one(StatusBar), app.query_one(ProgressPanel)

        async def idle_until(seconds: int) -> None:
            for second in range(int(clock[0] - last) + 1, seconds + 1):
                clock[0] = last + second
                app.view.scheduler.tick()  # the view's 1 Hz clock, one call per simulated second
            await pilot.pause()

        await idle_until(1)
        shown = (status.shown_plain, progress.shown_plain)
        cells = (status.repainted_cells, progress.repainted_cells)
        assert "elapsed" in shown[1] and "ETA" in shown[1]

        await idle_until(59)  # elapsed and ETA are as of the last event: nothing moves
        assert (status.shown_plain, progress.shown_plain) == shown
        assert (status.repainted_cells, progress.repainted_cells) == cells

        await idle_until(60)  # silence for a minute is worth saying, once
        assert "quiet 1m+" in status.shown_plain and progress.shown_plain == shown[1]
        marked = status.repainted_cells
        await idle_until(299)
        assert status.repainted_cells == marked and progress.repainted_cells == cells[1]
        await idle_until(300)
        assert "quiet 5m+" in status.shown_plain
