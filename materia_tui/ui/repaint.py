"""When each panel repaints: one scheduler for every panel of a campaign view.

Terminal bytes are what a monitor over SSH pays for, so panels repaint at the
rate their cost allows (``Panel.cadence``): the small panels at up to 20 Hz
(a few changed cells each), the table and log about once a second (a
follow-scroll rewrites every visible line: Textual has no terminal scroll
regions), the plots about every 2 s. The first change after a quiet spell is
painted at once (leading edge) and the last one of a burst is never left
behind (trailing edge). ``paint_all`` (user actions, resume, layout changes,
the campaign's end) paints everything at once.

Every item folded into the state only asks for a pass (``note``); a pass takes
the state's change set and merges it into each panel's own pending set, so a
panel that is throttled, hidden or paused misses nothing and gets everything
since its last paint in one set.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from textual.timer import Timer
from textual.widget import Widget

from materia_tui.state import CampaignState
from materia_tui.state.changes import ChangeSet
from materia_tui.ui.panel import CADENCES, Cadence, Panel

REFRESH_INTERVAL = 1 / 20  # at most 20 paints of the small panels a second
BULK_REFRESH_INTERVAL = 1.0  # table and event log: at most one a second while data streams
PLOT_REFRESH_INTERVAL = 2.0  # Pareto / parity plot (~6 KB a paint at 120x40): at most one per 2 s
# While a long history loads (``RepaintScheduler.catching_up``), the view shows how far it
# is, not each page: the small panels (the status bar's "loading history N%", the progress)
# a few times a second, the table and log every few seconds, the plots once it is in (a
# plot's paint after many batches reads every row). Folding is what the user waits for.
CATCH_UP_SMALL = 0.25
CATCH_UP_BULK = 3.0
CATCH_UP_PLOT = math.inf


@dataclass(frozen=True, slots=True)
class RefreshRates:
    """How often each cadence may paint while data streams, in seconds.

    ``--refresh SECONDS`` scales all three together: the table and log every
    SECONDS, the plots every 2 x SECONDS, the small panels up to 20 times per
    SECONDS (never faster than 20 Hz). Over a slow link, ``--refresh 5`` costs
    about a fifth of the default's bytes.
    """

    small: float = REFRESH_INTERVAL
    bulk: float = BULK_REFRESH_INTERVAL
    plot: float = PLOT_REFRESH_INTERVAL

    @classmethod
    def every(cls, seconds: float) -> RefreshRates:
        return cls(
            small=max(REFRESH_INTERVAL, seconds * REFRESH_INTERVAL),
            bulk=seconds,
            plot=seconds * PLOT_REFRESH_INTERVAL / BULK_REFRESH_INTERVAL,
        )

    @classmethod
    def of_option(cls, refresh: float | None) -> RefreshRates:
        """From ``--refresh SECONDS`` (None: the defaults)."""
        return cls.every(refresh) if refresh is not None else cls()

    def of(self, cadence: Cadence) -> float:
        return {"small": self.small, "bulk": self.bulk, "plot": self.plot}[cadence]

    def catching_up(self) -> RefreshRates:
        """These rates while a long history loads: never faster than ``CATCH_UP_*``."""
        return RefreshRates(
            max(self.small, CATCH_UP_SMALL), max(self.bulk, CATCH_UP_BULK), max(self.plot, CATCH_UP_PLOT)
        )


def _is_shown(panel: Panel) -> bool:
    return not isinstance(panel, Widget) or panel.display


class RepaintScheduler:
    """Paints ``panels`` from ``state`` at their cadence; ``timers`` owns the timers."""

    def __init__(
        self,
        timers: Widget,
        state: CampaignState,
        panels: Sequence[Panel],
        *,
        rates: RefreshRates,
        now: Callable[[], float],
        on_pass: Callable[[], None],
    ) -> None:
        self._timers = timers
        self._state = state
        self._panels = list(panels)
        self.rates = rates
        self._now = now
        self._on_pass = on_pass  # after each pass that painted something (alerts, tab marks)
        # A panel that has painted nothing yet catches up with everything.
        self._pending = {id(p): ChangeSet.everything(len(state.log)) for p in self._panels}
        self._last_paint: dict[Cadence, float] = {c: -rates.of(c) for c in CADENCES}
        self._pass_timer: Timer | None = None
        self._due_timer: Timer | None = None
        self._last_pass = 0.0
        self.paused = False  # paint only panels that say ``paints_while_paused``
        self.finished = False  # nothing more will come: paint everything at once
        self._catching_up = False
        self.passes: dict[Cadence, int] = dict.fromkeys(CADENCES, 0)  # paints per cadence

    def add(self, panels: Sequence[Panel]) -> None:
        """Panels mounted later (``CampaignView.mount_the_rest``): they catch up with everything."""
        for panel in panels:
            self._panels.append(panel)
            self._pending[id(panel)] = ChangeSet.everything(len(self._state.log))

    @property
    def catching_up(self) -> bool:
        """A long history is loading: paint at ``RefreshRates.catching_up``'s rates. Once it
        ends, everything waiting is painted at the next pass."""
        return self._catching_up

    @catching_up.setter
    def catching_up(self, value: bool) -> None:
        if value != self._catching_up:
            for panel in self._panels:  # those not painted meanwhile say so (``mark_history_loading``)
                mark = getattr(panel, "mark_history_loading", None)
                if mark is not None:
                    mark(value)
        if self._catching_up and not value:
            for cadence in CADENCES:
                self._last_paint[cadence] = -math.inf  # all due now
            self.note()
        self._catching_up = value

    def _rate(self, cadence: Cadence) -> float:
        rates = self.rates.catching_up() if self._catching_up else self.rates
        return rates.of(cadence)

    # ----- asking ----------------------------------------------------------------

    def note(self) -> None:
        """Something was folded into the state: a pass soon (at once after a quiet spell)."""
        if self._pass_timer is not None:
            return
        # Timer(0) divides by zero.
        delay = max(0.001, self._last_pass + self._rate("small") - time.monotonic())
        self._pass_timer = self._timers.set_timer(delay, self._pass, name="repaint")

    def paint_all(self, cadences: Sequence[Cadence] = CADENCES) -> None:
        """Every panel (of ``cadences``) now, with all it has not painted (resume, layout
        change, a user action)."""
        self._collect()
        now = self._now()
        for cadence in cadences:
            self._paint(cadence, now, only_shown=cadence == "plot")
        self._on_pass()

    def hold(self, cadence: Cadence) -> None:
        """Count ``cadence`` as painted just now: its next paint waits for its interval, or a
        ``paint_all`` (the view's plots over held data wait for the first frame this way)."""
        self._last_paint[cadence] = time.monotonic()

    def tick(self) -> None:
        """Time moved on without events: panels that show times repaint (if their text changed)."""
        now = self._now()
        for panel in self._panels:
            if getattr(panel, "shows_time", False) and (not self.paused or _paints_while_paused(panel)):
                panel.apply_changes(self._state, ChangeSet(), now)

    @property
    def up_to_date(self) -> bool:
        """Every panel painted everything folded into the state (and no plot is still catching up)."""
        if self._state.changes:
            return False
        # A hidden plot paints nothing until it is shown (then it catches up at once).
        shown = [p for p in self._panels if p.cadence != "plot" or _is_shown(p)]
        return not any(self._pending[id(p)] for p in shown) and all(
            getattr(p, "up_to_date", True) for p in shown
        )

    # ----- passes ----------------------------------------------------------------

    def _collect(self) -> None:
        changes = self._state.take_changes()
        if changes:
            for pending in self._pending.values():
                pending.merge(changes)

    def _pass(self) -> None:
        self._pass_timer = None
        self._last_pass = time.monotonic()
        self._collect()
        now = self._now()
        self._paint("small", now, only_shown=False)
        self._paint_due(now)
        self._on_pass()

    def _paint(self, cadence: Cadence, now: float, only_shown: bool) -> bool:
        painted = False
        for panel in self._panels:
            if panel.cadence != cadence or (self.paused and not _paints_while_paused(panel)):
                continue
            if self._catching_up and _waits_for_history(panel):
                continue
            if only_shown and not _is_shown(panel):
                continue
            pending = self._pending[id(panel)]
            if pending or cadence == "small":
                self._pending[id(panel)] = ChangeSet()
                panel.apply_changes(self._state, pending, now)
                painted = True
        if painted:
            self._last_paint[cadence] = time.monotonic()
            self.passes[cadence] += 1
        return painted

    def _waiting(self, cadence: Cadence) -> bool:
        return any(
            self._pending[id(p)] and not (self.paused and not _paints_while_paused(p))
            for p in self._panels
            if p.cadence == cadence and (cadence != "plot" or _is_shown(p))
        )

    def _paint_due(self, now: float) -> None:
        """The table/log and the plots, each if its interval has passed (or nothing more
        will come); otherwise a timer for when the first of them is due."""
        clock = time.monotonic()
        due_at: list[float] = []
        for cadence in ("bulk", "plot"):
            if not self._waiting(cadence):
                continue
            at = self._last_paint[cadence] + self._rate(cadence)
            # A campaign that ended (its metadata says so) while its history still loads is
            # not finished for the screen: nothing would be throttled.
            if (self.finished and not self._catching_up) or clock >= at:
                self._paint(cadence, now, only_shown=cadence == "plot")
            elif at < math.inf:  # never while catching up: painted when it ends
                due_at.append(at)
        if self._due_timer is not None:
            self._due_timer.stop()
            self._due_timer = None
        if due_at:
            self._due_timer = self._timers.set_timer(max(0.001, min(due_at) - clock), self._due, name="due")

    def _due(self) -> None:
        self._due_timer = None
        self._collect()
        self._paint_due(self._now())
        self._on_pass()


def _paints_while_paused(panel: Panel) -> bool:
    return bool(getattr(panel, "paints_while_paused", False))


def _waits_for_history(panel: Panel) -> bool:
    """A panel with nothing to say until the history is in (``waits_for_history``)."""
    return bool(getattr(panel, "waits_for_history", False))
