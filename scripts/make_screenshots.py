"""Write SVG screenshots of the monitor to screenshots/ from a deterministic event
stream and a frozen clock (never hand-edit the SVGs: rerun this script).

    .venv/bin/python scripts/make_screenshots.py
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the deterministic stream lives in tests/support

from materia_tui.source import ConnectionChanged, EventSource, SourceItem  # noqa: E402
from materia_tui.ui.app import MonitorApp  # noqa: E402
from materia_tui.ui.campaign_view import CampaignView  # noqa: E402
from materia_tui.ui.multi_app import MultiMonitorApp  # noqa: E402
from tests.support.fake_source import ITERATION_SECONDS, T0, FakeSource, campaign_items  # noqa: E402

OUT = ROOT / "screenshots"


@dataclass(frozen=True)
class Shot:
    name: str
    size: tuple[int, int]
    items: list[SourceItem]
    now: float
    keys: tuple[str, ...] = ()
    # More campaigns (id, items) after the first: a MultiMonitorApp with one tab each.
    others: tuple[tuple[str, list[SourceItem]], ...] = ()


def shots() -> list[Shot]:
    mid = campaign_items(9, partial_last=True, max_iterations=15)
    done = campaign_items(15, complete=True, converge_at=13, max_iterations=15)
    mid_now = T0 + 8 * ITERATION_SECONDS + 20
    done_now = T0 + 15 * ITERATION_SECONDS + 5
    return [
        Shot("monitor-160x48", (160, 48), mid, mid_now),
        Shot("monitor-completed-160x48", (160, 48), done, done_now),
        Shot("monitor-80x24-overview", (80, 24), mid, mid_now),
        Shot("monitor-80x24-candidates", (80, 24), mid, mid_now, ("2",)),
        Shot("monitor-80x24-pareto", (80, 24), mid, mid_now, ("3",)),
        Shot("monitor-120x40-pareto-filter", (120, 40), done, done_now, ("f",)),
        Shot("monitor-160x48-parity", (160, 48), done, done_now, ("v",)),
        Shot("help-80x24", (80, 24), mid, mid_now, ("question_mark",)),
        Shot("multi-120x40-all", (120, 40), mid, mid_now, ("0",), others=several()),
        Shot("multi-80x24-campaign", (80, 24), mid, mid_now, ("right_square_bracket",), others=several()),
        Shot("monitor-80x24-unresolved", (80, 24), unresolved(), T0),
    ]


def unresolved() -> list[SourceItem]:
    """A first connection to a host name that does not resolve (no URL configured)."""
    detail = (
        "The host name api.matcraft.ai does not resolve: https://api.matcraft.ai/api/v1 is the default "
        "URL (no --url, no MATERIA_API_URL, no url in ~/.config/materia-tui/config.toml); "
        "point at your server with one of them."
    )
    return [
        ConnectionChanged("connecting"),
        ConnectionChanged("reconnecting", 4, retry_in=6.2, detail=detail, unresolved_host="api.matcraft.ai"),
    ]


def several() -> tuple[tuple[str, list[SourceItem]], ...]:
    return (
        (
            "camp-456",
            campaign_items(
                15, campaign_id="camp-456", name="Solvent screen", complete=True, seed=3, max_iterations=15
            ),
        ),
        (
            "camp-789",
            campaign_items(4, campaign_id="camp-789", name="Catalyst", fail="optimizer crashed", seed=5),
        ),
    )


def drawn(view: CampaignView, source: FakeSource) -> bool:
    plot_drawn = view.pareto.up_to_date or not view.pareto.display
    return source.drained and view.up_to_date and plot_drawn


async def take(shot: Shot) -> Path:
    sources = [("camp-123", FakeSource(shot.items))] + [
        (cid, FakeSource(items)) for cid, items in shot.others
    ]
    app: MonitorApp | MultiMonitorApp
    if shot.others:
        app = MultiMonitorApp(list[tuple[str, EventSource]](sources), now=lambda: shot.now)
    else:
        app = MonitorApp(sources[0][1], "camp-123", now=lambda: shot.now)
    async with app.run_test(size=shot.size) as pilot:
        for _, source in sources:
            source.release_all()
        views = app.views if isinstance(app, MultiMonitorApp) else [app.view]
        for _ in range(500):  # wait (bounded) until every item is drawn
            if all(drawn(view, source) for view, (_, source) in zip(views, sources, strict=True)):
                break
            await pilot.pause(0.01)
        else:
            raise RuntimeError(f"{shot.name}: the stream was not drawn")
        await pilot.pause(0.1)
        app.clear_notifications()  # toasts would hide panels in a still picture
        if shot.keys:
            await pilot.press(*shot.keys)
            await pilot.pause()
            # A tab shown by a key redraws its clock-driven panels (the progress bar's width)
            # on the next 1 Hz tick: run that tick now, not a race against the picture.
            for view in views:
                if view.scheduler is not None:
                    view.scheduler.tick()
        await pilot.pause()
        path = OUT / f"{shot.name}.svg"
        app.save_screenshot(filename=path.name, path=str(OUT))
    return path


async def main() -> None:
    OUT.mkdir(exist_ok=True)
    for shot in shots():
        print(await take(shot))


if __name__ == "__main__":
    asyncio.run(main())
