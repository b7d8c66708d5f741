"""Several campaigns at once: ``materia-tui watch A B C`` (or ``watch`` + a picker).

One tab per campaign (a ``CampaignView`` each, with its own source and state)
whose label carries a status dot, and an "All" tab with one compact row per
campaign. The keys of ``MonitorBase`` act on the campaign tab on screen; ``[``
and ``]`` move between tabs, ``0`` shows "All", ``o`` opens the campaign
picker (when a campaign lister is given).

Exit code: the highest of the campaigns' codes: 0, 1 for a failed campaign,
or a final source error's code (auth, not found, gave up, ...). A source
that fails before its first event does not end the app: its tab shows the
error, the others go on.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult, SystemCommand
from textual.binding import BindingType
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import DataTable, Footer, TabbedContent, TabPane

from materia_tui.output.alerts import AlertSettings
from materia_tui.sanitize import clean
from materia_tui.source import EventSource
from materia_tui.ui.app import MonitorBase
from materia_tui.ui.campaign_view import CampaignView
from materia_tui.ui.children import OneChild
from materia_tui.ui.keys import bindings
from materia_tui.ui.repaint import RefreshRates
from materia_tui.ui.screens.campaign_picker import CampaignLister, CampaignPicker
from materia_tui.ui.widgets.campaigns_overview import CampaignsOverview, tab_label

if TYPE_CHECKING:
    from materia_tui.ui.widgets.compare_view import CompareView

ALL_PANE = "pane-all"
COMPARE_PANE = "pane-compare"
CLOCK_INTERVAL = 1.0
SourceFactory = Callable[[str], EventSource]


def campaign_status(view: CampaignView) -> str:
    """What the tab dot shows: the campaign's end, a final error, or the connection."""
    if view.state.is_finished:
        return view.state.status
    if view.failure is not None:
        return "error"
    return view.link.status


