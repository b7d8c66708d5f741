""" "Slice plots": one objective against one parameter, as a braille scatter.

Measured feasible points are grey dots, infeasible ones orange ``x``, the
Pareto front cyan ``◆``; candidates still waiting for a measurement show the
surrogate's prediction ± uncertainty as magenta error bars. A categorical
parameter is an axis of its categories (ticks named). One (parameter,
objective) pair at a time; ``cycle()`` (the ``j`` key) moves through every
parameter, then to the next objective. Small multiples on large terminals are
not built yet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.widgets import Static

from materia_tui.sanitize import clean
from materia_tui.ui.widgets.analysis_view import AnalysisView
from materia_tui.ui.widgets.plot_canvas import PlotCanvas

MAX_POINTS = 4000  # per series: a slice is a picture, thinned evenly beyond this
Series = tuple[list[float], list[float]]


@dataclass(frozen=True, slots=True)
class SliceResult:
    parameter: str | None
    objective: str | None
    position: str  # "(2/4)": which pair of how many
    measured: Series = ([], [])
    infeasible: Series = ([], [])
    front: Series = ([], [])
    predicted: tuple[list[float], list[float], list[float]] = ([], [], [])
    categories: list[str] = field(default_factory=list)  # ticks of a categorical axis


def _thin(indices: Any) -> Any:
    import numpy as np

    if len(indices) <= MAX_POINTS:
        return indices
    return indices[np.linspace(0, len(indices) - 1, MAX_POINTS).astype(np.int64)]


def _axis(column: Any) -> tuple[Any, list[str]]:
    """Numbers for the x axis: the values, or category codes (with their names)."""
    import numpy as np

    if isinstance(column, np.ndarray):
        return column, []
    names = sorted({str(v) for v in column if v is not None})
    codes = {name: float(i) for i, name in enumerate(names)}
    return np.array([math.nan if v is None else codes[str(v)] for v in column]), names


def slice_of(columns: Any, index: int) -> SliceResult:
    import numpy as np

    parameters, objectives = list(columns.parameters), list(columns.objectives)
    pairs = [(p, o) for o in objectives for p in parameters]
    if not pairs:
        return SliceResult(None, None, "")
    parameter, objective = pairs[index % len(pairs)]
    position = f"({index % len(pairs) + 1}/{len(pairs)})"
    x, categories = _axis(columns.parameters[parameter])
    y = columns.objectives[objective]
    known = np.isfinite(x)
    measured = known & np.isfinite(y)
    feasible = measured & columns.feasible

    def series(mask: Any) -> Series:
        rows = _thin(np.flatnonzero(mask))
        return x[rows].tolist(), y[rows].tolist()

    predicted: tuple[list[float], list[float], list[float]] = ([], [], [])
    mean = columns.predicted.get(objective)
    sigma = columns.uncertainty.get(objective)
    if mean is not None:
        waiting = known & ~measured & np.isfinite(mean)
        rows = _thin(np.flatnonzero(waiting))
        sigmas = sigma[rows] if sigma is not None else np.zeros(len(rows))
        predicted = (x[rows].tolist(), mean[rows].tolist(), np.nan_to_num(sigmas).tolist())
    return SliceResult(
        parameter,
        objective,
        position,
        measured=series(feasible & ~columns.front),
        infeasible=series(measured & ~columns.feasible),
        front=series(feasible & columns.front),
        predicted=predicted,
        categories=categories,
    )


class SliceView(AnalysisView[SliceResult]):
    TITLE: ClassVar[str] = "Slice plots"
    DEFAULT_CSS: ClassVar[str] = """
    SliceView {
        height: 1fr;
    }
    SliceView > #slice-caption {
        height: auto;
        padding: 0 1;
    }
    SliceView > #slice-canvas {
        height: 1fr;
        min-height: 5;
    }
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.index = 0

    def compose(self) -> ComposeResult:
        yield Static("", id="slice-caption", markup=False)
        yield PlotCanvas(id="slice-canvas")

    def setting(self) -> object:
        return self.index

    def cycle(self) -> None:
        """The next parameter (after the last one, the next objective)."""
        self.index += 1
        self.recompute()

    def compute(self, columns: Any, state: Any) -> SliceResult:
        return slice_of(columns, self.index)

    def show(self, result: SliceResult) -> None:
        canvas = self.query_one(PlotCanvas)
        plt = canvas.plt
        plt.clear_data()
        if result.parameter is None or result.objective is None:
            self.set_text("#slice-caption", "no parameters or objectives yet")
            canvas.invalidate()
            return
        parameter, objective = clean(result.parameter, 24), clean(result.objective, 24)
        counts = len(result.measured[0]) + len(result.front[0])
        self.set_text(
            "#slice-caption",
            f"{objective} vs {parameter} {result.position} · {counts} measured · "
            f"{len(result.predicted[0])} predicted ±sigma · j: next",
        )
        plt.xlabel(f"x: {parameter}")
        plt.title(f"y: {objective}")
        if result.categories:
            plt.xticks(list(range(len(result.categories))), [clean(c, 10) for c in result.categories])
        if result.predicted[0]:
            xs, ys, sigmas = result.predicted
            plt.error(xs, ys, yerr=sigmas, color="magenta")
        if result.measured[0]:
            plt.scatter(*result.measured, marker="dot", color="gray")
        if result.infeasible[0]:
            plt.scatter(*result.infeasible, marker="x", color="orange")
        if result.front[0]:
            plt.scatter(*result.front, marker="◆", color="cyan")
        canvas.invalidate()
