"""The full-screen monitor: ``MonitorApp(source, campaign_id).run()``.

Data flow: a worker folds every source item into the ``CampaignState`` as it
arrives (no UI work per item); widgets are refreshed from the state by a timer
that fires at most 20 times a second and only after something changed, so a
burst of thousands of events costs at most 20 redraws a second and an idle
stream costs nothing but a 1 Hz clock tick that redraws only when a shown time
changes.

Exit codes (``app.run()`` returns one of ``materia_tui.errors.ExitCode``):

- ``q``: 0, except 1 (CAMPAIGN_FAILED) when the campaign failed.
- ``exit_on_complete``: leaves by itself once the campaign is completed or
  cancelled (0) or failed (1), after the final state has been drawn.
- The source raises a ``MateriaError`` before anything arrived (e.g. auth,
  not found, gave up): exits with the error's ``exit_code`` and sets
  ``app.error_message`` to its one-sentence message for the CLI to print.
  After data arrived, the error is shown in the status bar instead and the
  final state stays on screen until ``q``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from typing import ClassVar, Literal

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Tab, Tabs

from materia_tui.alerts import Alert, Alerter, AlertSettings, app_writer
from materia_tui.errors import ExitCode, MateriaError
from materia_tui.sanitize import clean
from materia_tui.source import ConnectionChanged, EventSource, SourceItem, apply_item
from materia_tui.source.replay import ReplayControl
from materia_tui.state import CampaignState
from materia_tui.ui.screens.help_screen import HelpScreen
from materia_tui.ui.widgets.candidate_table import CandidateTable
from materia_tui.ui.widgets.convergence_panel import ConvergencePanel
from materia_tui.ui.widgets.event_log import EventLog
from materia_tui.ui.widgets.newest_panel import NewestPanel
from materia_tui.ui.widgets.pareto_plot import ParetoPlot
from materia_tui.ui.widgets.progress_panel import ProgressPanel
from materia_tui.ui.widgets.status_bar import LinkStatus, StatusBar

Section = Literal["overview", "candidates", "pareto", "log"]
SECTIONS: tuple[Section, ...] = ("overview", "candidates", "pareto", "log")
WIDE_MIN_WIDTH = 120  # below this, or below WIDE_MIN_HEIGHT, one section at a time
WIDE_MIN_HEIGHT = 30
REFRESH_INTERVAL = 1 / 20  # at most 20 widget refreshes a second
CLOCK_INTERVAL = 1.0
YIELD_EVERY = 256  # let the UI breathe during a burst of buffered items


class MonitorApp(App[int]):
    CSS_PATH = "app.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("space", "toggle_pause", "Pause"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("f", "cycle_filter", "Filter"),
        Binding("s", "cycle_sort", "Sort"),
        Binding("l", "toggle_log", "Log"),
        Binding("r", "reverse_sort", "Reverse sort", show=False),
        Binding("t", "toggle_follow", "Follow", show=False),
        Binding("x", "cycle_x", "Plot x", show=False),
        Binding("y", "cycle_y", "Plot y", show=False),
        Binding("n", "replay_step", "Next iteration"),
        Binding("G", "replay_end", "To end", key_display="G"),
        Binding("end", "replay_end", "To end", show=False, priority=True),
        Binding("plus,equals_sign", "replay_faster", "Faster", key_display="+"),
        Binding("minus", "replay_slower", "Slower", key_display="-"),
        Binding("1", "show_section('overview')", "Overview", show=False),
        Binding("2", "show_section('candidates')", "Candidates", show=False),
        Binding("3", "show_section('pareto')", "Pareto", show=False),
        Binding("4", "show_section('log')", "Log", show=False),
    ]

    paused: reactive[bool] = reactive(False)
    compact: reactive[bool] = reactive(True)
    section: reactive[Section] = reactive("overview")
    log_visible: reactive[bool] = reactive(True)

    def __init__(
        self,
        source: EventSource,
        campaign_id: str,
        *,
        exit_on_complete: bool = False,
        state: CampaignState | None = None,
        title: str | None = None,
        now: Callable[[], float] = time.time,
        alerts: AlertSettings | None = None,
    ) -> None:
        super().__init__()
        self.source = source
        self.campaign_id = campaign_id
        self.state = state if state is not None else CampaignState(campaign_id)
        self.exit_on_complete = exit_on_complete
        self.now = now
        self.title = clean(title) if title else f"materia-tui {clean(campaign_id)}"
        self.link = LinkStatus()
        control = getattr(source, "control", None)
        # A replay is steered from here: space pauses the replay itself, n / G / + / -.
        self.replay: ReplayControl | None = control if isinstance(control, ReplayControl) else None
        self.error_message: str | None = None
        self.refreshes = 0  # widget refresh passes, for tests and benchmarks
        self.stream_ended = False
        self._received_anything = False
        self._paused_at_received = 0
        self._refresh_timer: Timer | None = None
        self._last_refresh = 0.0
        # Completion, failure, errors and convergence: a toast, the bell and (when
        # enabled) a desktop notification, each once.
        self.alerter = Alerter(alerts, app_writer(self))
        self.alerts_shown: list[Alert] = []
        self._link_error_notified = False
        self._replay_end_shown = False
        self._widgets_ready = False  # set once the widgets exist

    # ----- layout --------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Tabs(*(Tab(name.capitalize(), id=f"tab-{name}") for name in SECTIONS), id="tabs")
        with Horizontal(id="body"):
            with Vertical(id="left"):
                with Vertical(id="overview", classes="section"):
                    yield ProgressPanel(id="progress")
                    yield ConvergencePanel(id="convergence")
                    yield NewestPanel(id="newest")
                yield ParetoPlot(self.state, id="pareto", classes="section")
            with Vertical(id="right"):
                yield CandidateTable(self.state, id="candidates", classes="section")
                yield EventLog(id="log", classes="section")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#overview").border_title = "progress"
        self.query_one("#pareto").border_title = "Pareto front"
        self.query_one("#log").border_title = "events"
        self._widgets_ready = True
        self.compact = self._is_compact(self.size.width, self.size.height)
        self._apply_layout()
        self.table.focus()
        self.set_interval(CLOCK_INTERVAL, self._tick, name="clock")
        self._refresh_from_state()
        self.consume_source()

    @property
    def table(self) -> CandidateTable:
        return self.query_one(CandidateTable)

    @property
    def pareto(self) -> ParetoPlot:
        return self.query_one(ParetoPlot)

    @staticmethod
    def _is_compact(width: int, height: int) -> bool:
        return width < WIDE_MIN_WIDTH or height < WIDE_MIN_HEIGHT

    def on_resize(self, event: Resize) -> None:
        self.compact = self._is_compact(event.size.width, event.size.height)
        if self._widgets_ready:
            self.call_after_refresh(self._sync_status, self.now())  # fit the status line to the new width

    def watch_compact(self) -> None:
        self._apply_layout()

    def watch_section(self) -> None:
        self._apply_layout()

    def watch_log_visible(self) -> None:
        self._apply_layout()

    def _apply_layout(self) -> None:
        if not self._widgets_ready:
            return
        compact, section = self.compact, self.section
        self.screen.set_class(compact, "-compact")
        self.query_one("#tabs").display = compact
        for name in SECTIONS:
            shown = name == section if compact else (name != "log" or self.log_visible)
            self.query_one(f"#{name}").display = shown
        self.query_one("#left").display = not compact or section in ("overview", "pareto")
        self.query_one("#right").display = not compact or section in ("candidates", "log")
        tabs = self.query_one(Tabs)
        if tabs.active != f"tab-{section}":
            tabs.active = f"tab-{section}"
        if not self.paused:
            self._sync_panels(self.now())

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        tab_id = event.tab.id or ""
        name = tab_id.removeprefix("tab-")
        if name in SECTIONS and name != self.section:
            self.section = name

    # ----- the stream ----------------------------------------------------------

    @work(exclusive=True, group="source", exit_on_error=True)
    async def consume_source(self) -> None:
        count = 0
        try:
            async for item in self.source:
                self._take(item)
                count += 1
                if count % YIELD_EVERY == 0:
                    await asyncio.sleep(0)
        except MateriaError as exc:
            self._source_failed(exc)
            return
        self.stream_ended = True
        if self.link.status not in ("failed",):
            self.link.status = "closed"
        self._schedule_refresh()

    def _take(self, item: SourceItem) -> None:
        """Fold one item in; never touches a widget (the refresh timer does)."""
        if isinstance(item, ConnectionChanged):
            self.link.status = item.status
            self.link.attempt = item.attempt
            self.link.retry_at = self.now() + item.retry_in if item.retry_in is not None else None
            self.link.detail = item.detail
        else:
            apply_item(self.state, item)
            self._received_anything = True
        self._schedule_refresh()

    def _source_failed(self, exc: MateriaError) -> None:
        if not self._received_anything:
            self.error_message = clean(exc.message)
            self.exit(int(exc.exit_code))
            return
        self.link.error = exc.message
        self.link.status = "failed"
        self.stream_ended = True
        self._schedule_refresh()

    # ----- bounded refresh -------------------------------------------------------

    def _schedule_refresh(self) -> None:
        if self._refresh_timer is not None:
            return
        delay = max(
            0.001, self._last_refresh + REFRESH_INTERVAL - time.monotonic()
        )  # Timer(0) divides by zero
        self._refresh_timer = self.set_timer(delay, self._refresh_from_state, name="refresh")

    def _refresh_from_state(self) -> None:
        self._refresh_timer = None
        self._last_refresh = time.monotonic()
        self.refreshes += 1
        now = self.now()
        self._sync_status(now)
        if not self.paused:
            self._sync_panels(now)
        self._notify_changes()
        if self.replay is not None and self.replay.finished and not self._replay_end_shown:
            self._replay_end_shown = True
            self.refresh_bindings()  # the replay keys leave the footer
        if self.exit_on_complete and self.state.is_finished:
            self.exit(self.final_exit_code())

    def _tick(self) -> None:
        """Times shown on screen move on without events; each widget redraws only if its text changed."""
        now = self.now()
        self._sync_status(now)
        if not self.paused:
            self.query_one(ProgressPanel).sync(self.state, now)

    def _sync_status(self, now: float) -> None:
        paused_new = self.state.counters.received - self._paused_at_received if self.paused else None
        replay = self.replay.describe() if self.replay is not None else None
        self.query_one(StatusBar).sync(self.state, self.link, now, paused_new, replay)

    def _sync_panels(self, now: float) -> None:
        state = self.state
        self.query_one(ProgressPanel).sync(state, now)
        self.query_one(ConvergencePanel).sync(state)
        self.query_one(NewestPanel).sync(state)
        self.query_one(EventLog).sync(state)
        self.table.sync()
        if self.pareto.display:
            self.pareto.sync()

    def _notify_changes(self) -> None:
        for alert in self.alerter.observe(self.state):
            self.alerts_shown.append(alert)
            self.notify(alert.body, title=alert.title, severity=alert.severity, markup=False)
        if self.link.error is not None and not self._link_error_notified:
            self._link_error_notified = True
            self.notify(clean(self.link.error, 200), title="connection", severity="error", markup=False)

    # ----- exit ------------------------------------------------------------------

    def final_exit_code(self) -> int:
        return int(ExitCode.CAMPAIGN_FAILED if self.state.status == "failed" else ExitCode.OK)

    async def action_quit(self) -> None:
        self.exit(self.final_exit_code())

    async def on_unmount(self) -> None:
        with contextlib.suppress(Exception):  # closing is best effort; the app is leaving anyway
            await self.source.aclose()

    # ----- actions -----------------------------------------------------------------

    def action_toggle_pause(self) -> None:
        if self.replay is not None and not self.replay.finished:
            self.replay.toggle_pause()  # pause the replay itself; the display keeps up with it
            self._sync_status(self.now())
            return
        self.paused = not self.paused

    REPLAY_ACTIONS: ClassVar[frozenset[str]] = frozenset(
        {"replay_step", "replay_end", "replay_faster", "replay_slower"}
    )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Replay keys exist only for a replay (elsewhere ``end`` scrolls the table)."""
        if action in self.REPLAY_ACTIONS:
            return self.replay is not None and not self.replay.finished
        return True

    def _steer_replay(self, steer: Callable[[ReplayControl], None]) -> None:
        if self.replay is not None:
            steer(self.replay)
            self._sync_status(self.now())

    def action_replay_step(self) -> None:
        self._steer_replay(ReplayControl.step_iteration)

    def action_replay_end(self) -> None:
        self._steer_replay(ReplayControl.jump_to_end)

    def action_replay_faster(self) -> None:
        self._steer_replay(ReplayControl.faster)

    def action_replay_slower(self) -> None:
        self._steer_replay(ReplayControl.slower)

    def watch_paused(self, paused: bool) -> None:
        if paused:
            self._paused_at_received = self.state.counters.received
        if self._widgets_ready:
            self._refresh_from_state()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_cycle_filter(self) -> None:
        self.table.cycle_filter()

    def action_cycle_sort(self) -> None:
        self.table.cycle_sort()

    def action_reverse_sort(self) -> None:
        self.table.reverse_sort()

    def action_toggle_follow(self) -> None:
        self.table.toggle_follow()

    def action_cycle_x(self) -> None:
        self.pareto.cycle_x()

    def action_cycle_y(self) -> None:
        self.pareto.cycle_y()

    def action_toggle_log(self) -> None:
        if self.compact:
            self.section = "overview" if self.section == "log" else "log"
        else:
            self.log_visible = not self.log_visible

    def action_show_section(self, name: str) -> None:
        if name in SECTIONS:
            self.section = name

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "Pause / resume", "Freeze the display; the stream is still consumed", self.action_toggle_pause
        )
        yield SystemCommand(
            "Filter candidates",
            "All, Pareto only, current iteration, failed + infeasible",
            self.action_cycle_filter,
        )
        yield SystemCommand("Sort candidates", "Sort by the next column", self.action_cycle_sort)
        yield SystemCommand("Reverse sort", "Reverse the candidate sort order", self.action_reverse_sort)
        yield SystemCommand("Follow newest", "Keep the newest candidate in view", self.action_toggle_follow)
        yield SystemCommand("Toggle event log", "Show or hide the event log", self.action_toggle_log)
        yield SystemCommand("Next x objective", "Cycle the Pareto plot's x axis", self.action_cycle_x)
        yield SystemCommand("Next y objective", "Cycle the Pareto plot's y axis", self.action_cycle_y)
        yield SystemCommand("Help", "Keys and marks", self.action_help)
