"""Best value per iteration as a one-style text sparkline, with first/last/best
labels, the latest convergence metric and a CONVERGED marker.

The series is the reducer's best of the primary objective as each iteration
completed (``state.best_by_iteration``), under that objective's name. Only when
no value of an objective is known does it plot the backend's ``best_value``
from ``iteration_completed``, labelled as such: that number may be a
hypervolume or a scalarized score, not the objective.

A plain one-style sparkline (rather than Textual's per-cell-coloured Sparkline)
writes several times fewer bytes per update, which matters over SSH.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text

from materia_tui.sanitize import clean
from materia_tui.state import CampaignState
from materia_tui.state.changes import ChangeSet
from materia_tui.ui import format as fmt
from materia_tui.ui.panel import Cadence
from materia_tui.ui.widgets.text_panel import TextPanel

BLOCKS = "▁▂▃▄▅▆▇█"
NO_HISTORY: list[tuple[int, float]] = []  # one object, never filled: its id keys "nothing yet"


def sparkline(values: Sequence[float], width: int, bounds: tuple[float, float] | None = None) -> str:
    """``values`` stretched or squeezed to exactly ``width`` cells.

    With fewer values than cells each value gets a proportional run of cells
    (3 values in 10 cells: 4, 3, 3); with more, each cell shows its bucket's
    last value. One string, drawn in one style: few bytes per update.
    ``bounds`` (low, high) saves a pass over a long history whose range is known.
    """
    if not values or width <= 0:
        return ""
    count = len(values)
    if count > width:  # the last value of each cell's bucket
        picked = [values[min(count - 1, -(-(cell + 1) * count // width) - 1)] for cell in range(width)]
    else:  # the value whose run covers the cell
        picked = [values[(cell * count) // width] for cell in range(width)]
    low, high = bounds if bounds is not None else (min(values), max(values))
    span = high - low
    if span <= 0:
        return BLOCKS[len(BLOCKS) // 2] * width
    top = len(BLOCKS) - 1
    return "".join(BLOCKS[round((v - low) / span * top)] for v in picked)


class ConvergencePanel(TextPanel):
    cadence: ClassVar[Cadence] = "small"

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._state: CampaignState | None = None
        self._synced_key: tuple[object, ...] | None = None
        self._range = RunningRange()

    def on_resize(self) -> None:
        if self._state is not None:  # the sparkline spans the panel: redraw at the new width
            self._show(self._state)

    def apply_changes(self, state: CampaignState, changes: ChangeSet, now: float) -> None:
        self._show(state)

    def _show(self, state: CampaignState) -> None:
        self._state = state
        # Everything shown depends on these; the history only grows, so its
        # length stands for its content. Skipping here keeps a refresh O(1).
        primary = state.objectives[0] if state.objectives else None
        history = state.best_by_iteration.get(primary, NO_HISTORY) if primary else NO_HISTORY
        label = f"best {clean(primary, 24)}" if primary else "best value"
        if not history and state.best_history:
            history, label = state.best_history, "backend best_value"
        key = (
            id(history),
            len(history),
            len(state.convergence),
            state.converged_at,
            label,
            self.content_size.width,
        )
        if key == self._synced_key:
            return
        self._synced_key = key
        width = max(8, self.content_size.width or 40)
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{label} per iteration\n")
        if history:
            low, high = self._range.of(history)
            text.append(sparkline(last_per_cell(history, width), width, (low, high)), "bold")
            minimize = label != "backend best_value" and state.directions.get(primary or "") == "minimize"
            text.append(
                f"\nfirst {fmt.number(history[0][1])}  last {fmt.number(history[-1][1])}"
                f"  best {fmt.number(low if minimize else high)}"
            )
        else:
            text.append("(no completed iteration yet)", "dim")
        text.append("\nconvergence ")
        if state.convergence:
            text.append(fmt.number(state.convergence[-1].metric))
        else:
            text.append("-")
        if state.converged_at is not None:
            text.append("\n")
            text.append(f" ✔ CONVERGED at iteration {state.converged_at} ", "bold reverse")
        self.show(text)


class RunningRange:
    """(min, max) of a growing history, folding in only what arrived since the last
    call: a refresh must not cost more as the campaign grows."""

    def __init__(self) -> None:
        self._history: list[tuple[int, float]] | None = None
        self._scanned = 0  # entries of that history folded into the range below
        self._low = self._high = 0.0

    def of(self, history: list[tuple[int, float]]) -> tuple[float, float]:
        if history is not self._history or len(history) < self._scanned:
            self._history, self._scanned = history, 0
        if self._scanned == 0:
            self._low = self._high = history[0][1]
        for _, value in history[self._scanned :]:
            if value < self._low:
                self._low = value
            elif value > self._high:
                self._high = value
        self._scanned = len(history)
        return self._low, self._high


def last_per_cell(history: Sequence[tuple[int, float]], width: int) -> list[float]:
    """The value ``sparkline`` shows in each cell, picked without copying the history."""
    count = len(history)
    if count <= width:
        return [value for _, value in history]
    return [history[min(count - 1, -(-(cell + 1) * count // width) - 1)][1] for cell in range(width)]
