"""``materia-tui screenshot CAMPAIGN_ID OUT.svg``: the monitor's picture of a
campaign, rendered headless to SVG (for reports and chat; no terminal needed).

The state comes from the campaign's REST metadata and whole history
(docs/PROTOCOL.md section 5), or from a recording (``--from-recording run.jsonl``,
read by ``ReplaySource`` as fast as it goes), folded into a ``CampaignState`` as
it is read: nothing holds the parsed history (a million candidates' events held
as items took 1.8 GB). The monitor then starts over that state, as ``watch``'s
head start does, with a source that yields the connection changes and ends;
once it has drawn the final state the screen is exported as SVG. The picture
shows only what the monitor shows: never the token.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from materia_tui.cli.common import add_history_arguments, check_campaign_id, settings_from_args
from materia_tui.cli.main import Subparsers, add_command
from materia_tui.errors import MateriaError, UsageError

if TYPE_CHECKING:
    from textual.app import App

    from materia_tui.source import SourceItem
    from materia_tui.source.settings import ConnectionSettings
    from materia_tui.state import CampaignState
    from materia_tui.ui.app import MonitorApp

DEFAULT_SIZE = (160, 48)
MIN_SIZE = (40, 12)
MAX_SIZE = (400, 200)
SETTLE_TIMEOUT = 60.0  # seconds for the headless monitor to draw the final state


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "screenshot",
        (
            "Render the full-screen monitor's picture of a campaign's current state to SVG, "
            "headless: from the campaign's REST history, or from a recording with --from-recording."
        ),
        run,
        exit_codes=True,
    )
    add_history_arguments(
        parser,
        "the campaign (optional with --from-recording, where it only names an unnamed recording)",
        "render a recording (watch --record, or a watch --json capture) instead of a live campaign",
    )
    parser.add_argument("output", metavar="OUT.svg", help="the SVG file to write")
    parser.add_argument(
        "--size",
        type=_size,
        default=DEFAULT_SIZE,
        metavar="COLSxROWS",
        help=f"terminal size to render (default: {DEFAULT_SIZE[0]}x{DEFAULT_SIZE[1]})",
    )


def run(args: argparse.Namespace) -> int:
    output = Path(args.output)
    if not output.parent.is_dir():
        raise UsageError(f"Cannot write {args.output}: its folder does not exist.")
    if args.from_recording:
        history, campaign_id, now = recording_history(Path(args.from_recording), args.campaign_id)
        title = f"materia-tui replay {Path(args.from_recording).name}"
    else:
        if args.campaign_id is None:
            raise UsageError(
                "Name a campaign (screenshot CAMPAIGN_ID OUT.svg) or give --from-recording FILE."
            )
        campaign_id = check_campaign_id(args.campaign_id)
        settings = settings_from_args(args)
        history = asyncio.run(rest_history(campaign_id, settings))
        now = time.time()
        title = None
    svg = asyncio.run(render_svg(history, campaign_id, args.size, now=lambda: now, title=title))
    try:
        output.write_text(svg, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"Cannot write {args.output}: {exc.strerror or type(exc).__name__}.") from None
    print(output)
    return 0


# ----- where the items come from --------------------------------------------------------


@dataclass
class History:
    """A campaign's history folded into its state, and the source items that are not
    the campaign's (connection changes), in order, for the monitor's status bar."""

    state: CampaignState
    connection: list[SourceItem] = field(default_factory=list)
    last_received: float | None = None

    def take(self, item: SourceItem) -> None:
        from materia_tui.source import ConnectionChanged, EventReceived, FrameRejected
        from materia_tui.state.intake import apply_item

        if isinstance(item, ConnectionChanged):
            self.connection.append(item)
            return
        apply_item(self.state, item)
        if isinstance(item, EventReceived | FrameRejected):
            self.last_received = max(self.last_received or item.received_at, item.received_at)

    async def take_all(self, items: AsyncIterable[SourceItem]) -> None:
        async for item in items:
            self.take(item)


def new_history(campaign_id: str) -> History:
    from materia_tui.state import CampaignState

    return History(CampaignState(campaign_id))


async def rest_history(campaign_id: str, settings: ConnectionSettings) -> History:
    """The campaign's metadata and whole REST history, folded a page at a time."""
    from materia_tui.protocol import Rejected
    from materia_tui.source import ConnectionChanged, EventReceived, FrameRejected, MetadataReceived
    from materia_tui.source.rest import RestClient

    history = new_history(campaign_id)
    history.take(ConnectionChanged("backfilling"))
    async with RestClient(settings) as rest:
        history.take(MetadataReceived(await rest.get_campaign(campaign_id)))
        async for page in rest.events_after(campaign_id, 0):
            received_at = time.time()
            for parsed in page:
                if isinstance(parsed, Rejected):
                    history.take(FrameRejected(parsed, received_at))
                else:
                    history.take(EventReceived(parsed, received_at))
    return history


