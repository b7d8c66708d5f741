""" "Compare": several campaigns' convergence and Pareto fronts overlaid (``watch A B --compare``).

Left: per campaign, the hypervolume of its measured feasible front after each
iteration (the objectives all campaigns share, two or more) or the best
value so far (one shared objective), aligned by iteration number. The
hypervolumes use one common reference point (``reference_point``'s rule over
every campaign's measured feasible values), so the curves are comparable;
each campaign's own automatic reference would make them incomparable. Right:
each campaign's measured feasible Pareto front in the first two shared
objectives. One colour and one legend entry per campaign.

Computed in a thread worker from each campaign's ``candidate_columns``, at
most every ``MIN_SECONDS`` while data streams in.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static
from textual.worker import Worker

from materia_tui.sanitize import clean
from materia_tui.state import CampaignState
from materia_tui.ui.widgets.plot_canvas import PlotCanvas

COLOURS = ("cyan", "orange", "green", "magenta", "yellow", "blue", "red")
MIN_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class CampaignCurve:
    campaign_id: str
    colour: str
    iterations: list[int]
    values: list[float]
    front: tuple[list[float], list[float]]  # in the first two shared objectives


@dataclass(frozen=True, slots=True)
class Comparison:
    objectives: tuple[str, ...]  # shared by every campaign
    kind: str  # "hypervolume" or "best"
    reference: tuple[float, ...] | None
    curves: tuple[CampaignCurve, ...]


def compare(states: Sequence[tuple[str, Any]]) -> Comparison:
    """The comparison of ``(campaign_id, state)`` pairs (states, or snapshots of them).
    One campaign's table of values at a time: at a million candidates each copy of one
    is 16 MB, and stacking every campaign's took the worker to ~175 MB."""
    import numpy as np

    from materia_tui.insight.front import pareto_front
    from materia_tui.insight.hypervolume import hypervolume_trace, reference_point

    columns = [
        (cid, state.columns if isinstance(state, _Snapshot) else measurement_columns(state))
        for cid, state in states
    ]
    shared = [
        n for n in (columns[0][1].objectives if columns else {}) if all(n in c.objectives for _, c in columns)
    ]
    if not shared:
        return Comparison((), "best", None, ())
    directions = [columns[0][1].directions[n] for n in shared]
    reference = None
    if len(shared) > 1:  # the point reads each objective's extremes: those of every campaign will do
        reference = reference_point(np.concatenate([_extremes(c, shared) for _, c in columns]), directions)
    curves = []
    for index, (cid, c) in enumerate(columns):
        table = np.column_stack([c.objectives[n] for n in shared]) if len(c) else np.empty((0, len(shared)))
        known = np.isfinite(c.iteration)
        rows = slice(None) if known.all() else known
        trace = hypervolume_trace(
            c.iteration[rows].astype(np.int64), table[rows], directions, c.feasible[rows], reference=reference
        )
        points = [p for p in trace.points if p.value is not None]
        front: tuple[list[float], list[float]] = ([], [])
        if len(shared) > 1:
            measured = table[c.feasible & np.isfinite(table[:, :2]).all(axis=1), :2]
            if len(measured):
                on_front = measured[pareto_front(measured, directions[:2])]
                on_front = on_front[np.argsort(on_front[:, 0])]
                front = (on_front[:, 0].tolist(), on_front[:, 1].tolist())
        del table
        curves.append(
            CampaignCurve(
                cid,
                COLOURS[index % len(COLOURS)],
                [p.iteration for p in points],
                [float(p.value) for p in points if p.value is not None],
                front,
            )
        )
    kind = "hypervolume" if len(shared) > 1 else "best"
    return Comparison(tuple(shared), kind, reference, tuple(curves))


def _extremes(columns: Any, names: list[str]) -> Any:
    """Each objective's lowest and highest value over the feasible rows measured in every one
    of ``names``: two rows (none without such a row), which ``reference_point`` turns into
    the same point as every such row would."""
    import numpy as np

    complete = columns.feasible.copy()
    for name in names:
        complete &= ~np.isnan(columns.objectives[name])
    if not complete.any():
        return np.empty((0, len(names)))
    lowest = [np.min(columns.objectives[n], where=complete, initial=np.inf) for n in names]
    highest = [np.max(columns.objectives[n], where=complete, initial=-np.inf) for n in names]
    return np.array([lowest, highest], dtype=np.float64)


def measurement_columns(state: Any) -> Any:
    """What ``compare`` reads of a campaign, copied: the measurements and the row facts (no
    ids, parameters or predictions: at a million candidates those were ~200 MB more)."""
    from materia_tui.state.columns import snapshot_columns

    return snapshot_columns(state, parameters=False, ids=False, predictions=False).columns()


