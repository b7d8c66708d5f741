"""Issue 19.4: the convergence sparkline plots what its label names."""

from __future__ import annotations

from collections.abc import Sequence

from materia_tui.protocol import IterationCompleted
from materia_tui.source import ConnectionChanged, EventReceived, SourceItem
from materia_tui.ui import format as fmt
from materia_tui.ui.app import MonitorApp
from materia_tui.ui.widgets.convergence_panel import ConvergencePanel
from tests.support.fake_source import T0, CampaignScript, FakeSource, campaign_items
from tests.support.waiting import wait_for


def with_backend_best(items: Sequence[SourceItem], value: float) -> list[SourceItem]:
    """The stream with every ``best_value`` replaced, as a backend reporting a hypervolume would."""
    return [
        EventReceived(item.event.model_copy(update={"best_value": value}), item.received_at)
        if isinstance(item, EventReceived) and isinstance(item.event, IterationCompleted)
        else item
        for item in items
    ]


async def panel_text(items: list[SourceItem], iterations: int) -> tuple[str, MonitorApp]:
    source = FakeSource(items)
    app = MonitorApp(source, "camp-123", now=lambda: T0 + 200)
    async with app.run_test(size=(120, 40)) as pilot:
        source.release_all()
        await wait_for(pilot, lambda: len(app.view.state.best_history) == iterations, what="iterations")
        panel = app.query_one(ConvergencePanel)
        await wait_for(pilot, lambda: "per iteration" in panel.shown_plain, what="the panel")
        await pilot.pause()
        return panel.shown_plain, app


async def test_the_sparkline_plots_the_named_objectives_best_not_the_backends_best_value() -> None:
    text, app = await panel_text(with_backend_best(campaign_items(4), 1.0), 4)
    series = [value for _, value in app.view.state.best_by_iteration["water_flux"]]
    assert text.startswith("best water_flux per iteration\n")
    assert (
        f"first {fmt.number(series[0])}  last {fmt.number(series[-1])}  best {fmt.number(max(series))}"
        in text
    )
    assert series[-1] == app.view.state.best["water_flux"].value and series[-1] != 1.0
    assert "last 1 " not in text


async def test_without_an_objective_it_plots_the_backends_best_value_under_that_name() -> None:
    script = CampaignScript()
    events = [
        item
        for number in (1, 2, 3)
        for item in script.iteration(number)
        if isinstance(item, EventReceived) and isinstance(item.event, IterationCompleted)
    ]
    items: list[SourceItem] = [ConnectionChanged("live"), *with_backend_best(events, 0.42)]
    text, app = await panel_text(items, 3)
    assert not app.view.state.objectives
    assert text.startswith("backend best_value per iteration\n")
    assert "first 0.42  last 0.42  best 0.42" in text
