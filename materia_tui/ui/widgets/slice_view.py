""" "Slice plots": one objective against one parameter, as a braille scatter.

Measured feasible points are grey dots, infeasible ones orange ``x``, the
Pareto front cyan ``◆``; candidates still waiting for a measurement show the
surrogate's prediction ± uncertainty as magenta error bars. A categorical
parameter is an axis of its categories (ticks named). One (parameter,
objective) pair at a time on terminals below 160x48; from 160x48 on, small
multiples: a grid of tiles (``SMALL_MULTIPLES_MIN``: up to ``MAX_TILES``, each
at least ``TILE_MIN`` cells), the objective against the next parameters at
once. ``cycle()`` (the ``j`` key) moves through every parameter, then to the
next objective. The tiles' points are read off the store's columns in place on the
UI thread (``live_slices``: masks and a thinned sample, ~5 ms a tile at a million
candidates, no column copied); every tile is drawn and built in the worker
(``prebuild``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Static

from materia_tui.sanitize import clean
from materia_tui.ui.widgets.analysis_view import AnalysisView, subset
from materia_tui.ui.widgets.plot_canvas import PlotCanvas

MAX_POINTS = 4000  # per series: a slice is a picture, thinned evenly beyond this
SMALL_MULTIPLES_MIN = (160, 48)  # the terminal size from which tiles show several parameters
MAX_TILES = 6
TILE_MIN = (36, 12)  # a tile's smallest width and height, in cells
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
    # Before thinning: the feasible measured points (``measured`` and ``front``) and the
    # candidates waiting with a prediction (``predicted``).
    measured_count: int = 0
    waiting_count: int = 0


@dataclass(frozen=True, slots=True)
class SliceTiles:
    """The slices shown at once (one below ``SMALL_MULTIPLES_MIN``); the first one's fields
    are the view's own (``result.parameter`` is the first tile's parameter)."""

    tiles: tuple[SliceResult, ...]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.tiles[0], name)


def tile_grid(terminal: tuple[int, int], room: tuple[int, int], pairs: int) -> tuple[int, int]:
    """(columns, rows) of tiles for a view of ``room`` cells on a ``terminal``: one tile
    below ``SMALL_MULTIPLES_MIN``, else as many as fit (at most ``MAX_TILES`` and ``pairs``)."""
    if terminal[0] < SMALL_MULTIPLES_MIN[0] or terminal[1] < SMALL_MULTIPLES_MIN[1] or pairs <= 1:
        return 1, 1
    columns = max(1, min(3, room[0] // TILE_MIN[0]))
    rows = max(1, min(3, room[1] // TILE_MIN[1]))
    while columns * rows > min(MAX_TILES, pairs) and rows > 1:
        rows -= 1
    while columns * rows > min(MAX_TILES, pairs) and columns > 1:
        columns -= 1
    return columns, rows


def _thin(indices: Any) -> Any:
    import numpy as np

    if len(indices) <= MAX_POINTS:
        return indices
    return indices[np.linspace(0, len(indices) - 1, MAX_POINTS).astype(np.int64)]


def _axis(column: Any) -> tuple[Any, list[str]]:
    """Numbers for the x axis: the values, or category codes (with their names)."""
    import numpy as np

    from materia_tui.state.columns import CategoryValues

    if isinstance(column, np.ndarray):
        return column, []
    if isinstance(column, CategoryValues):
        return column.positions()
    names = sorted({str(v) for v in column if v is not None})
    codes = {name: float(i) for i, name in enumerate(names)}
    return np.fromiter((math.nan if v is None else codes[str(v)] for v in column), float, len(column)), names


def _counted(count: int, *drawn: tuple[list[float], ...]) -> str:
    """``count`` points, and how many of them are drawn when a sample is: "200,000 (4,007 drawn)"."""
    shown = sum(len(series[0]) for series in drawn)
    return f"{count:,}" if shown >= count else f"{count:,} ({shown:,} drawn)"


def slice_pairs(parameters: list[str], objectives: list[str]) -> list[tuple[str, str]]:
    """Every (parameter, objective) pair, in the order ``cycle`` moves through them."""
    return [(p, o) for o in objectives for p in parameters]


def slice_of(columns: Any, index: int, parameters: list[str] | None = None) -> SliceResult:
    """Slice ``index`` of every pair of ``parameters`` (default: the columns' own) and
    objectives; ``columns`` need hold only that pair's parameter."""
    names = list(columns.parameters) if parameters is None else parameters
    pair = _pair(names, list(columns.objectives), index)
    if pair is None:
        return SliceResult(None, None, "")
    parameter, objective, position = pair
    x, categories = _axis(columns.parameters[parameter])
    rows = SliceRows(columns.objectives[objective], columns.feasible, columns.front)
    return rows.slice(parameter, objective, position, x, categories, columns, None)


def _pair(parameters: list[str], objectives: list[str], index: int) -> tuple[str, str, str] | None:
    """Tile ``index``'s (parameter, objective, "(k/n)"); None when there is no pair."""
    pairs = slice_pairs(parameters, objectives)
    if not pairs:
        return None
    parameter, objective = pairs[index % len(pairs)]
    return parameter, objective, f"({index % len(pairs) + 1}/{len(pairs)})"


@dataclass(frozen=True, slots=True)
class SliceRows:
    """One objective's measured values with the rows' feasibility and front flags: what
    every tile of that objective reads beside its parameter."""

    y: Any
    feasible: Any
    front: Any
    measured: Any = None  # a bool per row where ``y`` may hold values of unmeasured rows

    def slice(
        self, parameter: str, objective: str, position: str, x: Any, categories: list[str], columns: Any,
        kept: Any,
    ) -> SliceResult:  # fmt: skip
        """The tile's series, each thinned to ``MAX_POINTS``; ``kept`` (a bool per row, or
        None): only those rows, as if the columns held no others."""
        import numpy as np

        y = self.y
        known = np.isfinite(x)
        if kept is not None:
            known &= kept
        measured = known & np.isfinite(y)
        if self.measured is not None:
            measured &= self.measured
        feasible = measured & self.feasible

        def series(mask: Any) -> Series:
            rows = _thin(np.flatnonzero(mask))
            return x[rows].tolist(), y[rows].tolist()

        predicted: tuple[list[float], list[float], list[float]] = ([], [], [])
        mean = columns.predicted.get(objective)
        sigma = columns.uncertainty.get(objective)
        waiting_count = 0
        if mean is not None:
            waiting = known & ~measured & np.isfinite(mean)
            waiting_count = int(np.count_nonzero(waiting))
            rows = _thin(np.flatnonzero(waiting))
            sigmas = sigma[rows] if sigma is not None else np.zeros(len(rows))
            predicted = (x[rows].tolist(), mean[rows].tolist(), np.nan_to_num(sigmas).tolist())
        return SliceResult(
            parameter,
            objective,
            position,
            measured=series(feasible & ~self.front),
            infeasible=series(measured & ~self.feasible),
            front=series(feasible & self.front),
            predicted=predicted,
            categories=categories,
            measured_count=int(np.count_nonzero(feasible)),
            waiting_count=waiting_count,
        )


def live_slices(state: Any, tiles: range, keep: Any) -> SliceTiles | None:
    """``slice_of`` of each tile, read off the store's own columns in place (no copy of
    a column: at a million candidates the tiles' columns were ~50 MB), on the thread
    that folds events; only the thinned points are kept. ``keep``: the ``/`` filter's
    mask. None when a parameter holds Python values: those are read from a copy."""
    import numpy as np

    from materia_tui.state.columns import EVALUATED, parameter_names
    from materia_tui.state.live_columns import LiveColumns, read_live

    names = parameter_names(state)
    count = len(state.store)

    def read(live: LiveColumns) -> SliceTiles:
        kept = None
        if keep is not None:
            kept = np.zeros(count, dtype=bool)
            matched = keep[:count]
            kept[: len(matched)] = matched
        feasible = np.frombuffer(state.store.status, dtype=np.int8, count=count) == EVALUATED
        by_objective: dict[str, SliceRows] = {}
        tiles_read: list[SliceResult] = []
        for index in tiles:
            pair = _pair(names, list(state.objectives), index)
            if pair is None:
                tiles_read.append(SliceResult(None, None, ""))
                continue
            parameter, objective, position = pair
            rows = by_objective.get(objective)
            if rows is None:
                y = live.objectives[objective]  # in place: masked by ``live.measured``, not copied
                rows = by_objective[objective] = SliceRows(y, feasible, live.front, live.measured)
            x, categories = _live_axis(live.parameters[parameter], kept)
            tiles_read.append(rows.slice(parameter, objective, position, x, categories, live, kept))
        return SliceTiles(tuple(tiles_read))

    return read_live(state, read, predictions=True)


def _live_axis(column: Any, kept: Any) -> tuple[Any, list[str]]:
    """``_axis`` of every row, a categorical axis naming the categories of the ``kept``
    rows only (as ``_axis`` of those rows alone would)."""
    import numpy as np

    from materia_tui.state.columns import CategoryValues

    if isinstance(column, CategoryValues):
        present = column if kept is None else column.take(np.flatnonzero(kept))
        names = present.names_present()
        return column.places(names), names
    return _axis(column)


class SliceView(AnalysisView[SliceTiles]):
    TITLE: ClassVar[str] = "Slice plots"
    DEFAULT_CSS: ClassVar[str] = """
    SliceView {
        height: 1fr;
    }
    SliceView > #slice-caption {
        height: auto;
        padding: 0 1;
    }
    SliceView > #slice-grid {
        height: 1fr;
        min-height: 5;
        grid-size: 1 1;
    }
    SliceView PlotCanvas {
        height: 1fr;
        width: 1fr;
    }
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.index = 0
        self.grid = (1, 1)  # (columns, rows) of tiles laid out
        self._grid = (1, 1)  # (columns, rows) of tiles the next computation makes

    def compose(self) -> ComposeResult:
        yield Static("", id="slice-caption", markup=False)
        with Grid(id="slice-grid"):
            for k in range(MAX_TILES):
                yield PlotCanvas(id="slice-canvas" if k == 0 else f"slice-canvas-{k}")

    def on_mount(self) -> None:
        # (Textual runs AnalysisView.on_mount too: a handler per class.)
        for canvas in self.canvases:
            canvas.request_picture = self.picture_wanted

    def on_resize(self) -> None:
        self.recompute()

    def setting(self) -> object:
        return (self.index, self._grid_for_size())

    def _grid_for_size(self) -> tuple[int, int]:
        pairs = len(self.state.objectives) * max(1, len(self.state.store.parameter_names()))
        app_size = self.app.size if self.is_attached else None
        terminal = (app_size.width, app_size.height) if app_size is not None else (0, 0)
        return tile_grid(terminal, (self.size.width, self.size.height - 2), pairs)

    def cycle(self) -> None:
        """The next parameter (after the last one, the next objective)."""
        self.index += 1
        self.recompute()

    @property
    def canvases(self) -> list[PlotCanvas]:
        return list(self.query_one("#slice-grid").query(PlotCanvas))

    def _tiles(self) -> range:
        columns_count, rows = self._grid
        return range(self.index, self.index + columns_count * rows)

    def snapshot(self, state: Any, keep: Any) -> Any:
        """The tiles themselves, read off the store in place (``live_slices``); where a
        parameter holds Python values, only the tiles' parameters copied, with the tiles
        (and every parameter's name: the pairs' order)."""
        from materia_tui.state.columns import parameter_names, snapshot_columns

        tiles = self._tiles()
        in_place = live_slices(state, tiles, keep)
        if in_place is not None:
            return in_place
        names = parameter_names(state)
        pairs = slice_pairs(names, list(state.objectives))
        shown = [pairs[i % len(pairs)] for i in tiles] if pairs else []
        read = [name for name in names if name in {parameter for parameter, _ in shown}]
        predictions = {objective for _, objective in shown}
        return snapshot_columns(state, parameters=read, ids=False, predictions=predictions), tiles, names

    def compute_snapshot(self, snapshot: Any, keep: Any, state: Any) -> SliceTiles:
        if isinstance(snapshot, SliceTiles):
            return snapshot  # read in place (the worker draws them)
        copied, tiles, names = snapshot
        columns = copied.columns() if keep is None else subset(copied.columns(), keep)
        return SliceTiles(tuple(slice_of(columns, index, names) for index in tiles))

    def compute(self, columns: Any, state: Any) -> SliceTiles:
        return SliceTiles(tuple(slice_of(columns, index) for index in self._tiles()))

    def recompute(self) -> None:
        self._grid = self._grid_for_size()
        super().recompute()

    def awaits_layout(self) -> bool:
        if not self.is_attached:
            return False
        self._lay_out(self._grid)  # tiles shown or hidden: their sizes come with the next layout
        count = self._grid[0] * self._grid[1]
        return not all(canvas.size.area for canvas in self.canvases[:count])

    def picture_context(self) -> Any:
        if not self.is_attached or not self.size.area:
            return None
        self._lay_out(self._grid)
        return [canvas.build_context() for canvas in self.canvases[: self._grid[0] * self._grid[1]]]

    def prebuild(self, result: SliceTiles, context: Any) -> Any:
        from materia_tui.ui.widgets.plot_canvas import prebuild

        return [
            prebuild(tile_context, lambda plt, tile=tile: draw_slice(plt, tile))  # type: ignore[misc]
            for tile, tile_context in zip(result.tiles, context, strict=False)
        ]

    def _lay_out(self, grid: tuple[int, int]) -> None:
        columns, rows = grid
        if self.grid == grid:
            return
        self.grid = grid
        self.query_one("#slice-grid").styles.grid_size_columns = columns
        self.query_one("#slice-grid").styles.grid_size_rows = rows
        for k, canvas in enumerate(self.canvases):
            canvas.display = k < columns * rows

    def show(self, result: SliceTiles) -> None:
        first = result.tiles[0]
        self._lay_out(self._grid if len(result.tiles) == self._grid[0] * self._grid[1] else (1, 1))
        if first.parameter is None or first.objective is None:
            self.set_text("#slice-caption", "no parameters or objectives yet")
        else:
            objective = clean(first.objective, 24)
            several = len(result.tiles) > 1
            what = f"{len(result.tiles)} slices from {first.position}" if several else first.position
            subject = f"{objective} vs {clean(first.parameter, 24)}" if not several else objective
            measured = _counted(first.measured_count, first.measured, first.front)
            waiting = _counted(first.waiting_count, first.predicted)
            caption = f"{subject} {what} · {measured} measured · {waiting} predicted ±sigma · j: next"
            self.set_text("#slice-caption", caption)
        prebuilt = self.prebuilt if isinstance(self.prebuilt, list) else []
        for k, (tile, canvas) in enumerate(zip(result.tiles, self.canvases, strict=False)):
            picture = prebuilt[k] if k < len(prebuilt) else None
            if picture is not None and canvas.fits(picture):
                canvas.adopt(picture)
            else:
                canvas.plt.clear_data()
                draw_slice(canvas.plt, tile)
                canvas.invalidate()


def draw_slice(plt: Any, result: SliceResult) -> None:
    """One slice on ``plt`` (a plotext figure)."""
    if result.parameter is None or result.objective is None:
        return
    parameter, objective = clean(result.parameter, 24), clean(result.objective, 24)
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