class MultiMonitorApp(MonitorBase):
    BINDINGS: ClassVar[list[BindingType]] = list(bindings("several"))

    def __init__(
        self,
        campaigns: Sequence[tuple[str, EventSource]],
        *,
        open_source: SourceFactory | None = None,
        list_campaigns: CampaignLister | None = None,
        exit_on_complete: bool = False,
        now: Callable[[], float] = time.time,
        alerts: AlertSettings | None = None,
        title: str | None = None,
        refresh: float | None = None,
        compare: bool = False,
    ) -> None:
        super().__init__(alerts=alerts)
        self.compare = compare  # a "Compare" tab overlaying the campaigns (``--compare``)
        self.now = now
        self.rates = RefreshRates.of_option(refresh)
        self.exit_on_complete = exit_on_complete
        self.open_source = open_source
        self.list_campaigns = list_campaigns
        self.views: list[CampaignView] = []
        self._panes: dict[str, str] = {}  # campaign id -> pane id
        for campaign_id, source in campaigns:
            self._new_view(campaign_id, source)
        names = " ".join(clean(view.campaign_id) for view in self.views)
        self.title = clean(title) if title else f"materia-tui {names}".strip()

    def _new_view(self, campaign_id: str, source: EventSource) -> CampaignView:
        view = CampaignView(source, campaign_id, now=self.now, rates=self.rates, id=f"view-{len(self.views)}")
        self.views.append(view)
        self._panes[campaign_id] = f"pane-{len(self.views) - 1}"
        return view

    # ----- layout --------------------------------------------------------------

    def compose(self) -> ComposeResult:
        first = self._panes[self.views[0].campaign_id] if self.views else ALL_PANE
        if self.compare:
            first = COMPARE_PANE
        with TabbedContent(id="campaigns", initial=first):
            with TabPane("All", id=ALL_PANE):
                yield CampaignsOverview(id="all-campaigns")
            if self.compare:
                from materia_tui.ui.widgets.compare_view import CompareView

                with TabPane("Compare", id=COMPARE_PANE):
                    yield CompareView([view.state for view in self.views], id="compare")
            for view in self.views:
                with TabPane(tab_label(view.campaign_id, "connecting"), id=self._panes[view.campaign_id]):
                    yield view
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(CLOCK_INTERVAL, self._tick, name="overview-clock")
        self._tick()
        if self.compare:
            self.compare_view.focus()
        elif self.views:
            self.views[0].table.focus()
        elif self.list_campaigns is not None:
            self.action_open_picker()

    tabs = OneChild(TabbedContent, "#campaigns")

    @property
    def compare_view(self) -> CompareView:
        from materia_tui.ui.widgets.compare_view import CompareView

        return self.query_one(CompareView)

    overview = OneChild(CampaignsOverview)

    @property
    def active_view(self) -> CampaignView | None:
        try:
            active = self.tabs.active
        except NoMatches:  # before compose
            return None
        for view in self.views:
            if self._panes[view.campaign_id] == active:
                return view
        return None

    def view_of(self, campaign_id: str) -> CampaignView:
        return next(v for v in self.views if v.campaign_id == campaign_id)

    # ----- what views report ---------------------------------------------------------

    def on_campaign_view_refreshed(self, message: CampaignView.Refreshed) -> None:
        # Textual also runs MonitorBase's handler (alerts) for this message: no super() call.
        self._show_campaign(message.view)
        if self.compare:
            self.compare_view.note()
        if self.exit_on_complete and self.views and all(v.finished for v in self.views):
            self.exit(self.final_exit_code())

    def on_campaign_view_source_failed(self, message: CampaignView.SourceFailed) -> None:
        self._show_campaign(message.view)  # the tab shows the error; the other campaigns go on

    def _show_campaign(self, view: CampaignView) -> None:
        status = campaign_status(view)
        tab = self.tabs.get_tab(self._panes[view.campaign_id])
        label = tab_label(view.campaign_id, status)
        if tab.label.plain != label.plain:
            tab.label = label
        self.overview.show(view.campaign_id, status, view.state, self.now())

    def _tick(self) -> None:
        for view in self.views:
            self._show_campaign(view)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        view = self.active_view
        if view is not None:
            view.call_after_refresh(view.keep_focus)
        elif self.tabs.active == COMPARE_PANE:
            self.compare_view.focus()
        elif self.tabs.active == ALL_PANE:
            self.overview.focus()  # (focusing a widget of another pane would switch to that pane)
        self.refresh_bindings()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        campaign_id = event.row_key.value
        if campaign_id in self._panes:
            self.tabs.active = self._panes[campaign_id]

    # ----- actions -------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open_picker":
            return self.list_campaigns is not None and self.open_source is not None
        if action == "show_compare":
            return self.compare
        return super().check_action(action, parameters)

    def _pane_order(self) -> list[str]:
        compare = [COMPARE_PANE] if self.compare else []
        return [ALL_PANE, *compare, *(self._panes[v.campaign_id] for v in self.views)]

    def _move(self, step: int) -> None:
        order = self._pane_order()
        current = order.index(self.tabs.active) if self.tabs.active in order else 0
        self.tabs.active = order[(current + step) % len(order)]

    def action_next_campaign(self) -> None:
        self._move(1)

    def action_previous_campaign(self) -> None:
        self._move(-1)

    def action_show_all(self) -> None:
        self.tabs.active = ALL_PANE

    def action_show_compare(self) -> None:
        if self.compare:
            self.tabs.active = COMPARE_PANE

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if self.compare:
            yield SystemCommand(
                "Compare", "The campaigns' hypervolume and Pareto fronts overlaid", self.action_show_compare
            )

    def action_open_picker(self) -> None:
        if self.list_campaigns is None or self.open_source is None:
            return
        picker = CampaignPicker(self.list_campaigns, already_open=self._panes.keys())
        self.push_screen(picker, self._open_chosen)

    async def _open_chosen(self, chosen: list[str] | None) -> None:
        if not chosen:
            if not self.views:
                self.exit(0)  # `watch` without an id, and nothing was picked
            return
        assert self.open_source is not None  # the picker is offered only with a factory
        last = ""
        for campaign_id in chosen:
            if campaign_id not in self._panes:
                await self.add_campaign(campaign_id, self.open_source(campaign_id))
            last = self._panes[campaign_id]
        self.tabs.active = last

    async def add_campaign(self, campaign_id: str, source: EventSource) -> CampaignView:
        """Open one more campaign in a new tab (it starts consuming at once)."""
        view = self._new_view(campaign_id, source)
        pane = TabPane(tab_label(campaign_id, "connecting"), view, id=self._panes[campaign_id])
        await self.tabs.add_pane(pane)
        if self.compare:
            self.compare_view.add_state(view.state)  # the overlay takes every campaign opened
        self._show_campaign(view)
        return view

    # ----- exit ----------------------------------------------------------------------

    def final_exit_code(self) -> int:
        """The highest code: a final source error's, else 1 if any campaign failed, else 0."""
        codes = [(view.exit_code(), view) for view in self.views]
        if not codes:
            return 0
        code, worst = max(codes, key=lambda pair: pair[0])
        if worst.failure is not None:
            self.error_message = f"{clean(worst.campaign_id)}: {worst.failure.message}"
        return code

    async def action_quit(self) -> None:
        self.exit(self.final_exit_code())

    async def on_unmount(self) -> None:
        for view in self.views:
            with contextlib.suppress(Exception):  # closing is best effort; the app is leaving anyway
                await view.close_source()
