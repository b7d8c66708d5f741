"""One campaign's whole screen as a container: ``CampaignView(source, campaign_id)``.

Data flow: a worker folds every source item into the view's ``CampaignState``
as it arrives (no UI work per item); the widgets are refreshed from the state
by a timer that fires at most 20 times a second and only after something
changed, so a burst of thousands of events costs at most 20 redraws a second
and an idle stream costs nothing but a 1 Hz clock tick that redraws only when
a shown time changes.

When and how often each panel repaints is the ``RepaintScheduler``'s business
(``ui/repaint.py``); every panel implements one contract,
``apply_changes(state, changes, now)`` (``ui/panel.py``), fed with the
reducer's change sets.

The view tells its app what happened with two messages: ``Refreshed`` after
each refresh pass (alerts, exit-on-complete, tab dots, the overview row) and
``SourceFailed`` when the source raised a ``MateriaError`` before anything
arrived (auth, not found, gave up). After data arrived, a source error is
shown in the status bar instead and the final state stays on screen.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, ClassVar, TypeVar, Unpack

from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Tab, Tabs

from materia_tui.errors import MateriaError, exit_code_for
from materia_tui.sanitize import clean
from materia_tui.source import (
    ConnectionChanged,
    EventSource,
    SourceItem,
    replay_steering,
)
from materia_tui.state import CampaignState
from materia_tui.state.intake import apply_item
from materia_tui.ui.active_filter import ActiveFilter
from materia_tui.ui.children import OneChild
from materia_tui.ui.filter_and_notes import FilterAndNotes
from materia_tui.ui.keys import actions, bindings
from materia_tui.ui.panel import CADENCES, Panel
from materia_tui.ui.repaint import RefreshRates, RepaintScheduler
from materia_tui.ui.view_sections import (
    PLOTS,
    SECTIONS,
    TAB_LABELS,
    Section,
    SourceFailure,
    ViewOptions,
    is_compact,
)
from materia_tui.ui.widgets.candidate_table import CandidateTable
from materia_tui.ui.widgets.convergence_panel import ConvergencePanel
from materia_tui.ui.widgets.event_log import EventLog
from materia_tui.ui.widgets.filter_bar import FilterBar
from materia_tui.ui.widgets.newest_panel import NewestPanel
from materia_tui.ui.widgets.pareto_plot import ParetoPlot
from materia_tui.ui.widgets.progress_panel import ProgressPanel
from materia_tui.ui.widgets.status_bar import LinkStatus, StatusBar
from materia_tui.ui.widgets.stop_advisor import StopAdvisor

if TYPE_CHECKING:
    from materia_tui.ui.widgets.parity_plot import ParityPlot

CLOCK_INTERVAL = 1.0
NOTE_PLACEHOLDER = "note for the current iteration (enter pins it: event log, recording, exports)"
REPLAY_ACTIONS = actions("replay")
YIELD_EVERY = 256  # let the UI breathe during a burst of buffered items


PlotT = TypeVar("PlotT", bound=Widget)


class CampaignView(FilterAndNotes, Vertical, can_focus=True):
    """Status bar, section tabs (compact layout) and the panels of one campaign.

    The view's keys are bound here, so focus stays inside it: on the candidate
    table where it is shown, else on the view itself.
    """

    BINDINGS: ClassVar[list[BindingType]] = [*bindings("view"), *bindings("replay")]

    class Refreshed(Message):
        """The view drew a new state (at most ~20 a second)."""

        def __init__(self, view: CampaignView) -> None:
            super().__init__()
            self.view = view

        def can_replace(self, message: Message) -> bool:
            # Handlers read the view's current state, so a burst of repaints needs only its last.
            return isinstance(message, CampaignView.Refreshed) and message.view is self.view

    class SourceFailed(Message):
        """The source gave up before any data arrived."""

        def __init__(self, view: CampaignView, failure: SourceFailure) -> None:
            super().__init__()
            self.view = view
            self.failure = failure

    # init=False: on_mount lays out once; watchers run at start would lay out and paint
    # everything four more times before the first frame (start-up).
    paused: reactive[bool] = reactive(False, init=False)
    compact: reactive[bool] = reactive(True, init=False)
    section: reactive[Section] = reactive("overview", init=False)
    plot: reactive[Section] = reactive("pareto", init=False)  # what the wide layout's plot slot shows
    log_visible: reactive[bool] = reactive(True, init=False)

    def __init__(
        self,
        source: EventSource,
        campaign_id: str,
        *,
        rates: RefreshRates | None = None,
        id: str | None = None,
        **options: Unpack[ViewOptions],
    ) -> None:
        super().__init__(id=id)
        self.rates = rates if rates is not None else RefreshRates()
        self.source = source
        self.campaign_id = campaign_id
        state = options.get("state")
        self.state = state if state is not None else CampaignState(campaign_id)
        self.now = options.get("now", time.time)
        self.link = LinkStatus()
        # A replay is steered from the view: space pauses the replay itself, n / G / + / -.
        self.replay = replay_steering(source)
        self.failure: SourceFailure | None = None  # a final source error (before or after data)
        self.stream_ended = False
        self.received_anything = False
        self.scheduler: RepaintScheduler | None = None  # once the panels exist
        self._rest_mounted = False  # the hidden plots and tabs (``mount_the_rest``)
        self.active_filter = ActiveFilter()  # ``/``: the table and every plot read it
        # Advises on the whole campaign whether or not the Hypervolume view is shown.
        self.stop_advisor = StopAdvisor(self, self.state)

    # ----- layout --------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """What the first frame shows; the rest is mounted just after it (``mount_the_rest``)."""
        # The layout's classes before the children exist: each is styled once, with them.
        self.set_reactive(CampaignView.compact, is_compact(self.app.size.width, self.app.size.height))
        self._layout_classes()
        yield StatusBar(self.link, self.replay, id="status")
        if self.compact:
            yield self._section_tabs()  # on the first frame only in the compact layout
        with Horizontal(id="body"):
            with Vertical(id="left"):
                with Vertical(id="overview", classes="section"):
                    yield ProgressPanel(id="progress")
                    yield ConvergencePanel(id="convergence")
                    yield NewestPanel(id="newest")
                yield ParetoPlot(self.state, active_filter=self.active_filter, id="pareto", classes="section")
            with Vertical(id="right"):
                yield CandidateTable(
                    self.state, active_filter=self.active_filter, id="candidates", classes="section"
                )
                yield EventLog(id="log", classes="section")
        yield FilterBar(id="filter-bar")
        yield FilterBar(prompt="note", placeholder=NOTE_PLACEHOLDER, input_id="note-input", id="note-bar")

    def _section_tabs(self) -> Tabs:
        labels = [TAB_LABELS.get(name, name.capitalize()) for name in SECTIONS]
        tabs = (Tab(label, id=f"tab-{name}") for label, name in zip(labels, SECTIONS, strict=True))
        return Tabs(*tabs, id="tabs")

    def _hidden_plots(self) -> list[Widget]:
        """The plots that share the plot slot with the Pareto plot, hidden until chosen."""
        from materia_tui.ui.widgets.hypervolume_view import HypervolumeView
        from materia_tui.ui.widgets.importance_view import ImportanceView
        from materia_tui.ui.widgets.parallel_view import ParallelView
        from materia_tui.ui.widgets.parity_plot import ParityPlot
        from materia_tui.ui.widgets.slice_view import SliceView

        selection = self.active_filter
        return [
            ParityPlot(self.state, active_filter=selection, id="parity", classes="section"),
            ImportanceView(self.state, active_filter=selection, id="importance", classes="section"),
            HypervolumeView(self.state, active_filter=selection, id="hypervolume", classes="section"),
            SliceView(self.state, active_filter=selection, id="slices", classes="section"),
            ParallelView(self.state, active_filter=selection, id="parallel", classes="section"),
        ]

    def mount_the_rest(self) -> None:
        """The hidden plots (and, side by side, the hidden section tabs), once the first
        frame is out: ~30 nodes less to style, lay out and import before the first data
        shows (start-up). Anything that needs them calls this first; it runs once."""
        if self._rest_mounted or self.scheduler is None or not self.is_attached:
            return  # not yet, or already (or leaving: an exit before the first frame)
        self._rest_mounted = True
        if not self.query("#tabs"):
            self.mount(self._section_tabs(), before="#body")
            self.call_after_refresh(self._select_section_tab)
        plots = self._hidden_plots()
        self.query_one("#left").mount(*plots)
        self.scheduler.add([p for p in plots if isinstance(p, Panel)])

    def on_mount(self) -> None:
        self.query_one("#overview").border_title = "progress"
        self.query_one("#pareto").border_title = "Pareto front"
        self.query_one("#log").border_title = "events"
        self.scheduler = RepaintScheduler(
            self,
            self.state,
            [*(w for w in self.query("*") if isinstance(w, Panel)), self.stop_advisor],
            rates=self.rates,
            now=self.now,
            on_pass=self._painted,
        )
        self._apply_layout(first=True)
        self.set_interval(CLOCK_INTERVAL, self.scheduler.tick, name="clock")
        # The text panels and the table now. Over data folded before the view existed
        # (``watch``'s head start), the plots (plotext's import, a first drawing) once the
        # first frame is out: the data shows sooner, and they draw at their laid-out size.
        held = self.state.counters.applied > 0
        self.scheduler.paint_all(("small", "bulk") if held else CADENCES)
        if held:  # nor in a pass before that frame (the head start's status asks for one)
            self.scheduler.hold("plot")
        self.consume_source()
        self.call_after_refresh(self._after_first_frame)

    def _after_first_frame(self) -> None:
        self.mount_the_rest()
        if self.scheduler is not None:
            self.scheduler.paint_all()

    table = OneChild(CandidateTable)
    pareto = OneChild(ParetoPlot)

    @property
    def parity(self) -> ParityPlot:
        from materia_tui.ui.widgets.parity_plot import ParityPlot

        return self._plot("#parity", ParityPlot)

    def _plot(self, selector: str, kind: type[PlotT]) -> PlotT:
        """One of the plots ``mount_the_rest`` mounts (mounted now if not yet)."""
        self.mount_the_rest()
        return self.query_one(selector, kind)

    def on_resize(self) -> None:
        self.compact = is_compact(self.app.size.width, self.app.size.height)
        if self.scheduler is not None:
            self.call_after_refresh(self._paint_status)  # fit the status line to the new width

    def watch_compact(self) -> None:
        self._apply_layout()

    watch_section = watch_log_visible = watch_plot = watch_compact  # each changes the layout

    @property
    def parity_visible(self) -> bool:
        return self.plot == "parity"

    def _apply_layout(self, first: bool = False) -> None:
        """Say the layout in classes; app.tcss shows and hides the sections by them.
        ``first``: the layout of the first frame (on_mount paints it)."""
        if self.scheduler is None:
            return
        if not first:
            self.mount_the_rest()  # a layout change may show any plot, or the section tabs
        self._layout_classes()
        self._select_section_tab()
        if not first:
            self.scheduler.paint_all()
        self.call_after_refresh(self.keep_focus)

    def _layout_classes(self) -> None:
        compact, section = self.compact, self.section
        self.set_class(compact, "-compact")
        for name in SECTIONS:
            self.set_class(compact and name == section, f"-show-{name}")
        # Side by side, the plot slot shows one plot: the Pareto front, or the one chosen
        # (``v``: parity, ``w``: the next, 6-9: an analysis view).
        for name in PLOTS:
            self.set_class(not compact and self.plot == name, f"-plot-{name}")
        self.set_class(not compact and not self.log_visible, "-log-hidden")

    def _select_section_tab(self) -> None:
        # Tabs mounted a moment ago have no tabs to select yet: mount_the_rest calls again.
        for tabs in self.query("#tabs").results(Tabs):
            if tabs.is_mounted and tabs.active != f"tab-{self.section}":
                tabs.active = f"tab-{self.section}"

    def _shown(self, widget: Widget) -> bool:
        return widget.display and all(a.display for a in widget.ancestors if isinstance(a, Widget))

    def keep_focus(self) -> None:
        """A section that hides the focused widget must not leave the keys without a target."""
        if not self.is_mounted or self.screen is not self.app.screen:
            return
        if not all(node.display for node in self.ancestors_with_self if isinstance(node, Widget)):
            return  # e.g. a campaign tab not shown: focusing into it would switch tabs
        focused = self.app.focused
        inside = focused is not None and focused is not self and self in focused.ancestors
        if inside and focused is not None and self._shown(focused):
            return
        table = self.table
        if table.display and self.query_one("#right").display:
            table.focus()
        elif focused is not self:
            self.focus()

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        if event.tabs.id != "tabs" or event.tabs.parent is not self:
            return
        event.stop()  # the section tabs are this view's business, not a campaign switch
        name = (event.tab.id or "").removeprefix("tab-")
        if name in SECTIONS and name != self.section:
            self.section = name

    # ----- the stream ----------------------------------------------------------

    @work(exclusive=True, group="source", exit_on_error=True)
    async def consume_source(self) -> None:
        count = 0
        try:
            async for item in self.source:
                self._take(item)
                # Folded: let it go now, not when the next one arrives (a batch of thousands
                # of parsed candidates would otherwise live on while the next one parses).
                del item
                count += 1
                if count % YIELD_EVERY == 0:
                    await asyncio.sleep(0)
        except MateriaError as exc:
            self._source_failed(exc)
            return
        self.stream_ended = True
        if self.link.status not in ("failed",):
            self.link.status = "closed"
        self._note_change()

    def _take(self, item: SourceItem) -> None:
        """Fold one item in; never touches a widget (the refresh timer does)."""
        if isinstance(item, ConnectionChanged):
            self.link.status = item.status
            self.link.attempt = item.attempt
            self.link.retry_at = self.now() + item.retry_in if item.retry_in is not None else None
            # A retry keeps the last failure's reason on screen until it has news: a
            # reason that blinks off for every attempt cannot be read.
            retrying = item.status == "connecting" and item.attempt > 0 and not item.detail
            self.link.detail = self.link.detail if retrying else item.detail
            self.link.degraded = item.degraded
            self.link.follow_history(item.status, item.history)
        else:
            apply_item(self.state, item)
            self.received_anything = True
        self._note_change()

    def _source_failed(self, exc: MateriaError) -> None:
        self.failure = SourceFailure(int(exc.exit_code), clean(exc.message))
        self.link.error = exc.message
        self.link.status = "failed"
        self.stream_ended = True
        if not self.received_anything:
            self.post_message(self.SourceFailed(self, self.failure))
        self._note_change()

    async def close_source(self) -> None:
        await self.source.aclose()

    # ----- repaints ---------------------------------------------------------------

    def _note_change(self) -> None:
        scheduler = self.scheduler
        if scheduler is not None:
            scheduler.finished = self.stream_ended or self.finished
            # A long history loading: paint at the catch-up rates until it is in.
            scheduler.catching_up = self.link.loading_history and not self.stream_ended
            scheduler.note()

    def _painted(self) -> None:
        self.post_message(self.Refreshed(self))

    def _paint_status(self) -> None:
        self.query_one(StatusBar).apply_changes(self.state, self.state.changes, self.now())

    @property
    def up_to_date(self) -> bool:
        """Every shown panel painted everything the state holds (a pilot waits on this)."""
        return self.scheduler is not None and not self.paused and self.scheduler.up_to_date

    @property
    def history_in(self) -> bool:
        """The whole history is folded: the stream ended, or it went live."""
        return self.stream_ended or self.link.status == "live"

    # ----- outcome ---------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """Nothing more will change: the campaign ended, or its source gave up."""
        return self.state.is_finished or self.failure is not None

    def exit_code(self) -> int:
        """A final source error's code, else 1 if the campaign failed, else 0."""
        return int(exit_code_for(self.state.status, self.failure.exit_code if self.failure else None))

    # ----- keys (ui/keys.py lists them) ----------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Replay keys only while a replay runs (else ``end`` falls through to the table)."""
        if action in REPLAY_ACTIONS:
            return self.replay_active
        return True

    def action_toggle_pause(self) -> None:
        if self.replay is not None and not self.replay.finished:
            self.replay.toggle_pause()  # pause the replay itself; the display keeps up with it
            self._paint_status()
            return
        self.paused = not self.paused

    def watch_paused(self, paused: bool) -> None:
        if self.scheduler is not None:
            self.query_one(StatusBar).paused_at = self.state.counters.received if paused else None
            self.scheduler.paused = paused
            self.scheduler.paint_all()

    def action_toggle_log(self) -> None:
        if self.compact:
            self.section = "overview" if self.section == "log" else "log"
        else:
            self.log_visible = not self.log_visible

    def action_toggle_parity(self) -> None:
        """``v``: the surrogate's predicted-vs-measured view in place of the Pareto plot."""
        if self.compact:
            self.section = "pareto" if self.section == "parity" else "parity"
        else:
            self.plot = "pareto" if self.plot == "parity" else "parity"

    def action_cycle_plot(self) -> None:
        """``w``: the next plot in the plot slot (compact: the next plot section)."""
        current = self.section if self.compact else self.plot
        following = PLOTS[(PLOTS.index(current) + 1) % len(PLOTS)] if current in PLOTS else PLOTS[0]
        self.action_show_section(following)

    def action_show_section(self, name: str) -> None:
        """A section (compact), or in the wide layout a plot in the plot slot."""
        if name not in SECTIONS:
            return
        if not self.compact and name in PLOTS:
            self.plot = name
        self.section = name

    def action_show_view(self, name: str) -> None:
        """Show one analysis view whatever the layout (the keys and the command palette)."""
        self.action_show_section(name)

    def action_cycle_in_view(self) -> None:
        """``j``: the next parameter of the slice plot, or the next axis of the parallel coordinates."""
        from materia_tui.ui.widgets.parallel_view import ParallelView
        from materia_tui.ui.widgets.slice_view import SliceView

        shown = self.section if self.compact else self.plot
        if shown == "slices":
            self._plot("#slices", SliceView).cycle()
        elif shown == "parallel":
            self._plot("#parallel", ParallelView).cycle()

    def action_brush(self) -> None:
        """``b``: move the brush of the parallel coordinates, ANDed with the ``/`` filter."""
        from materia_tui.ui.widgets.parallel_view import ParallelView

        view = self._plot("#parallel", ParallelView)
        self.apply_brush(view.next_brush())
        if view.result is not None:
            view.show_caption(view.result)

    def action_export(self) -> None:
        from materia_tui.ui.screens.export_screen import ExportFilter, ExportResult, ExportScreen

        def exported(result: ExportResult | None) -> None:
            if result is not None:
                self.notify(result.describe(), title="export", markup=False)

        matching = ExportFilter.of(self.active_filter, self.state)
        self.app.push_screen(ExportScreen(self.state, matching), exported)

    def action_panel(self, panel_id: str, method: str) -> None:
        """A key that acts on one panel (``KEYS`` names the panel and its method)."""
        self.mount_the_rest()
        getattr(self.query_one(f"#{panel_id}"), method)()

    def action_replay(self, method: str) -> None:
        if self.replay is not None:
            getattr(self.replay, method)()
            self._paint_status()

    @property
    def replay_active(self) -> bool:
        return self.replay is not None and not self.replay.finished
