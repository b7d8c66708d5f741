""" "Parallel coordinates": one line per candidate across every parameter and objective.

Each axis is scaled to its own range (0 at the bottom, 1 at the top; a
categorical axis spaces its categories evenly, named under the axis). Measured
candidates are grey lines, the Pareto front cyan, drawn last so it stays on
top; at most ``MAX_LINES`` grey lines (an even sample) keep a paint cheap.

Keyboard brushing: ``j`` moves the selected axis (marked ``▸`` in the axis
names), ``b`` cycles a brush on it through its thirds (bottom, middle, top)
for a numeric axis or through its categories, then off. A brush becomes a
filter expression (``pore_size_nm>=0.8 and pore_size_nm<=1.4``, ``polymer=PA``)
applied through the view's ``/`` filter, so the table and every plot follow.
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

MAX_LINES = 150
MAX_FRONT_LINES = 150  # a front of thousands (many objectives) would cost seconds a build
THIRDS = ((0.0, 1 / 3), (1 / 3, 2 / 3), (2 / 3, 1.0))


@dataclass(frozen=True, slots=True)
class Axis:
    name: str
    low: float  # numeric axes: the range; categorical: 0 .. len(categories) - 1
    high: float
    categories: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ParallelResult:
    axes: list[Axis]
    lines: list[list[float]]  # each candidate's position on every axis, 0..1 (NaN: missing)
    front: list[list[float]]
    candidates: int


def _axis_of(column: Any, name: str, valid: Any = None) -> tuple[Axis, Any]:
    """The column's axis (scaled to every row) and which rows have a place on it; ``valid``
    (a bool per row, for a numeric column): the rows whose values count, the others none."""
    import numpy as np

    from materia_tui.state.columns import CategoryValues

    if isinstance(column, np.ndarray):
        finite = np.isfinite(column)
        if valid is not None:
            finite &= valid
        low, high = 0.0, 1.0
        if finite.any():
            low, high = (
                float(column.min(where=finite, initial=np.inf)),
                float(column.max(where=finite, initial=-np.inf)),
            )
        if not math.isfinite(high - low):  # (value - low) / span overflows: those rows have no place
            finite &= np.isfinite((column - low) / (high - low))
        return Axis(name, low, high), finite
    if isinstance(column, CategoryValues):
        places, names = column.positions()
        return Axis(name, 0.0, float(len(names) - 1), names), ~np.isnan(places)
    names = sorted({str(v) for v in column if v is not None})
    present = np.fromiter((v is not None for v in column), bool, len(column))
    return Axis(name, 0.0, float(len(names) - 1), names), present


def _positions(axis: Axis, column: Any, rows: Any) -> Any:
    """Where ``rows`` of ``column`` sit on ``axis``, 0..1 (NaN: no value)."""
    import numpy as np

    from materia_tui.state.columns import CategoryValues

    if not axis.categories:
        return (column[rows] - axis.low) / (axis.high - axis.low or 1.0)
    codes = {n: i for i, n in enumerate(axis.categories)}
    span = max(1, len(axis.categories) - 1)
    picked = column.take(rows) if isinstance(column, CategoryValues) else [column[i] for i in rows.tolist()]
    return np.fromiter((math.nan if v is None else codes[str(v)] / span for v in picked), float, len(rows))


def parallel_axes(
    parameters: Any, objectives: Any, keep: Any = None, measurements: Any = None
) -> tuple[list[Axis], Any]:
    """Every axis, scaled to every row, and the rows to draw: measured, with a place on
    every axis, and kept by ``keep`` (None: all). ``measurements`` (a bool per row): the
    rows whose objective values are measurements, where ``objectives`` are the store's
    own columns (None: NaN stands wherever they are not)."""
    import numpy as np

    axes: list[Axis] = []
    measured: Any = None
    columns = [(name, column, None) for name, column in parameters.items()]
    columns += [(name, column, measurements) for name, column in objectives.items()]
    for name, column, valid in columns:
        axis, present = _axis_of(column, name, valid)
        axes.append(axis)
        measured = present if measured is None else measured & present
    if objectives:  # (``CandidateColumns.measured``: a measured objective)
        measured &= np.logical_or.reduce([np.isfinite(v) for v in objectives.values()])
        if measurements is not None:
            measured &= measurements
    elif measured is not None:
        measured[:] = False
    if keep is not None and measured is not None:
        measured &= keep
    return axes, measured


def lines_to_draw(measured: Any, front: Any) -> tuple[Any, Any]:
    """(front rows, other rows): every measured front row, an even sample of the others."""
    import numpy as np

    front_rows = np.flatnonzero(measured & front)
    other = np.flatnonzero(measured & ~front)
    if len(other) > MAX_LINES:
        other = other[np.linspace(0, len(other) - 1, MAX_LINES).astype(np.int64)]
    return front_rows, other


def parallel_lines(axes: list[Axis], columns: list[Any], rows: Any) -> list[list[float]]:
    """Each of ``rows``' positions on every axis (``columns`` in the axes' order)."""
    import numpy as np

    placed = [_positions(axis, column, rows) for axis, column in zip(axes, columns, strict=True)]
    table: list[list[float]] = np.column_stack(placed).reshape(len(rows), len(axes)).tolist()
    return table


def parallel_of(columns: Any, keep: Any = None) -> ParallelResult:
    """Lines of the rows ``keep`` marks (None: all), on axes scaled to every row: a brush
    or a filter leaves the axes where they were, so brushing again means the same ranges."""
    axes, measured = parallel_axes(columns.parameters, columns.objectives, keep)
    if not axes:
        return ParallelResult([], [], [], 0)
    front_rows, other = lines_to_draw(measured, columns.front)
    every = [*columns.parameters.values(), *columns.objectives.values()]
    lines, front = parallel_lines(axes, every, other), parallel_lines(axes, every, front_rows)
    return ParallelResult(axes, lines, front, int(measured.sum()))


def _plan(live: Any, keep: Any) -> tuple[list[Axis], Any, Any, int]:
    """What ``parallel_of`` reads from every row: the axes, the rows to draw, the count; the
    objectives are the store's own columns, masked by the rows' status (no copy of them)."""
    import numpy as np

    axes, measured = parallel_axes(live.parameters, live.objectives, keep, live.measured)
    if not axes:
        return [], np.empty(0, np.intp), np.empty(0, np.intp), 0
    front_rows, other = lines_to_draw(measured, live.front)
    return axes, front_rows, other, int(measured.sum())


def brush_expression(axis: Axis, step: int) -> str | None:
    """The filter expression of brush ``step`` on ``axis`` (None: no brush)."""
    name = axis.name if axis.name.replace("_", "").isalnum() else '"' + axis.name.replace('"', '\\"') + '"'
    if axis.categories:
        if step >= len(axis.categories):
            return None
        category = axis.categories[step].replace('"', '\\"')
        return f'{name}="{category}"'
    if step >= len(THIRDS):
        return None
    low, high = THIRDS[step]
    span = axis.high - axis.low
    return f"{name}>={axis.low + low * span:.6g} and {name}<={axis.low + high * span:.6g}"


class ParallelView(AnalysisView[ParallelResult]):
    TITLE: ClassVar[str] = "Parallel coordinates"
    # Its dense picture costs ~2x a scatter's bytes, and one more batch barely moves it.
    MIN_SECONDS: ClassVar[float] = 4.0
    DEFAULT_CSS: ClassVar[str] = """
    ParallelView {
        height: 1fr;
    }
    ParallelView > #parallel-caption {
        height: auto;
        padding: 0 1;
    }
    ParallelView > #parallel-canvas {
        height: 1fr;
        min-height: 5;
    }
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.axis_index = 0
        self.brush_step = -1  # -1: no brush on the selected axis
        self.brush: str | None = None  # the expression the brush applied

    def compose(self) -> ComposeResult:
        yield Static("", id="parallel-caption", markup=False)
        yield PlotCanvas(id="parallel-canvas")

    def setting(self) -> object:
        return self.axis_index

    def cycle(self) -> None:
        """Select the next axis for brushing."""
        self.axis_index += 1
        self.brush_step = -1
        if self.result is not None:
            self.show_caption(self.result)
        self.recompute()  # the picture marks the selected axis: drawn off the UI thread

    def next_brush(self) -> str | None:
        """Move the brush on the selected axis; the expression to apply (None: clear it)."""
        if self.result is None or not self.result.axes:
            return None
        axis = self.result.axes[self.axis_index % len(self.result.axes)]
        self.brush_step += 1
        expression = brush_expression(axis, self.brush_step)
        if expression is None:
            self.brush_step = -1
        self.brush = expression
        return expression

    def snapshot(self, state: Any, keep: Any) -> Any:
        """The axes' ranges and the rows to draw read here, off the store's own columns (no
        copy: at a million candidates every column would be ~75 MB), then only the rows
        drawn copied; a parameter of Python values (not numbers or text): every column."""
        import numpy as np

        from materia_tui.state.columns import snapshot_columns
        from materia_tui.state.live_columns import read_live

        plan = read_live(state, lambda live: _plan(live, keep))
        if plan is None:
            return None, snapshot_columns(state, ids=False, predictions=False)
        axes, front_rows, other, count = plan
        picked = np.union1d(front_rows, other)
        copied = snapshot_columns(state, ids=False, predictions=False, picked=picked)
        return (axes, np.searchsorted(picked, other), np.searchsorted(picked, front_rows), count), copied

    def compute_snapshot(self, snapshot: Any, keep: Any, state: Any) -> ParallelResult:
        plan, copied = snapshot
        if plan is None:
            return self.compute_filtered(copied.columns(), keep, state)
        axes, other, front_rows, count = plan
        if not axes:
            return ParallelResult([], [], [], 0)
        columns = copied.columns()
        every = [*columns.parameters.values(), *columns.objectives.values()]
        return ParallelResult(
            axes, parallel_lines(axes, every, other), parallel_lines(axes, every, front_rows), count
        )

    def compute(self, columns: Any, state: Any) -> ParallelResult:
        return parallel_of(columns)

    def compute_filtered(self, columns: Any, keep: Any, state: Any) -> ParallelResult:
        return parallel_of(columns, keep)

    def on_mount(self) -> None:
        # (Textual runs AnalysisView.on_mount too: a handler per class.)
        self.query_one(PlotCanvas).request_picture = self.picture_wanted

    def awaits_layout(self) -> bool:
        return not self.query_one(PlotCanvas).size.area

    def picture_context(self) -> Any:
        canvas = self.query_one(PlotCanvas)
        return canvas.build_context() if canvas.size.area else None  # not laid out yet: ``show`` draws

    def prebuild(self, result: ParallelResult, context: Any) -> Any:
        from materia_tui.ui.widgets.plot_canvas import prebuild

        selected = self.axis_index
        return prebuild(context, lambda plt: draw_lines(plt, result, selected, context.width))

    def show(self, result: ParallelResult) -> None:
        canvas = self.query_one(PlotCanvas)
        if not result.axes:
            canvas.plt.clear_data()
            self.set_text("#parallel-caption", "no parameters or objectives yet")
            canvas.invalidate()
            return
        self.show_caption(result)
        if canvas.fits(self.prebuilt):
            canvas.adopt(self.prebuilt)  # drawn and built in the worker: hundreds of lines cost ~0.4 s
        else:
            canvas.plt.clear_data()
            draw_lines(canvas.plt, result, self.axis_index, canvas.size.width)
            canvas.invalidate()

    def show_caption(self, result: ParallelResult) -> None:
        if not result.axes:
            return
        axis = result.axes[self.axis_index % len(result.axes)]
        brush = f" · brush: {clean(self.brush, 40)}" if self.brush else ""
        drawn = len(result.lines) + len(result.front)
        measured = f"{result.candidates:,}" + (f" ({drawn:,} drawn)" if drawn < result.candidates else "")
        self.set_text(
            "#parallel-caption",
            f"{measured} measured · {len(result.front):,} on front · axis ▸{clean(axis.name, 20)}"
            f" (j: next, b: brush){brush}",
        )


def draw_lines(plt: Any, result: ParallelResult, axis_index: int, width: int) -> None:
    """The axes and one line per candidate, the front on top, on ``plt`` (a plotext figure)."""
    selected = axis_index % len(result.axes)
    xs = list(range(len(result.axes)))
    # Names short enough not to collide: plotext drops colliding tick labels, and which
    # one it drops varies from run to run.
    room = max(3, min(12, (width - 10) // len(result.axes) - 2))
    labels = [("▸" if i == selected else "") + clean(a.name, room) for i, a in enumerate(result.axes)]
    plt.xticks(xs, labels)
    plt.xlim(-0.25, len(xs) - 0.75)  # room for the outer axes' names (plotext drops a label at the edge)
    plt.yticks([0, 1], ["low", "high"])
    plt.ylim(0, 1)
    for line in result.lines:
        plt.plot(xs, line, marker="braille", color="gray")
    for line in result.front[:MAX_FRONT_LINES]:
        plt.plot(xs, line, marker="braille", color="cyan")
