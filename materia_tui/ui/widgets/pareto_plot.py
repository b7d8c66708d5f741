"""Pareto scatter: measured candidates as density, the front as a line on top, the latest batch marked.

Drawn with plotext, through ``PlotCanvas`` (plotext's matrix straight into
strips, no ANSI round trip; plotext imported on the first drawing). With 100k
candidates, extracting and plotting every point costs ~200 ms a redraw, so the
cloud is kept incrementally and thinned to one mark per plot cell it occupies,
read straight from the state's columns. Each mark is a braille glyph of 1 to 8
dots by how many candidates its cell holds (log scale, relative to the fullest
cell), so the picture says where the candidates are; the front and the latest
batch are drawn over it in full (one mark per cell of theirs).
"""

from __future__ import annotations

import math
import time
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import repeat
from typing import ClassVar

from materia_tui.sanitize import clean
from materia_tui.state import CampaignState
from materia_tui.state.changes import ChangeSet, RowFollower
from materia_tui.ui.active_filter import ActiveFilter
from materia_tui.ui.panel import Cadence
from materia_tui.ui.widgets.plot_canvas import Overlay, PlotCanvas

CLOUD_MARKER = "dot"
DENSITY_MARKERS = ("⠁", "⠃", "⠇", "⡇", "⡏", "⡟", "⡿", "⣿")  # 1 to 8 dots: sparse to dense
FRONT_MARKER = "◆"
LATEST_MARKER = "x"
LATEST_COLOUR = "orange"


@dataclass(slots=True)
class ScatterData:
    x_label: str = ""
    y_label: str = ""
    cloud: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))
    front: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))
    latest: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))
    measured: int = 0
    front_as_line: bool = True
    density: tuple[tuple[list[float], list[float]], ...] = ()  # the cloud's marks by density level


def limits(series: tuple[list[float], ...]) -> tuple[float | None, float | None]:
    """The axis limits plotext takes from these series (its ``get_lim``); (None, None): none."""
    values = [v for values in series if values for v in (min(values), max(values))]
    if not values:
        return None, None
    low, high = min(values), max(values)
    if low != high:
        return low, high
    return (0.5 * low, 1.5 * low) if low != 0 else (-1.0, 1.0)


def axis_label(state: CampaignState, name: str) -> str:
    unit = state.units.get(name)
    arrow = "↓" if state.directions.get(name) == "minimize" else "↑"  # which way is better
    return clean(name, 24) + (f" [{clean(unit, 12)}]" if unit else "") + arrow


Grid = tuple[int, int]
MAX_DRAWS_PER_SECOND = 4  # a redraw costs ~10-20 ms; the table and text stay at 20 Hz
COLD_CHUNK = 20_000  # rows per step of a first catch-up (~20-40 ms)
GROWTH = 2  # the data's span may grow this much per axis before the cells are resized
NAN = math.nan


