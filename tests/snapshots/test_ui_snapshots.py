"""Snapshots of the monitor from a deterministic event stream and a frozen clock."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from materia_tui.source import ConnectionChanged, SourceItem
from materia_tui.ui.app import MonitorApp
from materia_tui.ui.screens.help_screen import HelpScreen
from tests.support.fake_source import ITERATION_SECONDS, T0, FakeSource, campaign_items
from tests.support.waiting import wait_for

SIZES = [(80, 24), (120, 40)]


def mid_campaign() -> list[SourceItem]:
    return campaign_items(7, partial_last=True)


def completed() -> list[SourceItem]:
    return campaign_items(12, complete=True, converge_at=10)


def failed() -> list[SourceItem]:
    return campaign_items(5, fail="optimizer crashed: surrogate fit diverged (NaN loss)")


def reconnecting() -> list[SourceItem]:
    return [
        *campaign_items(4),
        ConnectionChanged("reconnecting", attempt=2, retry_in=8.0, detail="connection lost (1006)"),
    ]


SCENARIOS: dict[str, tuple[Callable[[], list[SourceItem]], float]] = {
    "mid_campaign": (mid_campaign, T0 + 6 * ITERATION_SECONDS + 20),
    "completed": (completed, T0 + 12 * ITERATION_SECONDS + 5),
    "failed": (failed, T0 + 5 * ITERATION_SECONDS + 5),
    "reconnecting": (reconnecting, T0 + 4 * ITERATION_SECONDS + 3),
}


def make_app(scenario: str) -> tuple[MonitorApp, FakeSource]:
    build, now = SCENARIOS[scenario]
    source = FakeSource(build())
    return MonitorApp(source, "camp-123", now=lambda: now), source


def settle(app: MonitorApp, source: FakeSource, help_screen: bool = False) -> Callable[[Pilot[int]], object]:
    async def run_before(pilot: Pilot[int]) -> None:
        source.release_all()

        def drawn() -> bool:
            plot_drawn = app.view.pareto.up_to_date or not app.view.pareto.display
            return source.drained and app.view.up_to_date and plot_drawn

        await wait_for(pilot, drawn, what="stream drawn")
        if help_screen:
            await pilot.press("question_mark")
            await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_monitor(snap_compare: Callable[..., bool], scenario: str, size: tuple[int, int]) -> None:
    app, source = make_app(scenario)
    assert snap_compare(app, terminal_size=size, run_before=settle(app, source))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help_screen(snap_compare: Callable[..., bool], size: tuple[int, int]) -> None:
    app, source = make_app("mid_campaign")
    assert snap_compare(app, terminal_size=size, run_before=settle(app, source, help_screen=True))
