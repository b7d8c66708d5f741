"""The stop advisor of every campaign, shown or not: the hypervolume trace and its advice, off the UI thread.

The "Hypervolume" view draws the trace and the advice of what the ``/`` filter
keeps, and only while it is shown. The alert that the campaign no longer
pays (toast, bell, ``--notify``) must not wait for someone to open that view,
so each ``CampaignView`` also owns one ``StopAdvisor``: a ``Panel`` that is
not a widget (the scheduler hands it every change set at the "bulk" cadence,
about once a second, whatever is on screen) and that recomputes the advice at
most once per completed iteration, the unit the advice counts in. Up to
``WHOLE_CAMPAIGN_ROWS`` candidates it reads the whole campaign; past that, the
last ``WINDOW_ITERATIONS`` iterations and the earlier rows still on the front
(``rows_to_read``). The columns are copied as bytes on the UI thread
(``snapshot_columns``, without ids or parameters: about a millisecond at 100k
candidates) and handed to a thread worker (``Handoff``: the copy is freed when
the worker is done, not at the next full garbage collection), where the trace
and the advice are computed from it one iteration at a time
(``output.snapshot_advice``: what ``output.analysis``, the functions
``materia-tui analyze`` prints, computes over the same rows). When the advice first
says stop, the advisor posts ``Advised`` on its view, and the app raises the
alert once per campaign (``Alerter.stop_advised``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.message import Message
from textual.widget import Widget
from textual.worker import Worker

from materia_tui.state import CampaignState
from materia_tui.state.changes import ChangeSet
from materia_tui.ui.handoff import Handoff
from materia_tui.ui.panel import Cadence

if TYPE_CHECKING:  # numpy: never on the start-up path
    from materia_tui.insight.advisor import Advice
    from materia_tui.insight.hypervolume import Trace
    from materia_tui.state.columns import ColumnSnapshot, RowChoice


WHOLE_CAMPAIGN_ROWS = 50_000  # up to here the advice reads every candidate
WINDOW_ITERATIONS = 12  # past it, these last iterations (patience 5 + 6 to start advising + 1)


class StopAdvisor:
    cadence: ClassVar[Cadence] = "bulk"
    # Advice on a history still loading is moot (and its thread competes with the
    # folding): the scheduler hands it the changes once the history is in.
    waits_for_history: ClassVar[bool] = True

    class Advised(Message):
        """The advisor said stop (posted once per change of verdict to stop)."""

        def __init__(self, view: Widget, state: CampaignState, advice: Advice) -> None:
            super().__init__()
            self.view = view
            self.state = state
            self.advice = advice

    def __init__(self, host: Widget, state: CampaignState) -> None:
        self.host = host  # runs the worker and receives ``Advised`` (it bubbles up to the app)
        self.state = state
        self.trace: Trace | None = None
        self.advice: Advice | None = None
        self.computations = 0  # finished computations, for tests and benchmarks
        self._asked: tuple[int, int] = (0, 0)  # (completed iterations, current iteration) last computed
        self._worker: Worker[Any] | None = None
        self._advised_stop = False
        self.whole_campaign_rows = WHOLE_CAMPAIGN_ROWS
        self._queued = False  # a recompute waits for the next frame

    def apply_changes(self, state: CampaignState, changes: ChangeSet, now: float) -> None:
        # After the frame this pass paints: the first advice imports numpy and copies
        # columns on this thread, which must not hold back the first data on screen.
        if not self._queued:
            self._queued = True
            self.host.call_after_refresh(self._queued_recompute)

    def _queued_recompute(self) -> None:
        self._queued = False
        self.recompute()

    @property
    def up_to_date(self) -> bool:
        return not self._queued and self._worker is None and self._asked == self._iterations()

    def _iterations(self) -> tuple[int, int]:
        return (self.state.completed_iterations, self.state.current_iteration)

    def recompute(self) -> None:
        """Advise again if an iteration moved on since the last advice (one worker at a time)."""
        wanted = self._iterations()
        if self._worker is not None or wanted == self._asked:
            return
        from materia_tui.state.columns import snapshot_columns

        self._asked = wanted
        rows = self.rows_to_read()
        snapshot = Handoff(snapshot_columns(self.state, parameters=False, ids=False, rows=rows))
        self._worker = self.host.run_worker(
            lambda: self._advise_in_thread(snapshot),
            thread=True,
            exclusive=False,
            group="stop-advisor",
            exit_on_error=False,
        )

    def rows_to_read(self) -> RowChoice | None:
        """Past ``whole_campaign_rows`` candidates, the rows of the last ``WINDOW_ITERATIONS``
        iterations and the current front's earlier rows (None: every row).

        Copying every candidate's measurements each iteration costs the monitor about
        200 bytes a candidate at its peak (~20 MB at 100k, ~200 MB at 1M). The advice
        rests on the recent iterations. It may differ from ``analyze``'s: an earlier point
        that has since left the front is missing from the window, so the window's first
        hypervolume values can be lower (it errs towards seeing gains, i.e. advising to
        stop later), and the automatic reference point is chosen from the window's points."""
        store = self.state.store
        if len(store) <= self.whole_campaign_rows:
            return None
        import numpy as np  # imported already past this size (the scatter's columns)

        from materia_tui.state.columns import RowChoice

        iterations = np.frombuffer(store.iterations, dtype=np.int32, count=len(store))
        recent = np.flatnonzero(iterations > self.state.current_iteration - WINDOW_ITERATIONS)
        start = int(recent[0]) if len(recent) else len(store)
        fronts = np.frombuffer(store.on_front, dtype=np.int8, count=start)
        return RowChoice(start, tuple(np.flatnonzero(fronts).tolist()))

    def _advise_in_thread(self, snapshot: Handoff[ColumnSnapshot]) -> None:
        trace, advice = self._advise(snapshot.take())  # the copy is freed on return (see Handoff)
        self.host.app.call_from_thread(self._finished, trace, advice)

    def _advise(self, snapshot: ColumnSnapshot) -> tuple[Trace | None, Advice | None]:
        from materia_tui.output.snapshot_advice import snapshot_advice

        try:
            return snapshot_advice(snapshot)
        except (IndexError, KeyError, ValueError, RuntimeError):  # a torn copy at worst: the next iteration
            return self.trace, self.advice

    def _finished(self, trace: Trace | None, advice: Advice | None) -> None:
        self._worker = None
        self.trace, self.advice = trace, advice
        self.computations += 1
        stop = advice is not None and advice.stop
        if advice is not None and stop and not self._advised_stop:
            self.host.post_message(self.Advised(self.host, self.state, advice))
        self._advised_stop = stop
        self.recompute()  # an iteration that completed meanwhile