class _Snapshot:
    """A campaign as the worker reads it: a copy of its columns, taken on the UI thread."""

    def __init__(self, state: CampaignState) -> None:
        self.campaign_id = state.campaign_id
        self.columns = measurement_columns(state)
        self.objectives = list(state.objectives)
        self.directions = dict(state.directions)
        self.metadata = state.metadata


class CompareView(Vertical, can_focus=True):  # focusable: focus keeps its tab on screen
    DEFAULT_CSS: ClassVar[str] = """
    CompareView {
        height: 1fr;
    }
    CompareView > #compare-caption {
        height: auto;
        padding: 0 1;
    }
    CompareView > Horizontal {
        height: 1fr;
    }
    CompareView PlotCanvas {
        width: 1fr;
        height: 1fr;
    }
    """

    def __init__(self, states: Sequence[CampaignState], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.states = list(states)
        self.result: Comparison | None = None
        self._version = 0
        self._computed = -1
        self._worker: Worker[Any] | None = None
        self._finished_at = 0.0
        self._timer = False

    def compose(self) -> ComposeResult:
        yield Static("", id="compare-caption", markup=False)
        with Horizontal():
            yield PlotCanvas(id="compare-curves")
            yield PlotCanvas(id="compare-fronts")

    def on_mount(self) -> None:
        self.border_title = "Compare"
        self.note()

    def add_state(self, state: CampaignState) -> None:
        """A campaign opened later (the picker, a new tab) joins the overlay."""
        if all(known is not state for known in self.states):
            self.states.append(state)
            self.note()

    def on_show(self) -> None:
        self.recompute()

    @property
    def up_to_date(self) -> bool:
        return self._computed == self._version and self._worker is None

    def note(self) -> None:
        """Some campaign changed: recompute (throttled, only while shown)."""
        self._version += 1
        self.recompute()

    def recompute(self) -> None:
        if (
            not self.is_mounted
            or not self.display
            or self._worker is not None
            or self._computed == self._version
        ):
            return
        wait = self._finished_at + MIN_SECONDS - time.monotonic()
        if wait > 0 and self._computed >= 0:
            if not self._timer:
                self._timer = True
                self.set_timer(wait, self._fire)
            return
        version = self._version
        snapshots = [(s.campaign_id, _Snapshot(s)) for s in self.states]
        self._worker = self.run_worker(
            lambda: self._work(version, snapshots), thread=True, exit_on_error=False
        )

    def _fire(self) -> None:
        self._timer = False
        self.recompute()

    def _work(self, version: int, snapshots: list[tuple[str, _Snapshot]]) -> None:
        try:
            result: Comparison | None = compare(snapshots)
        except (IndexError, KeyError, ValueError, RuntimeError):
            result = None  # a torn read of records being updated: the next pass retries
        self.app.call_from_thread(self._finished, version, result)

    def _finished(self, version: int, result: Comparison | None) -> None:
        self._worker = None
        self._finished_at = time.monotonic()
        if result is not None:
            self._computed = version
            self.result = result
            self._show(result)
        self.recompute()

    def _show(self, result: Comparison) -> None:
        caption = self.query_one("#compare-caption", Static)
        curves_canvas = self.query_one("#compare-curves", PlotCanvas)
        fronts_canvas = self.query_one("#compare-fronts", PlotCanvas)
        for canvas in (curves_canvas, fronts_canvas):
            canvas.plt.clear_data()
        if not result.curves:
            caption.update("the campaigns share no objective")
        else:
            names = ", ".join(clean(n, 20) for n in result.objectives)
            ref = (
                " · common reference " + ", ".join(f"{v:.4g}" for v in result.reference)
                if result.reference is not None
                else ""
            )
            caption.update(f"{len(result.curves)} campaigns · shared objectives: {names}{ref}")
            plt = curves_canvas.plt
            what = (
                "hypervolume" if result.kind == "hypervolume" else f"best {clean(result.objectives[0], 20)}"
            )
            plt.title(f"y: {what}")
            plt.xlabel("x: iteration")
            for curve in result.curves:
                if curve.iterations:
                    plt.plot(curve.iterations, curve.values, marker="braille", color=curve.colour,
                             label=clean(curve.campaign_id, 20))  # fmt: skip
            if len(result.objectives) > 1:
                plt = fronts_canvas.plt
                plt.title(f"y: {clean(result.objectives[1], 20)}")
                plt.xlabel(f"x: {clean(result.objectives[0], 20)}")
                for curve in result.curves:
                    if curve.front[0]:
                        plt.plot(*curve.front, marker="braille", color=curve.colour,
                                 label=clean(curve.campaign_id, 20))  # fmt: skip
        curves_canvas.invalidate()
        fronts_canvas.invalidate()
