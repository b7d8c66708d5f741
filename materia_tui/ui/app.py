"""The full-screen monitor: ``MonitorApp(source, campaign_id).run()``.

``MonitorApp`` shows one campaign: one ``CampaignView`` (see
materia_tui/ui/campaign_view.py for the data flow and the bounded refresh)
under the app's bindings. ``MonitorBase`` holds what every monitor app shares
(bindings that act on the active view, alerts, help, command palette);
materia_tui/ui/multi_app.py builds the several-campaign app on it.

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

import contextlib
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, ClassVar

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer

from materia_tui.errors import exit_code_for
from materia_tui.output.alerts import Alert, Alerter, AlertSettings, app_writer
from materia_tui.sanitize import clean
from materia_tui.source import EventSource, FoldsAhead, ReplaySteering
from materia_tui.state import CampaignState
from materia_tui.ui.campaign_view import CampaignView, Section
from materia_tui.ui.repaint import RefreshRates
from materia_tui.ui.textual_compat import install_scrollbar_renderer
from materia_tui.ui.widgets.candidate_table import CandidateTable
from materia_tui.ui.widgets.pareto_plot import ParetoPlot
from materia_tui.ui.widgets.status_bar import LinkStatus

if TYPE_CHECKING:
    from materia_tui.ui.screens.export_screen import ExportResult

REPLAY_ACTIONS = frozenset({"replay_step", "replay_end", "replay_faster", "replay_slower"})
VIEW_ACTIONS = frozenset(
    {
        "toggle_pause",
        "cycle_filter",
        "cycle_sort",
        "reverse_sort",
        "toggle_follow",
        "cycle_x",
        "cycle_y",
        "toggle_log",
        "show_section",
        "toggle_parity",
        "cycle_parity",
        "export",
    }
)


class MonitorBase(App[int]):
    """Bindings, alerts and help shared by the one- and several-campaign monitors."""

    CSS_PATH = "app.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("space", "toggle_pause", "Pause"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("f", "cycle_filter", "Filter"),
        Binding("s", "cycle_sort", "Sort"),
        Binding("l", "toggle_log", "Log"),
        Binding("e", "export", "Export"),
        Binding("v", "toggle_parity", "Parity", show=False),
        Binding("p", "cycle_parity", "Parity objective", show=False),
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
        Binding("5", "show_section('parity')", "Parity", show=False),
    ]

    def __init__(self, *, alerts: AlertSettings | None = None) -> None:
        super().__init__()
        install_scrollbar_renderer()
        # Completion, failure, errors and convergence: a toast, the bell and (when
        # enabled) a desktop notification, each once per campaign.
        self.alerter = Alerter(alerts, app_writer(self))
        self.alerts_shown: list[Alert] = []
        self.error_message: str | None = None
        self._link_errors_notified: set[str] = set()

    @property
    def active_view(self) -> CampaignView | None:
        """The campaign the keys act on (None: no campaign on screen)."""
        raise NotImplementedError

    # ----- what views report ---------------------------------------------------------

    def on_campaign_view_refreshed(self, message: CampaignView.Refreshed) -> None:
        view = message.view
        for alert in self.alerter.observe(view.state):
            self.alerts_shown.append(alert)
            self.notify(alert.body, title=alert.title, severity=alert.severity, markup=False)
        error = view.link.error
        if error is not None and view.campaign_id not in self._link_errors_notified:
            self._link_errors_notified.add(view.campaign_id)
            self.notify(clean(error, 200), title="connection", severity="error", markup=False)
        if view.replay is not None and view.replay.finished:
            self.refresh_bindings()  # the replay keys leave the footer

    # ----- actions -------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """View keys need a campaign on screen; replay keys a running replay (else
        ``end`` falls through to the candidate table)."""
        view = self.active_view
        if action in REPLAY_ACTIONS:
            return view is not None and view.replay_active
        if action in VIEW_ACTIONS:
            return view is not None
        return True

    def _on_view(self, act: Callable[[CampaignView], None]) -> None:
        view = self.active_view
        if view is not None:
            act(view)

    def action_toggle_pause(self) -> None:
        self._on_view(CampaignView.toggle_pause)

    def action_help(self) -> None:
        from materia_tui.ui.screens.help_screen import HelpScreen  # on first use: start-up

        self.push_screen(HelpScreen())

    def action_cycle_filter(self) -> None:
        self._on_view(lambda v: v.table.cycle_filter())

    def action_cycle_sort(self) -> None:
        self._on_view(lambda v: v.table.cycle_sort())

    def action_reverse_sort(self) -> None:
        self._on_view(lambda v: v.table.reverse_sort())

    def action_toggle_follow(self) -> None:
        self._on_view(lambda v: v.table.toggle_follow())

    def action_cycle_x(self) -> None:
        self._on_view(lambda v: v.pareto.cycle_x())

    def action_cycle_y(self) -> None:
        self._on_view(lambda v: v.pareto.cycle_y())

    def action_toggle_log(self) -> None:
        self._on_view(CampaignView.toggle_log)

    def action_show_section(self, name: str) -> None:
        self._on_view(lambda v: v.show_section(name))

    def action_toggle_parity(self) -> None:
        self._on_view(CampaignView.toggle_parity)

    def action_cycle_parity(self) -> None:
        self._on_view(lambda v: v.parity.cycle_objective())

    def action_export(self) -> None:
        view = self.active_view
        if view is not None:
            from materia_tui.ui.screens.export_screen import ExportScreen  # on first use: start-up

            self.push_screen(ExportScreen(view.state), self._exported)

    def _exported(self, result: ExportResult | None) -> None:
        if result is not None:
            self.notify(result.describe(), title="export", markup=False)

    def action_replay_step(self) -> None:
        self._on_view(lambda v: v.steer_replay(lambda r: r.step_iteration()))

    def action_replay_end(self) -> None:
        self._on_view(lambda v: v.steer_replay(lambda r: r.jump_to_end()))

    def action_replay_faster(self) -> None:
        self._on_view(lambda v: v.steer_replay(lambda r: r.faster()))

    def action_replay_slower(self) -> None:
        self._on_view(lambda v: v.steer_replay(lambda r: r.slower()))

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
        yield SystemCommand(
            "Predicted vs measured", "Parity plot and calibration of the surrogate", self.action_toggle_parity
        )
        yield SystemCommand("Export candidates", "Write CSV / JSON / Parquet", self.action_export)
        yield SystemCommand("Help", "Keys and marks", self.action_help)


class MonitorApp(MonitorBase):
    """One campaign, full screen."""

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
        refresh: float | None = None,
    ) -> None:
        super().__init__(alerts=alerts)
        rates = RefreshRates.every(refresh) if refresh is not None else RefreshRates()
        self.view = CampaignView(source, campaign_id, state=state, now=now, rates=rates, id="campaign")
        if isinstance(source, FoldsAhead):
            self._follow_head_start(source)
        self.exit_on_complete = exit_on_complete
        self.title = clean(title) if title else f"materia-tui {clean(campaign_id)}"

    def _follow_head_start(self, head: FoldsAhead) -> None:
        """Data the source folded into the state before the view consumed it counts
        as received (an error after it is shown, not a reason to exit)."""

        def received() -> None:
            self.view.received_anything = True

        if head.received_data:
            received()
        else:
            head.on_data = received

    def compose(self) -> ComposeResult:
        yield self.view
        yield Footer()

    def on_mount(self) -> None:
        self.view.table.focus()

    @property
    def active_view(self) -> CampaignView:
        return self.view

    # The one view's state and widgets, under the names tests and callers use.

    @property
    def source(self) -> EventSource:
        return self.view.source

    @property
    def campaign_id(self) -> str:
        return self.view.campaign_id

    @property
    def state(self) -> CampaignState:
        return self.view.state

    @property
    def link(self) -> LinkStatus:
        return self.view.link

    @property
    def replay(self) -> ReplaySteering | None:
        return self.view.replay

    @property
    def paused(self) -> bool:
        return self.view.paused

    @property
    def compact(self) -> bool:
        return self.view.compact

    @property
    def section(self) -> Section:
        return self.view.section

    @property
    def stream_ended(self) -> bool:
        return self.view.stream_ended

    @property
    def now(self) -> Callable[[], float]:
        return self.view.now

    @property
    def table(self) -> CandidateTable:
        return self.view.table

    @property
    def pareto(self) -> ParetoPlot:
        return self.view.pareto

    # ----- outcome -------------------------------------------------------------------

    def on_campaign_view_source_failed(self, message: CampaignView.SourceFailed) -> None:
        self.error_message = message.failure.message
        self.exit(message.failure.exit_code)

    def on_campaign_view_refreshed(self, message: CampaignView.Refreshed) -> None:
        # Textual also runs MonitorBase's handler (alerts) for this message: no super() call.
        if self.exit_on_complete and self.state.is_finished:
            self.exit(self.final_exit_code())

    def final_exit_code(self) -> int:
        """1 if the campaign failed, else 0 (an error before any data exited already)."""
        return int(exit_code_for(self.state.status))

    async def action_quit(self) -> None:
        self.exit(self.final_exit_code())

    async def on_unmount(self) -> None:
        with contextlib.suppress(Exception):  # closing is best effort; the app is leaving anyway
            await self.view.close_source()
