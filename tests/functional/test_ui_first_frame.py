"""What the monitor builds for its first frame, and what waits until after it (start-up, memory).

The plots that share the plot slot (parity, importance, hypervolume, slices,
parallel) and, side by side, the section tabs are mounted once the first frame
is out; a plot that is hidden computes nothing, even over a state that already
holds a campaign when the monitor starts (``watch``'s head start).
"""

from __future__ import annotations

from materia_tui.state import CampaignState
from materia_tui.state.intake import apply_item
from materia_tui.ui.app import MonitorApp
from materia_tui.ui.widgets.parity_plot import ParityPlot
from tests.support.fake_source import T0, FakeSource, campaign_items
from tests.support.waiting import wait_for

LATER = ("#parity", "#importance", "#hypervolume", "#slices", "#parallel", "#tabs")


def held_state(iterations: int) -> CampaignState:
    """A campaign folded before the monitor exists, as ``watch``'s head start does."""
    state = CampaignState("camp-123")
    for item in campaign_items(iterations):
        apply_item(state, item)
    return state


async def test_the_first_frame_leaves_out_the_hidden_plots_and_the_wide_layout_s_tabs() -> None:
    app = MonitorApp(FakeSource([]), "camp-123", state=held_state(3), now=lambda: T0 + 200)
    composed: list[list[str]] = []

    def after_compose() -> None:
        composed.append([s for s in LATER if app.view.query(s)])

    async with app.run_test(size=(160, 48)) as pilot:
        app.call_later(after_compose)  # before any refresh of the screen has run
        await wait_for(pilot, lambda: app.view.up_to_date, what="first paint")
        await wait_for(pilot, lambda: all(app.view.query(s) for s in LATER), what="the rest mounted")
        assert not app.query_one("#tabs").display and app.view.pareto.display
    assert composed and composed[0] == []


async def test_a_hidden_parity_plot_pairs_nothing_until_shown() -> None:
    app = MonitorApp(FakeSource([]), "camp-123", state=held_state(4), now=lambda: T0 + 300)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: bool(app.view.query("#parity")), what="the rest mounted")
        parity = app.query_one(ParityPlot)
        await wait_for(pilot, lambda: app.view.up_to_date, what="drawn")
        await pilot.pause(0.2)
        assert not parity.display and parity.tracker.pairs_counted == 0
        await pilot.press("v")
        await wait_for(pilot, lambda: "RMSE" in parity.caption, what="parity caption")
        assert parity.tracker.pairs_counted > 0


async def test_the_section_tabs_follow_a_section_chosen_in_the_compact_layout() -> None:
    app = MonitorApp(FakeSource([]), "camp-123", state=held_state(2), now=lambda: T0 + 200)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await wait_for(pilot, lambda: app.view.section == "parity", what="parity section")
        tabs = app.query_one("#tabs")
        await wait_for(pilot, lambda: getattr(tabs, "active", None) == "tab-parity", what="tab selected")
        assert app.query_one(ParityPlot).display