def recording_history(path: Path, campaign_id: str | None) -> tuple[History, str, float]:
    """A recording folded (read as fast as possible), its campaign id, and the time to
    show it at: its last receive time, so a campaign recorded while running shows the
    elapsed time it had then."""
    from materia_tui.source.recording import recording_campaign_id
    from materia_tui.source.replay import ReplaySource

    if not path.is_file():
        raise UsageError(f"The recording {path} does not exist or is not a file.")
    named = recording_campaign_id(path) or campaign_id or path.stem or "replay"
    history = new_history(named)

    async def read_all() -> None:
        source = ReplaySource(path)
        try:
            await history.take_all(source)
        finally:
            await source.aclose()

    asyncio.run(read_all())
    last = history.last_received
    return history, named, time.time() if last is None else last


class HistorySource:
    """An ``EventSource`` that yields the given items and ends; the history itself is
    in the state already (``FoldsAhead``)."""

    def __init__(self, items: list[SourceItem]) -> None:
        self.items = items
        self.closed = False
        self.received_data = True
        self.on_data: Callable[[], None] | None = None

    async def __aiter__(self) -> AsyncIterator[SourceItem]:
        for item in self.items:
            yield item

    async def aclose(self) -> None:
        self.closed = True


# ----- rendering ----------------------------------------------------------------------


async def render_svg(
    history: History,
    campaign_id: str,
    size: tuple[int, int],
    *,
    now: Callable[[], float] = time.time,
    title: str | None = None,
) -> str:
    """Run the monitor headless over ``history`` and return its final picture as SVG."""
    from materia_tui.output.alerts import AlertSettings

    app = _screenshot_app()(
        HistorySource(history.connection),
        campaign_id,
        state=history.state,
        now=now,
        title=title,
        alerts=AlertSettings(bell=False, desktop=False),
    )
    async with app.run_test(size=size) as pilot:  # headless; toasts are not shown
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while not _settled(app):
            if app.error_message is not None:
                raise MateriaError(app.error_message)
            if time.monotonic() > deadline:
                raise MateriaError("The monitor did not finish drawing the campaign in time.")
            await pilot.pause(0.02)  # hands the loop to the app while it draws
        await pilot.pause()
        return app.export_screenshot()


def _screenshot_app() -> type[MonitorApp]:
    from materia_tui.ui.app import MonitorApp
    from materia_tui.ui.campaign_view import CampaignView

    class ScreenshotApp(MonitorApp):
        """The monitor, noting when a refresh pass has drawn the ended stream."""

        # Textual reads a relative CSS_PATH next to the module defining the class: this one.
        CSS_PATH = _absolute_css_path(MonitorApp)
        final_state_drawn = False

        def on_campaign_view_refreshed(self, message: CampaignView.Refreshed) -> None:
            # Textual calls the base classes' handlers of this message too.
            if message.view.stream_ended:
                self.final_state_drawn = True

    return ScreenshotApp


def _absolute_css_path(app_class: type[App[int]]) -> str:
    path = app_class.CSS_PATH
    if not isinstance(path, str | PurePath):
        raise TypeError(f"expected one CSS path on {app_class.__name__}, got {path!r}")
    return str(Path(inspect.getfile(app_class)).parent / path)


def _settled(app: MonitorApp) -> bool:
    """The final state is on screen: a refresh pass ran after the stream ended, and
    the throttled plots have caught up."""
    from materia_tui.ui.widgets.parity_plot import ParityPlot

    if not getattr(app, "final_state_drawn", False):
        return False
    plots_ready = app.view.pareto.up_to_date or not app.view.pareto.display
    # A parity view in a hidden section has no area (and is not refreshed).
    parity_ready = all(p.up_to_date or p.region.area == 0 for p in app.query(ParityPlot))
    return plots_ready and parity_ready


def _size(text: str) -> tuple[int, int]:
    columns, sep, rows = text.lower().partition("x")
    try:
        size = (int(columns), int(rows))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not COLSxROWS, e.g. 160x48") from None
    if not sep or not all(low <= v <= high for v, low, high in zip(size, MIN_SIZE, MAX_SIZE, strict=True)):
        raise argparse.ArgumentTypeError(
            f"{text!r}: columns {MIN_SIZE[0]}-{MAX_SIZE[0]}, rows {MIN_SIZE[1]}-{MAX_SIZE[1]}"
        )
    return size
