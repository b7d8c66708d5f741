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
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, ClassVar, Unpack

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import Footer

from materia_tui.errors import exit_code_for
from materia_tui.output.alerts import Alert, Alerter, AlertSettings, app_writer
from materia_tui.sanitize import clean
from materia_tui.source import EventSource, FoldsAhead, first_frame_shown
from materia_tui.ui.campaign_view import CampaignView
from materia_tui.ui.keys import bindings, palette_entries
from materia_tui.ui.repaint import RefreshRates
from materia_tui.ui.textual_compat import install_scrollbar_renderer
from materia_tui.ui.view_sections import ViewOptions

if TYPE_CHECKING:
    from materia_tui.ui.widgets.stop_advisor import StopAdvisor


class MonitorBase(App[int]):
    """Bindings, alerts and help shared by the one- and several-campaign monitors."""

    CSS_PATH = "app.tcss"
    # The view's keys are bound on CampaignView; ui/keys.py lists them all.
    BINDINGS: ClassVar[list[BindingType]] = list(bindings("app"))

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
        for alert in self.alerter.observe(view.state, history_in=view.history_in):
            self.alerts_shown.append(alert)
            self.notify(alert.body, title=alert.title, severity=alert.severity, markup=False)
        error = view.link.error
        if error is not None and view.campaign_id not in self._link_errors_notified:
            self._link_errors_notified.add(view.campaign_id)
            self.notify(clean(error, 200), title="connection", severity="error", markup=False)
        if view.replay is not None and view.replay.finished:
            self.refresh_bindings()  # the replay keys leave the footer

    def on_stop_advisor_advised(self, message: StopAdvisor.Advised) -> None:
        """The stop advisor said stop: the same alerts as completion (toast, bell, --notify)."""
        alert = self.alerter.stop_advised(message.state, message.advice.line)
        if alert is not None:
            self.alerts_shown.append(alert)
            self.notify(alert.body, title=alert.title, severity=alert.severity, markup=False)

    # ----- actions -------------------------------------------------------------------

    def action_help(self) -> None:
        from materia_tui.ui.screens.help_screen import HelpScreen  # on first use: start-up

        self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        view = self.active_view
        for key in palette_entries():
            if key.scope == "app":
                yield SystemCommand(key.palette, key.help, partial(self.run_action, key.action))
            elif view is not None:
                yield SystemCommand(key.palette, key.help, partial(view.run_action, key.action))


class MonitorScreen(Screen[object]):
    """The monitor's screen: it gives the focus to the candidate table straight away.
    Its default, the first focusable widget, is the campaign view, and moving the focus
    from it to the table restyled the whole view twice before the first frame
    (~15 ms of start-up)."""

    AUTO_FOCUS = "CandidateTable"


class MonitorApp(MonitorBase):
    """One campaign, full screen."""

    def __init__(
        self,
        source: EventSource,
        campaign_id: str,
        *,
        exit_on_complete: bool = False,
        title: str | None = None,
        alerts: AlertSettings | None = None,
        refresh: float | None = None,
        **options: Unpack[ViewOptions],  # state, now: the view's
    ) -> None:
        super().__init__(alerts=alerts)
        rates = RefreshRates.of_option(refresh)
        self.view = CampaignView(source, campaign_id, rates=rates, id="campaign", **options)
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

    def get_default_screen(self) -> Screen[object]:
        return MonitorScreen(id="_default")

    def compose(self) -> ComposeResult:
        yield self.view
        yield Footer()

    def on_mount(self) -> None:
        self.view.table.focus()
        # After the view's first frame: what it did without may load now (source/first_page.py).
        self.call_after_refresh(first_frame_shown, self.view.source)

    @property
    def active_view(self) -> CampaignView:
        return self.view

    # ----- outcome -------------------------------------------------------------------

    def on_campaign_view_source_failed(self, message: CampaignView.SourceFailed) -> None:
        self.error_message = message.failure.message
        self.exit(message.failure.exit_code)

    def on_campaign_view_refreshed(self, message: CampaignView.Refreshed) -> None:
        # Textual also runs MonitorBase's handler (alerts) for this message: no super() call.
        if self.exit_on_complete and self.view.state.is_finished:
            self.exit(self.final_exit_code())

    def final_exit_code(self) -> int:
        """1 if the campaign failed, else 0 (an error before any data exited already)."""
        return int(exit_code_for(self.view.state.status))

    async def action_quit(self) -> None:
        self.exit(self.final_exit_code())

    async def on_unmount(self) -> None:
        with contextlib.suppress(Exception):  # closing is best effort; the app is leaving anyway
            await self.view.close_source()
