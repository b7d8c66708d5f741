"""The parity view and the export screen, reached from the monitor's own keys."""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import Input

from materia_tui.ui.app import MonitorApp
from materia_tui.ui.screens.export_screen import ExportScreen
from materia_tui.ui.widgets.parity_plot import ParityPlot
from tests.support.fake_source import T0, FakeSource, campaign_items
from tests.support.waiting import wait_for


async def test_v_swaps_the_pareto_plot_for_the_parity_plot_side_by_side() -> None:
    source = FakeSource(campaign_items(3))
    app = MonitorApp(source, "camp-123", now=lambda: T0 + 200)
    async with app.run_test(size=(160, 48)) as pilot:
        source.release_all()
        await wait_for(pilot, lambda: app.view.state.evaluations == 15, what="three iterations")
        parity = app.query_one(ParityPlot)
        assert app.view.pareto.display and not parity.display
        await pilot.press("v")
        await wait_for(pilot, lambda: parity.display and not app.view.pareto.display, what="parity shown")
        await wait_for(pilot, lambda: "RMSE" in parity.caption, what="parity caption")
        first = parity.objective
        await pilot.press("p")
        await wait_for(pilot, lambda: parity.objective != first, what="next objective")
        await pilot.press("v")
        await wait_for(pilot, lambda: app.view.pareto.display and not parity.display, what="Pareto back")


async def test_compact_layout_has_a_parity_section() -> None:
    source = FakeSource(campaign_items(2))
    app = MonitorApp(source, "camp-123", now=lambda: T0 + 200)
    async with app.run_test(size=(80, 24)) as pilot:
        source.release_all()
        await pilot.press("5")
        await wait_for(pilot, lambda: app.view.section == "parity", what="parity section")
        assert app.query_one(ParityPlot).display and not app.view.pareto.display


async def test_e_exports_the_front_from_the_monitor(tmp_path: Path) -> None:
    source = FakeSource(campaign_items(3))
    app = MonitorApp(source, "camp-123", now=lambda: T0 + 200)
    target = tmp_path / "front.json"
    async with app.run_test(size=(120, 40)) as pilot:
        source.release_all()
        await wait_for(pilot, lambda: app.view.state.evaluations == 15, what="three iterations")
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), what="export screen")
        screen = app.screen
        assert isinstance(screen, ExportScreen)
        await pilot.click("#format-json")
        await pilot.click("#scope-front")
        screen.query_one("#export-path", Input).value = str(target)
        await pilot.click("#export-write")
        await wait_for(pilot, lambda: not isinstance(app.screen, ExportScreen), what="dismissed")
    rows = json.loads(target.read_text())["candidates"]
    assert sorted(r["id"] for r in rows) == sorted(app.view.state.front_ids())
