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


VIEW_SIZES = [(80, 24), (160, 48)]
VIEWS = {"importance": "6", "hypervolume": "7", "slices": "8", "parallel": "9"}


def settle_view(app: MonitorApp, source: FakeSource, key: str, name: str) -> Callable[[Pilot[int]], object]:
    async def run_before(pilot: Pilot[int]) -> None:
        await settle(app, source)(pilot)  # type: ignore[misc]
        await pilot.press(key)
        view = app.view.query_one(f"#{name}")
        await wait_for(
            pilot,
            lambda: bool(view.display) and getattr(view, "up_to_date", False) and view.result is not None,  # type: ignore[attr-defined]
            timeout=30,
            what=name,
        )
        await pilot.pause()  # the canvas repaints on the next frame
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", VIEW_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", list(VIEWS))
def test_analysis_view(snap_compare: Callable[..., bool], name: str, size: tuple[int, int]) -> None:
    app, source = make_app("mid_campaign")
    assert snap_compare(app, terminal_size=size, run_before=settle_view(app, source, VIEWS[name], name))


@pytest.mark.parametrize("size", VIEW_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_filter_bar_explains_a_bad_expression(
    snap_compare: Callable[..., bool], size: tuple[int, int]
) -> None:
    app, source = make_app("mid_campaign")

    async def run_before(pilot: Pilot[int]) -> None:
        await settle(app, source)(pilot)  # type: ignore[misc]
        await pilot.press("slash", *"water_flux>>3")
        await wait_for(pilot, lambda: app.view.filter_bar.has_class("-bad"), what="problem shown")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", VIEW_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_compare(snap_compare: Callable[..., bool], size: tuple[int, int]) -> None:
    from materia_tui.ui.multi_app import MultiMonitorApp
    from materia_tui.ui.widgets.compare_view import CompareView

    a = FakeSource(campaign_items(8, campaign_id="camp-a", seed=1))
    b = FakeSource(campaign_items(5, campaign_id="camp-b", seed=2))
    app = MultiMonitorApp([("camp-a", a), ("camp-b", b)], compare=True, now=lambda: T0 + 500)

    async def run_before(pilot: Pilot[int]) -> None:
        a.release_all()
        b.release_all()
        view = app.query_one(CompareView)

        def compared() -> bool:
            result = view.result
            return (
                view.up_to_date
                and result is not None
                and [len(c.iterations) for c in result.curves] == [8, 5]
            )

        await wait_for(pilot, compared, timeout=30, what="comparison")

    assert snap_compare(app, terminal_size=size, run_before=run_before)
