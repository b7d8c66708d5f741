"""The monitor's first frame and its source (start-up): the source learns when that frame
is out (``FirstPageSource`` starts the live connection then), and over a head start's
data the Pareto plot waits for that frame even when the source's first item asks for a
repaint pass before it."""

from __future__ import annotations

from typing import Any

from materia_tui.source import ConnectionChanged
from materia_tui.ui.app import MonitorApp
from materia_tui.ui.campaign_view import CampaignView
from materia_tui.ui.widgets.pareto_plot import ParetoPlot
from tests.functional.test_ui_first_frame import held_state
from tests.support.fake_source import T0, FakeSource
from tests.support.waiting import wait_for


class FrameWatchingSource(FakeSource):
    """A fake source with ``AwaitsFirstFrame``: notes what the table held when told."""

    def __init__(self, app_rows: Any) -> None:
        super().__init__([ConnectionChanged("live")])  # handed over at mount: asks for a pass
        self.rows_when_told: list[int] = []
        self._rows = app_rows

    def first_frame_shown(self) -> None:
        self.rows_when_told.append(self._rows())


async def test_the_source_is_told_once_when_the_first_frame_with_the_data_is_out() -> None:
    app: MonitorApp | None = None
    source = FrameWatchingSource(lambda: app.view.table.row_count if app is not None else -1)
    source.release_all()
    app = MonitorApp(source, "camp-123", state=held_state(3), now=lambda: T0 + 200)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: bool(source.rows_when_told), what="told")
        await pilot.pause(0.1)
    assert len(source.rows_when_told) == 1 and source.rows_when_told[0] > 0


async def test_over_held_data_the_pareto_plot_waits_for_the_first_frame(monkeypatch: Any) -> None:
    painted_before_the_rest: list[bool] = []
    paint = ParetoPlot.apply_changes

    def noted(self: ParetoPlot, *args: Any) -> None:
        painted_before_the_rest.append(not self.app.query("#parity"))  # mounted after the first frame
        paint(self, *args)

    monkeypatch.setattr(ParetoPlot, "apply_changes", noted)
    source = FakeSource([ConnectionChanged("live")])
    source.release_all()  # the consumer takes it at mount: a pass is due before the first frame
    app = MonitorApp(source, "camp-123", state=held_state(3), now=lambda: T0 + 200)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.view.up_to_date and bool(painted_before_the_rest), what="drawn")
    assert painted_before_the_rest[0] is False


async def test_the_table_has_the_focus_from_the_start_and_the_view_never_had_it(monkeypatch: Any) -> None:
    """Focusing the view first (the default: the first focusable widget) and then the
    table restyled the whole view twice before the first frame."""
    focus_changes: list[bool] = []
    restyle = CampaignView.watch_has_focus

    def noted(self: CampaignView, has_focus: bool) -> None:
        focus_changes.append(has_focus)
        restyle(self, has_focus)

    monkeypatch.setattr(CampaignView, "watch_has_focus", noted)
    app = MonitorApp(FakeSource([]), "camp-123", state=held_state(2), now=lambda: T0 + 200)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.view.up_to_date, what="first paint")
        assert app.focused is app.view.table
    assert focus_changes == []