class ThinnedCloud:
    """Measured (x, y) per candidate row for one pair of axes, kept up to date from
    the rows changed since the last update, and thinned to one mark per cell of
    a ``columns`` x ``rows`` grid.

    Points live in two ``array('d')`` columns indexed by row (NaN: no point), 16
    bytes a candidate. Each occupied cell keeps a count and one representative
    point (its mark), so a new, moved or withdrawn point costs a dict update
    wherever it lands. Cells have a fixed size in data units (the data's span /
    the grid size when last re-bucketed); only a span grown ``GROWTH`` times
    (which happens a logarithmic number of times) or a new grid size re-buckets
    everything.

    What changed comes from the reducer's change set: the rows added and the
    rows changed since the last update; only a change set that says "every row"
    (objectives re-scored) makes it look at every candidate.
    """

    def __init__(self, x_name: str | None, y_name: str) -> None:
        self.x_name = x_name
        self.y_name = y_name
        self.xs = array("d")
        self.ys = array("d")
        self.count = 0  # rows with a point
        self.cells: dict[Grid, int] = {}  # points per occupied cell
        self.marks: dict[Grid, tuple[float, float]] = {}  # one point per occupied cell
        self.grid: Grid = (0, 0)
        self.bounds: tuple[float, float, float, float] | None = None  # the data's extent (grows only)
        self.cell_size: tuple[float, float] = (1.0, 1.0)
        self.scans = 0  # full scans for changed rows, for tests and benchmarks
        self.moved: set[int] = set()  # rows whose point changed in the last update
        self.front: tuple[list[str], list[int], list[tuple[float, float]]] | None = None  # ids, rows, sorted
        self._follower = RowFollower(COLD_CHUNK)  # the first catch-up in chunks, then change sets
        self.keep: Callable[[int], bool] | None = None  # the view's ``/`` filter: rows left out

    @property
    def complete(self) -> bool:
        """Caught up with the state as of the last update (false before the first)."""
        return self._follower.complete

    def point(self, row: int) -> tuple[float, float] | None:
        if row >= len(self.xs):
            return None
        x = self.xs[row]
        return None if x != x else (x, self.ys[row])

    def points(self) -> Iterator[tuple[int, float, float]]:
        """(row, x, y) of every point."""
        for row, (x, y) in enumerate(zip(self.xs, self.ys, strict=True)):
            if x == x:
                yield row, x, y

    def update(self, state: CampaignState, grid: Grid, changes: ChangeSet) -> None:
        """Catch up with ``changes``; a large first catch-up is spread over several
        calls (see ``complete``) so the UI never stalls for it."""
        first = self._follower.first_pass(len(state.store), changes)
        if first is not None:
            self._cold_step(state, first, grid)
            if not self._follower.complete or not self._follower.holding:
                return
            changes = ChangeSet()  # caught up: take what changed meanwhile at once
        changes = self._follower.after(changes)
        changed = self._changed(state, changes)
        rebuild = grid != self.grid
        self.grid = grid
        moves: list[tuple[tuple[float, float] | None, tuple[float, float] | None]] = []
        self.moved = moved = set()
        point_of = self._reader(state)
        for row in changed:
            move = self._set(row, point_of(row))
            if move != (None, None):
                moves.append(move)
                moved.add(row)
        if rebuild or not self._extend([new for _, new in moves if new is not None]):
            self._rebucket()
            return
        for old, new in moves:
            if old is not None:
                self._remove(old)
            if new is not None:
                self._add(new)

    def _changed(self, state: CampaignState, changes: ChangeSet) -> range | list[int]:
        """The rows whose point may differ from the one kept."""
        count = len(state.store)
        if changes.all_rows:
            self.scans += 1
            return range(count)
        return sorted(changes.changed_rows(count))

    def _cold_step(self, state: CampaignState, rows: range, grid: Grid) -> None:
        self.front = None
        point_of = self._reader(state)
        for row in rows:
            self._set(row, point_of(row))
        self.grid = grid
        if self._follower.complete:
            self._rebucket()

    def front_points(self, state: CampaignState) -> list[tuple[float, float]]:
        """The front's points, sorted (by x): kept while the front and its points stay."""
        ids = state.front_ids()
        cached = self.front
        if cached is not None and cached[0] == ids and not self.moved.intersection(cached[1]):
            return cached[2]
        index = state.store.index
        rows = [index[i] for i in ids]
        points = sorted(p for p in map(self.point, rows) if p is not None)
        self.front = (ids, rows, points)
        return points

    def _set(
        self, row: int, point: tuple[float, float] | None
    ) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
        """Store ``point`` at ``row``; (old, new) when it changed, else (None, None)."""
        xs, ys = self.xs, self.ys
        if row >= len(xs):
            missing = row + 1 - len(xs)
            xs.extend(repeat(NAN, missing))
            ys.extend(repeat(NAN, missing))
        old = None if xs[row] != xs[row] else (xs[row], ys[row])
        if old == point:
            return None, None  # e.g. it only left the front: nothing to redo
        if point is None:
            xs[row] = ys[row] = NAN
            self.count -= 1
        else:
            xs[row], ys[row] = point
            self.count += old is None
        return old, point

    def _reader(self, state: CampaignState) -> Callable[[int], tuple[float, float] | None]:
        """A row's point (None: not evaluated, or an axis unmeasured), read from the columns."""
        store = state.store
        status, iterations = store.status, store.iterations
        ys = store.float_column("obj:" + self.y_name)
        xs = store.float_column("obj:" + self.x_name) if self.x_name else None
        if ys is None or (self.x_name and xs is None):
            return lambda row: None
        isfinite = math.isfinite
        keep = self.keep  # the view's ``/`` filter

        def point_of(row: int) -> tuple[float, float] | None:
            if status[row] != 1:  # evaluated
                return None
            if keep is not None and not keep(row):
                return None
            y = ys[row]
            x = xs[row] if xs is not None else float(max(0, iterations[row]))
            return (x, y) if isfinite(x) and isfinite(y) else None  # NaN: not measured

        return point_of

    def _extend(self, fresh: list[tuple[float, float]]) -> bool:
        """Grow the extent to cover ``fresh``; False when the cells became too small."""
        if not fresh:
            return True
        if self.bounds is None:
            return False
        x0, x1, y0, y1 = self.bounds
        for x, y in fresh:
            x0, x1, y0, y1 = min(x0, x), max(x1, x), min(y0, y), max(y1, y)
        self.bounds = (x0, x1, y0, y1)
        columns, rows = self.grid
        width, height = self.cell_size
        return (x1 - x0) <= GROWTH * columns * width and (y1 - y0) <= GROWTH * rows * height

    def _rebucket(self) -> None:
        self.cells, self.marks = {}, {}
        if not self.count:
            self.bounds = None
            return
        x0 = y0 = math.inf
        x1 = y1 = -math.inf
        for _, x, y in self.points():
            x0, x1, y0, y1 = min(x0, x), max(x1, x), min(y0, y), max(y1, y)
        self.bounds = (x0, x1, y0, y1)
        columns, rows = self.grid
        self.cell_size = ((x1 - x0) / columns or 1.0, (y1 - y0) / rows or 1.0)
        width, height = self.cell_size
        cells, marks = self.cells, self.marks
        floor = math.floor
        for _, x, y in self.points():
            cell = (floor(x / width), floor(y / height))
            count = cells.get(cell)
            if count is None:
                cells[cell] = 1
                marks[cell] = (x, y)
            else:
                cells[cell] = count + 1

    def cell(self, x: float, y: float) -> Grid:
        width, height = self.cell_size
        return math.floor(x / width), math.floor(y / height)

    def _add(self, point: tuple[float, float]) -> None:
        cell = self.cell(*point)
        count = self.cells.get(cell)
        if count is None:
            self.cells[cell] = 1
            self.marks[cell] = point
        else:
            self.cells[cell] = count + 1

    def _remove(self, point: tuple[float, float]) -> None:
        # The cell's mark may be this very point: while others remain it stays,
        # a point of the same cell (the same place at this resolution).
        cell = self.cell(*point)
        count = self.cells.get(cell, 0) - 1
        if count > 0:
            self.cells[cell] = count
        else:
            self.cells.pop(cell, None)
            self.marks.pop(cell, None)

    def cloud(self) -> tuple[list[float], list[float]]:
        marks = self.marks.values()
        return [p[0] for p in marks], [p[1] for p in marks]

    def density(self, levels: int = len(DENSITY_MARKERS)) -> tuple[tuple[list[float], list[float]], ...]:
        """The marks split by how full their cell is: level k (of ``levels``) holds
        the cells whose count is about the fullest cell's count to the k/levels-th
        power (log scale: a few dense cells must not hide the sparse ones)."""
        if not self.cells:
            return ()
        # The fullest cell's count rounded up to a power of two: the levels of every
        # cell shift only when it doubles, not with each new point (each shift is a rebuild).
        scale = math.log1p(2 ** math.ceil(math.log2(max(self.cells.values()))))
        split: list[tuple[list[float], list[float]]] = [([], []) for _ in range(levels)]
        log1p, ceil = math.log1p, math.ceil
        for cell, count in self.cells.items():
            level = min(levels - 1, max(0, ceil(levels * log1p(count) / scale) - 1)) if scale else 0
            x, y = self.marks[cell]
            split[level][0].append(x)
            split[level][1].append(y)
        return tuple(split)


