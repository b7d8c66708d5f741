"""``e`` while a ``/`` filter is on: the export screen offers (and picks) the candidates the
filter matches, and writes exactly the rows ``export --where`` writes for that expression."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from textual.widgets import Input, RadioSet

from materia_tui.output.export import write_csv
from materia_tui.ui.screens.export_screen import ExportScreen, default_path
from tests.functional.test_ui_filter import drawn_monitor
from tests.support.waiting import wait_for

EXPRESSION = "polymer=PA and water_flux>40"


def csv_ids(text: str) -> list[str]:
    return [row["id"] for row in csv.DictReader(io.StringIO(text))]


async def test_the_filtered_rows_are_offered_chosen_and_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with drawn_monitor() as (app, pilot):
        await pilot.press("slash", *EXPRESSION, "enter")
        await wait_for(pilot, lambda: app.view.active_filter.active, what="filter applied")
        shown = [app.view.table.record_at(i) for i in range(app.view.table.row_count)]
        shown_ids = [r.id for r in shown if r is not None]
        assert 0 < len(shown_ids) < len(app.view.state.candidate_list)

        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), what="export screen")
        screen = app.screen
        assert isinstance(screen, ExportScreen)
        assert screen.scope == "filtered"  # the default while a filter is on
        label = str(screen.query_one("#scope-filtered").label)
        assert label == f"Matching the filter ({len(shown_ids)})"
        assert screen.query_one("#export-path", Input).value == "./camp-123-filtered.csv"
        await pilot.click("#export-write")
        await wait_for(pilot, lambda: not isinstance(app.screen, ExportScreen), what="written")

        written = (tmp_path / "camp-123-filtered.csv").read_text()
        assert csv_ids(written) == shown_ids
        expected = io.StringIO()
        write_csv(app.view.state, expected, where=EXPRESSION)  # the CLI's ``export --where``
        assert written == expected.getvalue()


async def test_without_a_filter_the_scopes_are_all_and_front() -> None:
    async with drawn_monitor(3) as (app, pilot):
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), what="export screen")
        screen = app.screen
        assert isinstance(screen, ExportScreen)
        assert not screen.query("#scope-filtered") and screen.scope == "all"
        assert len(screen.query_one("#export-scope", RadioSet).query("RadioButton")) == 2


async def test_all_candidates_stays_a_choice_under_a_filter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with drawn_monitor(3) as (app, pilot):
        await pilot.press("slash", *"water_flux>40", "enter")
        await wait_for(pilot, lambda: app.view.active_filter.active, what="filter applied")
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), what="export screen")
        await pilot.click("#scope-all")
        screen = app.screen
        assert isinstance(screen, ExportScreen)
        await wait_for(pilot, lambda: screen.scope == "all", what="scope chosen")
        assert screen.query_one("#export-path", Input).value == default_path("camp-123", "csv", "all")
        await pilot.click("#export-write")
        await wait_for(pilot, lambda: not isinstance(app.screen, ExportScreen), what="written")
        ids = csv_ids((tmp_path / "camp-123-candidates.csv").read_text())
        assert ids == [c.id for c in app.view.state.candidate_list]
