"""The shared machinery of the analysis views (importance, hypervolume, slices, parallel coordinates).

Each view is a ``Vertical`` of a caption and a plot (or text) and follows the
``Panel`` contract with cadence "plot": ``apply_changes`` only notes that the
data moved on; while the view is shown, the scheduler's plot cadence (about
every 2 s) bounds how often it recomputes. The computation (``compute``)
runs in a thread worker on a snapshot of the candidates (``snapshot_columns``:
bytes copied on the UI thread, made columns in the worker) so the UI thread
never waits for it; ``show`` paints the
result on the UI thread. The snapshot holds only the columns the view reads
(``reads``; ``snapshot`` for a view that reads chosen rows): at a million
candidates every column would be over 100 MB of copies. A hidden view
computes nothing and catches up when shown. The view's ``/`` filter
(``ActiveFilter``) is applied to the columns before ``compute`` sees them, so
every view shows only matching candidates; its mask is the one the table
reads, taken on the UI thread with the snapshot (so the snapshot needs none
of the columns the filter names).

Thread safety: the worker reads nothing the UI thread goes on changing.
Everything it needs is copied on the UI thread before it starts: the
snapshot (``snapshot``), the filter's mask and the campaign's facts
(``_Snapshot``: objectives, directions). A computation that
fails all the same (``IndexError``, ``KeyError``, ``ValueError``,
``RuntimeError``) shows nothing new and is tried again on the next pass.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from textual.containers import Vertical
from textual.worker import Worker, WorkerState

from materia_tui.state import CampaignState
from materia_tui.state.changes import ChangeSet
from materia_tui.ui.active_filter import FiltersCampaign
from materia_tui.ui.handoff import Handoff
from materia_tui.ui.panel import Cadence

R = TypeVar("R")
# While data streams, a view recomputes (and redraws) at most this often: the plot cadence
# (a redrawn plot is ~6 KB at 120x40; the terminal budget is 15 KB/s for everything).
MIN_RECOMPUTE_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class ColumnReads:
    """Which columns a view's computation reads (``snapshot_columns``'s options):
    ``parameters`` True for all, False for none, or the names; the objectives
    and the row facts (iteration, status, front) always."""

    parameters: bool | tuple[str, ...] = True
    ids: bool = False
    predictions: bool = True


class AnalysisView(FiltersCampaign, Vertical, Generic[R]):
    cadence: ClassVar[Cadence] = "plot"
    TITLE: ClassVar[str] = ""
    MIN_SECONDS: ClassVar[float] = MIN_RECOMPUTE_SECONDS  # between computations while data streams

    def __init__(self, state: CampaignState, **panel: Any) -> None:
        super().__init__(state, **panel)
        self.result: R | None = None
        self.computations = 0  # finished computations, for tests and benchmarks
        self._data_version = 0
        self._wanted: tuple[object, ...] = (0, 0, 0)  # (data version, filter generation, view setting)
        self._computed: tuple[object, ...] = ()
        self._worker: Worker[Any] | None = None
        self.prebuilt: Any = None  # what ``prebuild`` made for the result being shown
        self._finished_at = 0.0
        self._retry_timer = False
        self._awaited_layout = False

    # ----- what subclasses provide ---------------------------------------------------

    def setting(self) -> object:
        """What the user chose (an objective, a parameter): part of what is computed."""
        return None

    def reads(self) -> ColumnReads:  # on the UI thread
        """The columns ``compute`` reads: only those are copied for it."""
        return ColumnReads()

    def snapshot(self, state: CampaignState, keep: Any) -> Any:  # on the UI thread
        """A copy of what the computation reads (``keep``: the filter's mask, or None),
        handed to ``compute_snapshot`` in the worker."""
        from materia_tui.state.columns import snapshot_columns

        reads = self.reads()
        return snapshot_columns(
            state, parameters=reads.parameters, ids=reads.ids, predictions=reads.predictions
        )

    def compute_snapshot(self, snapshot: Any, keep: Any, state: Any) -> R:  # runs in a thread
        """The result from ``snapshot``'s columns, of the rows ``keep`` marks (None: every row)."""
        return self.compute_filtered(snapshot.columns(), keep, state)

    def compute(self, columns: Any, state: CampaignState) -> R:  # runs in a thread
        raise NotImplementedError

    def compute_filtered(self, columns: Any, keep: Any, state: CampaignState) -> R:  # runs in a thread
        """``compute`` over the rows ``keep`` marks (None: every row)."""
        return self.compute(columns if keep is None else subset(columns, keep), state)

    def show(self, result: R) -> None:  # on the UI thread
        raise NotImplementedError

    def picture_context(self) -> Any:  # on the UI thread, before a computation
        """What ``prebuild`` needs to draw off the UI thread (None: the view draws in ``show``)."""
        return None

    def picture_wanted(self) -> None:
        """A canvas drawn off the UI thread lost its size: compute and build it again."""
        self._computed = ()
        self.recompute()

    def awaits_layout(self) -> bool:
        """True while the view's plots have no size yet (just shown): a computation waits for
        the layout so its picture can be built off the UI thread at the right size."""
        return False

    def prebuild(self, result: R, context: Any) -> Any:  # runs in a thread
        """A picture for ``show`` (``self.prebuilt``), built with the result; None: none."""
        return None

    def set_text(self, selector: str, content: object) -> None:
        """Update a caption only when its text changed: an update re-lays out and repaints it."""
        from rich.text import Text
        from textual.widgets import Static

        widget = self.query_one(selector, Static)
        key = content.plain if isinstance(content, Text) else str(content)
        if getattr(widget, "_analysis_text", None) != key:
            widget._analysis_text = key  # type: ignore[attr-defined]
            widget.update(content)  # type: ignore[arg-type]

    # ----- the panel contract ----------------------------------------------------------

    def on_mount(self) -> None:
        self.border_title = self.TITLE
        self.recompute()

    def apply_changes(self, state: CampaignState, changes: ChangeSet, now: float) -> None:
        if changes.rows or changes.front or changes.metadata or changes.convergence:
            self._data_version += 1
            self.recompute()

    def filter_changed(self) -> None:
        self.recompute()

    on_show = filter_changed  # a hidden view catches up when shown

    @property
    def up_to_date(self) -> bool:
        return self._computed == self._key() and self._worker is None

    def _key(self) -> tuple[object, ...]:
        return (self._data_version, self.active_filter.generation, self.setting())

    def recompute(self) -> None:
        """Compute again if the data, the filter or the setting moved on (one worker at a time)."""
        if not self.is_mounted or not self.display or self._key() == self._computed:
            return
        if self._worker is not None:
            return  # the worker's end looks again
        wait = self._finished_at + self.MIN_SECONDS - time.monotonic()
        if wait > 0 and self._computed and self._computed[1:] == self._key()[1:]:
            if not self._retry_timer:
                self._retry_timer = True
                self.set_timer(wait, self._timer_fired)
            return
        if self.awaits_layout() and not self._awaited_layout:
            self._awaited_layout = True  # once: a view that never gets a size still computes
            self.call_after_refresh(self.recompute)
            return
        self._awaited_layout = False
        key = self._key()
        state = self.state
        mask = self.active_filter.mask(state)  # cached: the table reads the same one
        keep = None if mask is None else mask.copy()
        # The store's typed columns copied as bytes, here, so the worker never reads rows the
        # reducer is changing (a millisecond at 100k); the worker makes them columns.
        snapshot = Handoff(self.snapshot(state, keep))  # freed once the worker is done with it
        facts = _Snapshot(state)
        context = self.picture_context()
        self._worker = self.run_worker(
            lambda: self._compute_in_thread(key, facts, snapshot, keep, context),
            thread=True,
            exclusive=False,
            group=f"analysis-{self.id}",
            exit_on_error=False,
        )

    def _timer_fired(self) -> None:
        self._retry_timer = False
        self.recompute()

    def _compute_in_thread(
        self, key: tuple[object, ...], facts: _Snapshot, snapshot: Handoff[Any], keep: Any, context: Any
    ) -> None:
        prebuilt = None
        try:
            result = self.compute_snapshot(snapshot.take(), keep, facts)
            if context is not None and result is not None:
                prebuilt = self.prebuild(result, context)
        except (IndexError, KeyError, ValueError, RuntimeError):
            result = None  # e.g. a filter naming a column this campaign lacks: try again later
            key = ()
        self.app.call_from_thread(self._finished, key, result, prebuilt)

    def _finished(self, key: tuple[object, ...], result: R | None, prebuilt: Any = None) -> None:
        self._worker = None
        self._finished_at = time.monotonic()
        if key and result is not None:
            changed = result != self.result or key[2:] != self._computed[2:]  # new data, or setting
            self._computed = key
            self.result = result
            self.computations += 1
            if changed:  # the same picture again would cost its bytes for nothing
                self.prebuilt = prebuilt
                self.show(result)
                self.prebuilt = None
        self.recompute()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is self._worker and event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            self._worker = None


class _Snapshot:
    """The state's campaign-wide facts as the worker reads them (not the candidates),
    taken on the UI thread with the snapshot."""

    def __init__(self, state: CampaignState) -> None:
        self.campaign_id = state.campaign_id
        self.objectives = list(state.objectives)
        self.directions = dict(state.directions)
        self.metadata = state.metadata


def subset(columns: Any, keep: Any) -> Any:
    """The columns of the rows ``keep`` marks."""
    import numpy as np

    from materia_tui.state.columns import BlankIds, CandidateColumns, CategoryValues, StatusNames
    from materia_tui.state.id_list import IdList

    rows = np.flatnonzero(keep)
    listed = rows.tolist()

    def take(column: Any) -> Any:
        if isinstance(column, np.ndarray):
            return column[rows]
        if isinstance(column, StatusNames | CategoryValues):
            return column.take(rows)  # still codes
        return [column[i] for i in listed]

    return CandidateColumns(
        campaign_id=columns.campaign_id,
        ids=columns.ids.take(listed) if isinstance(columns.ids, IdList | BlankIds) else take(columns.ids),
        iteration=take(columns.iteration),
        status=take(columns.status),
        front=take(columns.front),
        feasible=take(columns.feasible),
        parameters={k: take(v) for k, v in columns.parameters.items()},
        objectives={k: take(v) for k, v in columns.objectives.items()},
        predicted={k: take(v) for k, v in columns.predicted.items()},
        uncertainty={k: take(v) for k, v in columns.uncertainty.items()},
        directions=columns.directions,
    )