def scatter_data(state: CampaignState, cloud: ThinnedCloud, grid: Grid, changes: ChangeSet) -> ScatterData:
    """What to draw: the thinned cloud of every measured candidate, the whole front
    (sorted by x, to be joined by a line) and the latest batch."""
    cloud.update(state, grid, changes)
    x_name, y_name = cloud.x_name, cloud.y_name
    data = ScatterData(
        x_label=axis_label(state, x_name) if x_name else "iteration",
        y_label=axis_label(state, y_name),
        cloud=cloud.cloud(),
        density=cloud.density(),
        measured=cloud.count,
        front_as_line=x_name is not None and len(state.objectives) == 2,
    )
    index = state.store.index
    front = cloud.front_points(state)
    data.front = ([p[0] for p in front], [p[1] for p in front])
    latest: dict[Grid, tuple[float, float]] = {}  # a huge batch is thinned like the cloud
    for cid in state.latest_batch:
        row = index.get(cid)
        point = cloud.point(row) if row is not None else None
        if point is not None:
            latest.setdefault(cloud.cell(*point), point)
    data.latest = ([p[0] for p in latest.values()], [p[1] for p in latest.values()])
    return data


class ParetoPlot(PlotCanvas):
    """Rebuilds only on new data, axes or size (and at most ``MAX_DRAWS_PER_SECOND``)."""

    cadence: ClassVar[Cadence] = "plot"

    def __init__(
        self,
        state: CampaignState,
        *,
        active_filter: ActiveFilter | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.state = state
        self.active_filter = active_filter if active_filter is not None else ActiveFilter()
        self._filter_generation = self.active_filter.generation
        self.x_index = 0
        self.y_index = 1
        self.data = ScatterData()
        self._key: tuple[object, ...] = ()
        self._cloud: ThinnedCloud | None = None
        self._deferred = False  # a sync is scheduled (throttled, or a catch-up step)
        self._drawn_at = 0.0
        self._picture: object = None  # what the plotext picture shows (the latest batch aside)
        self._pending = ChangeSet()  # changes not yet folded into the cloud
        self._data_version = 0  # bumped by every change set that arrives

    def axes(self) -> tuple[str | None, str] | None:
        names = self.state.objectives
        if not names:
            return None
        if len(names) == 1:
            return None, names[0]
        x, y = self.x_index % len(names), self.y_index % len(names)
        if x == y:
            y = (y + 1) % len(names)
        return names[x], names[y]

    def cycle_x(self) -> None:
        self.x_index = (self.x_index + 1) % max(1, len(self.state.objectives))
        self.sync()

    def cycle_y(self) -> None:
        self.y_index = (self.y_index + 1) % max(1, len(self.state.objectives))
        self.sync()

    def apply_changes(self, state: CampaignState, changes: ChangeSet, now: float) -> None:
        if changes:
            self._pending.merge(changes)
            self._data_version += 1
            self.sync()

    def sync(self) -> None:
        """Redraw if the picture changed, at most ``MAX_DRAWS_PER_SECOND`` while data streams in."""
        axes = self.axes()
        size = self.size
        selection = self.active_filter
        if selection.generation != self._filter_generation:
            self._filter_generation = selection.generation
            self._cloud = None  # rebuilt from every row under the new expression
        key = (self._data_version, axes, size.width, size.height, selection.generation)
        if key == self._key:
            return
        user_change = self._key[1:] != key[1:]
        wait = self._drawn_at + 1 / MAX_DRAWS_PER_SECOND - time.monotonic()
        if wait > 0 and not user_change:
            if not self._deferred:
                self._deferred = True
                self.set_timer(wait, self._deferred_sync)
            return
        self._key = key
        data = ScatterData()
        if axes is not None:
            if self._cloud is None or (self._cloud.x_name, self._cloud.y_name) != axes:
                self._cloud = ThinnedCloud(*axes)
            if selection.active:
                # A row's match may change without the row changing (``front``): look at every row.
                self._pending.every_row()
                self._cloud.keep = lambda row: selection.keeps(self.state, row)
            else:
                self._cloud.keep = None
            # One mark per cell, so the thinning grid is (about) the plot area's cell grid.
            grid = (max(10, size.width - 10), max(5, size.height - 4))
            changes, self._pending = self._pending, ChangeSet()
            data = scatter_data(self.state, self._cloud, grid, changes)
            if not self._cloud.complete:
                self._key = ()  # not caught up yet: continue shortly, letting the UI run between steps
                if not self._deferred:
                    self._deferred = True
                    self.set_timer(0.01, self._deferred_sync)
        if data != self.data or user_change:  # e.g. proposals change the state, not the picture
            self.data = data
            self._draw()

    def filter_changed(self) -> None:
        """The view's ``/`` expression changed: redraw with the matching points only."""
        self.sync()

    @property
    def up_to_date(self) -> bool:
        """Drawn from the current state (false while a throttled redraw is pending)."""
        if not self._key or self._deferred:
            return False
        return self._key[0] == self._data_version and self._key[-1] == self.active_filter.generation

    def _deferred_sync(self) -> None:
        self._deferred = False
        self.sync()

    def _draw(self) -> None:
        """Show ``self.data``: the latest batch is an overlay on the plotext picture,
        which is rebuilt only when the rest of it (cloud, front, labels, limits) changed."""
        data = self.data
        loading = "" if self._cloud is None or self._cloud.complete else " (loading…)"
        shown = "shown (filter)" if self.active_filter.active else "measured"
        self.border_subtitle = f"{data.measured:,} {shown} · {len(data.front[0]):,} on front{loading}"
        front_x, front_y = self._front_marks()
        # The limits plotext would take from every series, latest batch included,
        # set explicitly: the picture stays valid under a new batch inside them.
        xs = (data.cloud[0], front_x, data.latest[0])
        ys = (data.cloud[1], front_y, data.latest[1])
        x_limits, y_limits = limits(xs), limits(ys)
        labels = (data.x_label, data.y_label)
        picture = (labels, data.density, front_x, front_y, data.front_as_line, x_limits, y_limits)
        if picture != self._picture:
            self._picture = picture
            plt = self.plt
            plt.clear_data()
            # plotext draws the y label on the x label's line, where narrow plots lose
            # one of them: the y axis is named in the title instead.
            plt.xlabel(f"x: {data.x_label}")
            plt.title(f"y: {data.y_label}")
            plt.xlim(*x_limits)
            plt.ylim(*y_limits)
            for marker, (xs_level, ys_level) in zip(DENSITY_MARKERS, data.density, strict=False):
                if xs_level:  # sparse to dense; the front is drawn after, on top
                    plt.scatter(xs_level, ys_level, marker=marker, color="gray")
            if front_x:
                if data.front_as_line and len(front_x) > 1:
                    plt.plot(front_x, front_y, marker="braille", color="cyan")
                plt.scatter(front_x, front_y, marker=FRONT_MARKER, color="cyan")
            self.invalidate()
        latest = Overlay(data.latest[0], data.latest[1], LATEST_MARKER, LATEST_COLOUR)
        self.set_overlay((latest,) if data.latest[0] else ())
        self._drawn_at = time.monotonic()

    def _front_marks(self) -> tuple[list[float], list[float]]:
        """The front, one point per plot cell, still sorted by x: the same picture as
        every point (a cell shows one mark), for a fraction of plotext's cost, which
        grows with every point and, worse, every line segment between them."""
        xs, ys = self.data.front
        if self._cloud is None or len(xs) <= 2 * max(1, self.size.width):
            return xs, ys
        seen: set[tuple[int, int]] = set()
        kept_x: list[float] = []
        kept_y: list[float] = []
        for x, y in zip(xs, ys, strict=True):
            cell = self._cloud.cell(x, y)
            if cell not in seen:
                seen.add(cell)
                kept_x.append(x)
                kept_y.append(y)
        return kept_x, kept_y
