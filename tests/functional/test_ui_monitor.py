"""Pilot tests of the monitor fed by an in-memory source the test paces."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from textual.pilot import Pilot

from materia_tui.errors import AuthError, ExitCode, GaveUpError
from materia_tui.protocol import Candidate, CandidatesProposed
from materia_tui.source import ConnectionChanged, EventReceived
from materia_tui.ui.app import MonitorApp
from materia_tui.ui.screens.help_screen import HelpScreen
from materia_tui.ui.widgets.candidate_table import CandidateTable
from materia_tui.ui.widgets.convergence_panel import ConvergencePanel
from materia_tui.ui.widgets.event_log import EventLog
from materia_tui.ui.widgets.newest_panel import NewestPanel
from materia_tui.ui.widgets.status_bar import StatusBar
from tests.support.fake_source import T0, CampaignScript, FakeSource, campaign_items
from tests.support.waiting import wait_for

NOW = T0 + 200


@asynccontextmanager
async def running(
    source: FakeSource, size: tuple[int, int] = (120, 40), **kwargs: object
) -> AsyncIterator[tuple[MonitorApp, Pilot[int]]]:
    app = MonitorApp(source, "camp-123", now=lambda: NOW, **kwargs)  # type: ignore[arg-type]
    async with app.run_test(size=size) as pilot:
        yield app, pilot


def table_lines(app: MonitorApp) -> list[str]:
    table = app.query_one(CandidateTable)
    height = table.scrollable_content_region.height
    return [table.render_line(y).text for y in range(height)]


def full_row(app: MonitorApp, index: int) -> str:
    """The whole rendered row (the visible lines may be cut by the panel width)."""
    table = app.query_one(CandidateTable)
    record = table.record_at(index)
    assert record is not None
    return table._row_strip(record).text


def status_text(app: MonitorApp) -> str:
    return app.query_one(StatusBar).shown_plain


def caught_up(app: MonitorApp, source: FakeSource) -> Callable[[], bool]:
    """Every released item consumed and drawn by the bounded refresh."""

    def check() -> bool:
        table = app.query_one(CandidateTable)
        return (
            source.drained
            and not app.view.paused
            and app.view.up_to_date
            and table.row_count == len(app.view.state.candidate_list)
            and (app.view.pareto.up_to_date or not app.view.pareto.display)
        )

    return check


async def test_rows_appear_when_proposed_and_update_in_place() -> None:
    script = CampaignScript()
    items = script.iteration(1)
    source = FakeSource(items)
    async with running(source) as (app, pilot):
        source.release(2)  # iteration_started, candidates_proposed
        await wait_for(pilot, lambda: app.query_one(CandidateTable).row_count == 5, what="5 rows")
        lines = table_lines(app)
        assert lines[0].startswith("id")
        assert "c-0001" in lines[1] and "proposed" in full_row(app, 0)
        source.release(1)  # candidates_evaluated
        # The table follows at a bounded rate: wait until it has caught up with the state.
        await wait_for(
            pilot,
            lambda: "evaluated" in full_row(app, 0) and app.view.up_to_date,
            what="row 0 evaluated and drawn",
        )
        assert app.query_one(CandidateTable).row_count == 5
        measured = app.view.state.candidates["c-0001"].objectives["water_flux"]
        assert f"{measured:.4g}" in table_lines(app)[1]
        assert "c-0001" in table_lines(app)[1]


async def test_sparkline_pareto_and_log_follow_the_data() -> None:
    source = FakeSource(campaign_items(4))
    async with running(source) as (app, pilot):
        source.release_all()
        await wait_for(pilot, caught_up(app, source), what="caught up")
        state = app.view.state
        values = [v for _, v in state.best_by_iteration["water_flux"]]
        spark = app.query_one(ConvergencePanel).shown_plain
        assert f"first {values[0]:.4g}" in spark and f"last {values[-1]:.4g}" in spark
        assert len(values) == 4
        plot = app.view.pareto
        assert plot.data.measured == sum(1 for c in state.candidate_list if c.status == "evaluated")
        assert len(plot.data.front[0]) == state.pareto_size > 0
        assert sorted(plot.data.front[0]) == plot.data.front[0]
        assert len(plot.data.latest[0]) > 0
        log = app.query_one(EventLog)
        assert log.line_count == state.counters.applied + state.counters.rejected
        assert any("rejected frame (malformed)" in line for line in log.lines)


async def test_pause_freezes_display_and_resume_catches_up() -> None:
    source = FakeSource(campaign_items(5))
    async with running(source) as (app, pilot):
        source.release(10)
        await wait_for(pilot, caught_up(app, source), what="first items")
        rows_before = app.query_one(CandidateTable).row_count
        await pilot.press("space")
        assert app.view.paused
        released = source.release_all()
        await wait_for(pilot, lambda: source.drained and "PAUSED" in status_text(app), what="paused")
        await wait_for(pilot, lambda: f"PAUSED, {released} new" in status_text(app), what="N new")
        assert app.query_one(CandidateTable).row_count == rows_before  # frozen
        assert len(app.view.state.candidate_list) > rows_before  # still consumed
        await pilot.press("space")
        await wait_for(pilot, caught_up(app, source), what="caught up after resume")
        assert "PAUSED" not in status_text(app)


async def test_sort_filter_follow_and_log_toggle() -> None:
    source = FakeSource(campaign_items(6))
    async with running(source) as (app, pilot):
        source.release_all()
        await wait_for(pilot, caught_up(app, source), what="caught up")
        table = app.query_one(CandidateTable)
        await pilot.press("s")  # sort by id, ascending
        assert table.sort_index == 0
        await pilot.press("r")
        await pilot.pause()
        assert table.visible_records()[0].id == max(app.view.state.candidates)
        assert "↓" in table_lines(app)[0]
        await pilot.press("s", "s", "s", "s", "s")  # id -> it -> status -> P -> water_flux -> salt_rejection
        await pilot.press("s")  # ~water_flux
        assert table.columns[table.sort_index or 0].key == "pred:water_flux"
        shown = [r.predicted["water_flux"] for r in table.visible_records()]
        assert shown == sorted(shown, reverse=True) and len(shown) > 5
        await pilot.press("f")  # Pareto only
        await pilot.pause()
        assert table.filter_mode == "pareto"
        assert table.row_count == app.view.state.pareto_size
        assert all(r.on_front for r in table.visible_records())
        assert "Pareto only" in table.describe().plain
        await pilot.press("f", "f")  # current iteration, then failed + infeasible
        assert str(table.filter_mode) == "problems"  # str(): mypy keeps the narrowing from above
        assert table.row_count > 0
        assert all(r.status in ("failed", "infeasible") for r in table.visible_records())
        await pilot.press("f")
        assert str(table.filter_mode) == "all"
        assert not table.follow  # sorted: the newest row is not at the end
        await pilot.press("t")
        assert table.follow
        await pilot.press("t")
        assert not table.follow
        log = app.query_one(EventLog)
        assert log.display
        await pilot.press("l")
        assert not log.display
        await pilot.press("l")
        assert log.display


async def test_follow_keeps_newest_row_in_view_and_manual_scroll_stops_it() -> None:
    source = FakeSource(campaign_items(8))
    async with running(source, size=(120, 30)) as (app, pilot):
        source.release_all()
        await wait_for(pilot, caught_up(app, source), what="caught up")
        table = app.query_one(CandidateTable)
        newest = app.view.state.candidate_list[-1].id
        assert table.follow
        # Follow scrolls after the layout pass that follows the sync: wait for it.
        await wait_for(pilot, lambda: newest in "".join(table_lines(app)), what="newest row in view")
        table.focus()
        await pilot.press("home")
        await wait_for(pilot, lambda: not table.follow, what="follow off")
        assert "c-0001" in table_lines(app)[1]
        await pilot.press("end")
        await wait_for(pilot, lambda: table.follow, what="follow back on")


async def test_help_screen_opens_and_closes() -> None:
    source = FakeSource(campaign_items(1))
    async with running(source) as (app, pilot):
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help screen")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen), what="help closed")


async def test_resize_switches_between_compact_and_wide_layouts() -> None:
    source = FakeSource(campaign_items(3))
    async with running(source, size=(80, 24)) as (app, pilot):
        source.release_all()
        await wait_for(pilot, caught_up(app, source), what="caught up")
        assert app.view.compact and app.query_one("#tabs").display
        assert not app.query_one(CandidateTable).display
        await pilot.press("2")
        assert app.query_one(CandidateTable).display
        await pilot.resize_terminal(200, 50)
        await wait_for(pilot, lambda: not app.view.compact, what="wide layout")
        assert not app.query_one("#tabs").display
        for widget_id in ("#overview", "#pareto", "#candidates", "#log"):
            assert app.query_one(widget_id).display, widget_id
        assert app.view.pareto.size.width > 40
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: app.view.compact, what="compact again")
        assert app.query_one(CandidateTable).display and not app.view.pareto.display


async def test_network_strings_are_shown_literally() -> None:
    hostile_id = "[bold red]x[/] \x1b[31mred"
    event = CandidatesProposed(
        iteration=1, seq=1, candidates=[Candidate(id=hostile_id, parameters={"[i]p": "[u]v"})]
    )
    source = FakeSource([EventReceived(event, T0)])
    async with running(source, title="[b]t") as (app, pilot):
        source.release_all()
        source.fail(GaveUpError("gave up on [red]host[/red]\x1b]0;pwned\x07"))
        await wait_for(pilot, lambda: app.view.link.error is not None, what="source error")
        await wait_for(pilot, lambda: "gave up" in status_text(app), what="error shown")
        lines = "\n".join(table_lines(app))
        assert "[bold red]x[/] \\x1b[31mred"[:14] in lines  # literal, escape made visible
        assert "\x1b" not in lines
        assert "[u]v" in lines and "[i]p" in lines
        status = status_text(app)
        assert "gave up on [red]host[/red]\\x1b]0;pwned\\x07" in status
        assert "\x1b" not in status and "\x07" not in status
        assert app.is_running  # the final state stays on screen after an error


async def test_error_before_first_event_exits_with_its_code() -> None:
    source = FakeSource([ConnectionChanged("connecting")])
    async with running(source) as (app, pilot):
        source.release_all()
        source.fail(AuthError("The server rejected the token for campaign camp-123 (HTTP 401)."))
        await wait_for(pilot, lambda: not app.is_running, what="app exits")
    assert app.return_value == ExitCode.AUTH
    assert app.error_message == "The server rejected the token for campaign camp-123 (HTTP 401)."


async def test_quit_codes_and_exit_on_complete() -> None:
    source = FakeSource(campaign_items(2, fail="optimizer crashed"))
    async with running(source) as (app, pilot):
        source.release_all()
        await wait_for(pilot, lambda: app.view.state.status == "failed", what="failed")
        await wait_for(pilot, lambda: "FAILED" in status_text(app), what="failed shown")
        await pilot.press("q")
    assert app.return_value == ExitCode.CAMPAIGN_FAILED

    source = FakeSource(campaign_items(2, complete=True))
    async with running(source, exit_on_complete=True) as (app, pilot):
        source.release_all()
        await wait_for(pilot, lambda: not app.is_running, what="exits by itself")
    assert app.return_value == ExitCode.OK
    assert app.view.state.status == "completed"

    source = FakeSource(campaign_items(1))
    async with running(source) as (app, pilot):
        source.release_all()
        await wait_for(pilot, caught_up(app, source), what="caught up")
        await pilot.press("q")
    assert app.return_value == ExitCode.OK and source.closed


async def test_reconnecting_status_counts_down() -> None:
    source = FakeSource([*campaign_items(1), ConnectionChanged("reconnecting", attempt=3, retry_in=7.0)])
    async with running(source) as (app, pilot):
        source.release_all()
        await wait_for(pilot, lambda: "RECONNECTING (ATTEMPT 3, IN 7S)" in status_text(app), what="countdown")


async def test_a_burst_is_drawn_in_a_bounded_number_of_refreshes() -> None:
    script = CampaignScript(batch=5)
    items = [item for n in range(1, 401) for item in script.iteration(n)]  # 2,400 events
    source = FakeSource(items)
    async with running(source) as (app, pilot):
        await wait_for(pilot, lambda: app.view.scheduler.passes["small"] >= 1, what="first refresh")
        before = app.view.scheduler.passes["small"]
        source.release_all()
        await wait_for(pilot, caught_up(app, source), timeout=20, what="burst drawn")
        assert app.view.state.counters.applied == len(items)
        burst_refreshes = app.view.scheduler.passes["small"] - before
        assert 1 <= burst_refreshes < 100, burst_refreshes  # per-item updates would be 2,400
        idle = app.view.scheduler.passes["small"]
        await pilot.pause(0.3)  # nothing arrives: no refresh may happen
        assert app.view.scheduler.passes["small"] == idle


async def test_no_color_keeps_every_mark_visible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    source = FakeSource(campaign_items(6, converge_at=5))
    async with running(source) as (app, pilot):
        source.release_all()
        await wait_for(pilot, caught_up(app, source), what="caught up")
        assert app.no_color  # Textual's monochrome filter is on
        await pilot.press("space")
        assert "PAUSED" in status_text(app)  # marked by text and reverse video, not colour
        assert "CONVERGED" in app.query_one(ConvergencePanel).shown_plain
        assert any("★" in full_row(app, i) for i in range(app.query_one(CandidateTable).row_count))


async def test_narrow_status_bar_stays_one_line_and_drops_the_least_important_items() -> None:
    source = FakeSource(campaign_items(3, name="A rather long campaign name for a narrow terminal"))
    async with running(source, size=(80, 24)) as (app, pilot):
        source.release_all()
        await wait_for(pilot, caught_up(app, source), what="caught up")
        wide = status_text(app)
        assert "\n" not in wide and len(wide) <= 80
        assert "camp-123" in wide and "events" in wide and "LIVE" in wide
        await pilot.resize_terminal(50, 24)
        await wait_for(pilot, lambda: len(status_text(app)) <= 50, what="refit to 50 columns")
        narrow = status_text(app)
        assert "\n" not in narrow and "LIVE" in narrow and "camp-123" in narrow
        assert "A rather long" not in narrow  # the name goes before the id and counters
        screen_line = app.query_one(StatusBar).render_line(0).text
        assert "camp-123" in screen_line  # what is drawn, not just what was computed
        assert app.query_one(StatusBar).size.height == 1


async def test_sparkline_spans_the_panel_and_overview_shows_the_newest_candidates() -> None:
    source = FakeSource(campaign_items(5))
    async with running(source, size=(80, 24)) as (app, pilot):
        source.release_all()
        await wait_for(pilot, caught_up(app, source), what="caught up")
        panel = app.query_one(ConvergencePanel)
        spark = panel.shown_plain.splitlines()[1]
        assert len(spark) == panel.content_size.width > 5 * 4  # 5 iterations, stretched
        newest = app.query_one(NewestPanel)
        assert newest.display and newest.size.height >= 4
        shown = newest.shown_plain
        last = app.view.state.candidate_list[-1]
        assert last.id in shown
        flux = last.objectives.get("water_flux")
        if flux is not None:
            assert f"{flux:.4g} L/m2/h" in shown  # value and unit with one space
        assert "%" in shown and " %" not in shown
        await pilot.resize_terminal(200, 50)
        await wait_for(pilot, lambda: not app.view.compact, what="wide")
        assert not newest.display  # the candidate table shows them in the wide layout
        await wait_for(
            pilot,
            lambda: len(panel.shown_plain.splitlines()[1]) == panel.content_size.width,
            what="sparkline refit",
        )


async def test_the_view_keys_keep_working_after_a_section_hides_the_focused_table() -> None:
    """The view's keys are bound on the view: a section that hides the table must not leave
    the focus outside it (the keys would go dead)."""
    source = FakeSource(campaign_items(2))
    app = MonitorApp(source, "camp-123")
    async with app.run_test(size=(80, 24)) as pilot:
        source.release_all()
        await wait_for(pilot, lambda: app.view.up_to_date, what="drawn")
        for key, section in (("2", "candidates"), ("4", "log"), ("1", "overview"), ("3", "pareto")):
            await pilot.press(key)
            await wait_for(pilot, lambda section=section: app.view.section == section, what=section)
            await pilot.pause()
            assert app.focused is not None and app.view in (app.focused, *app.focused.ancestors)
        await pilot.press("space")
        assert app.view.paused
        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(app.focused, CandidateTable), what="the table focused again")
