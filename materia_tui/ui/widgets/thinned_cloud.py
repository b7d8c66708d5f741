"""The Pareto scatter's cloud: measured (x, y) per candidate row, kept up to date
from the state's change sets and thinned to one mark per plot cell.

Split out of ``pareto_plot`` (which draws it); no Textual here.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Iterator
from itertools import repeat
from typing import Any

from materia_tui.state import CampaignState
from materia_tui.state.changes import ChangeSet, RowFollower

DENSITY_MARKERS = ("⠁", "⠃", "⠇", "⡇", "⡏", "⡟", "⡿", "⣿")  # 1 to 8 dots: sparse to dense
Grid = tuple[int, int]
SMALL_CLOUD = 5_000  # rows up to which the cloud is read and bucketed without numpy
COLD_CHUNK = 20_000  # rows per step of a first catch-up (a few ms: numpy over the columns)
REBUCKET_CHUNK = 1 << 16  # points per step of a re-bucketing: its temporaries are O(chunk + cells)
MAX_CELL_KEYS = 1 << 22  # cells a re-bucketing counts in one array (a grid sized to the data has ~10^4)
GROWTH = 2  # the data's span may grow this much per axis before the cells are resized
NAN = math.nan


class ThinnedCloud:
    """Measured (x, y) per candidate row for one pair of axes, kept up to date from
    the rows changed since the last update, and thinned to one mark per cell of
    a ``columns`` x ``rows`` grid.

    Points live in two ``array('d')`` columns indexed by row (NaN: no point), 16
    bytes a candidate. Each occupied cell keeps a count and one representative
    point (its mark), so a new, moved or withdrawn point costs a dict update
    wherever it lands; a cell is drawn at its center (``cloud``, ``density``).
    Cells have a fixed size in data units (the data's span / the grid size when
    last re-bucketed); only a span grown ``GROWTH`` times
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
        self.kept: Any = None  # the view's ``/`` filter: a numpy bool per row (None: every row)

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
        if changes.all_rows and len(state.store) > SMALL_CLOUD:
            self._reread(state, grid)
            return
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
        """``rows``' points read at once from the columns (``_reader`` row by row took 25 ms a
        chunk, and the re-bucketing after the last one 40 ms more, at 100k candidates).
        A small campaign is read row by row: importing numpy for it (about 60 ms) would
        hold back the first data on screen."""
        self.front = None
        if rows.stop <= SMALL_CLOUD:
            point_of = self._reader(state)
            for row in rows:
                self._set(row, point_of(row))
            self.grid = grid
            if self._follower.complete:
                self._rebucket()
            return
        self._read_rows(state, rows.start, rows.stop)
        self.grid = grid
        if self._follower.complete:
            self._rebucket()

    def _reread(self, state: CampaignState, grid: Grid) -> None:
        """Every row's point again (a change set saying "every row": objectives re-scored, or
        more rows changed than a change set lists, e.g. a plot painted after a history of
        many batches), a chunk at a time with numpy, then re-bucketed. Row by row, as a few
        changed rows are, this took about a second at a million candidates."""
        self.scans += 1
        self.front = None
        self.moved = set()
        count = len(state.store)
        for start in range(0, count, COLD_CHUNK):
            self._read_rows(state, start, min(count, start + COLD_CHUNK))
        self.grid = grid
        self._rebucket()

    def _read_rows(self, state: CampaignState, start: int, stop: int) -> None:
        """Rows ``start:stop``'s points written into ``xs``/``ys`` with numpy (``count`` kept)."""
        import numpy as np

        if stop > len(self.xs):
            self.xs.extend(repeat(NAN, stop - len(self.xs)))
            self.ys.extend(repeat(NAN, stop - len(self.ys)))
        new_xs, new_ys = self._points_of(state, start, stop)
        xs = np.frombuffer(self.xs, dtype=np.float64)  # views: written through into the arrays
        ys = np.frombuffer(self.ys, dtype=np.float64)
        self.count += int(np.count_nonzero(~np.isnan(new_xs)) - np.count_nonzero(~np.isnan(xs[start:stop])))
        xs[start:stop], ys[start:stop] = new_xs, new_ys
        del xs, ys  # the arrays cannot grow while a view holds their buffer

    def _points_of(self, state: CampaignState, start: int, stop: int) -> tuple[Any, Any]:
        """``_reader`` over rows ``start:stop`` at once: x and y columns, NaN where no point."""
        import numpy as np

        store = state.store
        y_column = store.float_column("obj:" + self.y_name)
        x_column = store.float_column("obj:" + self.x_name) if self.x_name else None
        none = np.full(stop - start, NAN)
        if y_column is None or (self.x_name and x_column is None):
            return none, none.copy()
        ys = np.frombuffer(y_column[start:stop], dtype=np.float64)
        if x_column is not None:
            xs = np.frombuffer(x_column[start:stop], dtype=np.float64)
        else:
            xs = np.maximum(np.frombuffer(store.iterations[start:stop], dtype=np.int32), 0).astype(np.float64)
        shown = np.frombuffer(store.status[start:stop], dtype=np.int8) == 1  # evaluated
        shown &= np.isfinite(xs) & np.isfinite(ys)  # NaN: not measured
        if self.kept is not None:
            kept = np.zeros(stop - start, dtype=bool)
            matched = self.kept[start:stop]
            kept[: len(matched)] = matched
            shown &= kept
        return np.where(shown, xs, NAN), np.where(shown, ys, NAN)

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
        kept: list[bool] | None = None if self.kept is None else self.kept.tolist()  # the ``/`` filter
        matched = len(kept) if kept is not None else 0

        def point_of(row: int) -> tuple[float, float] | None:
            if status[row] != 1:  # evaluated
                return None
            if kept is not None and not (row < matched and kept[row]):
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
        """Every point into cells sized for the grid, with numpy (40 ms a loop at 100k): each
        cell's count, and its first point by row as its mark, cells in order of first point."""
        self.cells, self.marks = {}, {}
        if not self.count:
            self.bounds = None
            return
        if len(self.xs) <= SMALL_CLOUD:
            self._rebucket_rows()
            return
        import numpy as np

        xs = np.frombuffer(self.xs, dtype=np.float64)  # views; NaN where no point, in both
        ys = np.frombuffer(self.ys, dtype=np.float64)
        x0, x1 = float(np.nanmin(xs)), float(np.nanmax(xs))
        y0, y1 = float(np.nanmin(ys)), float(np.nanmax(ys))
        self.bounds = (x0, x1, y0, y1)
        columns, rows = self.grid
        self.cell_size = ((x1 - x0) / columns or 1.0, (y1 - y0) / rows or 1.0)
        width, height = self.cell_size
        # Division by a positive size is monotone, so every point's cell lies between these.
        low = (math.floor(x0 / width), math.floor(y0 / height))
        high = (math.floor(x1 / width), math.floor(y1 / height))
        span_y = high[1] - low[1] + 1
        keys = (high[0] - low[0] + 1) * span_y
        if keys <= MAX_CELL_KEYS and max(map(abs, (*low, *high))) < 2**52:
            firsts, counts = _first_and_count_per_cell(xs, ys, self.cell_size, low, span_y, keys)
        else:  # cells this far out do not happen on a grid sized to the data; kept exact anyway
            firsts, counts = _first_and_count_per_cell_sorted(xs, ys, self.cell_size)
        del xs, ys  # the arrays cannot grow while a view holds their buffer
        by_first = np.argsort(firsts, kind="stable")
        cells, marks = self.cells, self.marks
        point_xs, point_ys = self.xs, self.ys
        for first, count in zip(firsts[by_first].tolist(), counts[by_first].tolist(), strict=True):
            x, y = point_xs[first], point_ys[first]
            cell = (math.floor(x / width), math.floor(y / height))
            cells[cell] = count
            marks[cell] = (x, y)

    def _rebucket_rows(self) -> None:
        """``_rebucket`` row by row, for a small cloud (the same cells, counts and marks)."""
        x0 = y0 = math.inf
        x1 = y1 = -math.inf
        for _, x, y in self.points():
            x0, x1, y0, y1 = min(x0, x), max(x1, x), min(y0, y), max(y1, y)
        self.bounds = (x0, x1, y0, y1)
        columns, rows = self.grid
        self.cell_size = ((x1 - x0) / columns or 1.0, (y1 - y0) / rows or 1.0)
        for _, x, y in self.points():
            self._add((x, y))

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

    def center(self, cell: Grid) -> tuple[float, float]:
        width, height = self.cell_size
        return (cell[0] + 0.5) * width, (cell[1] + 0.5) * height

    def cloud(self) -> tuple[list[float], list[float]]:
        """Where to draw each occupied cell: its center. A cell's own first point, drawn
        instead, fell in the plot's next column or row as often as in its own, and a
        uniform cloud of 100,000 points left a quarter of the plot's cells blank."""
        centers = list(map(self.center, self.cells))
        return [c[0] for c in centers], [c[1] for c in centers]

    def density(self, levels: int = len(DENSITY_MARKERS)) -> tuple[tuple[list[float], list[float]], ...]:
        """The cells' centers split by how full their cell is: level k (of ``levels``) holds
        the cells whose count is about the fullest cell's count to the k/levels-th
        power (log scale: a few dense cells must not hide the sparse ones)."""
        if not self.cells:
            return ()
        # The fullest cell's count rounded up to a power of two: the levels of every
        # cell shift only when it doubles, not with each new point (each shift is a rebuild).
        scale = math.log1p(2 ** math.ceil(math.log2(max(self.cells.values()))))
        split: list[tuple[list[float], list[float]]] = [([], []) for _ in range(levels)]
        log1p, ceil = math.log1p, math.ceil
        center = self.center
        for cell, count in self.cells.items():
            level = min(levels - 1, max(0, ceil(levels * log1p(count) / scale) - 1)) if scale else 0
            x, y = center(cell)
            split[level][0].append(x)
            split[level][1].append(y)
        return tuple(split)


def _first_and_count_per_cell(
    xs: Any, ys: Any, size: tuple[float, float], low: Grid, span_y: int, keys: int
) -> tuple[Any, Any]:
    """Each occupied cell's first row and its count, a chunk at a time (at a million points a
    sort of them all held ~50 bytes a point at once, when the monitor holds the most). A cell
    is the key ``(cx - low_x) * span_y + (cy - low_y)``, whole numbers as floats (< 2**52)."""
    import numpy as np

    counts = np.zeros(keys, dtype=np.int64)
    first = np.full(keys, -1, dtype=np.int64)
    for start in range(0, len(xs), REBUCKET_CHUNK):
        chunk_xs = xs[start : start + REBUCKET_CHUNK]
        rows = np.flatnonzero(~np.isnan(chunk_xs))
        cells = _cell_floors(chunk_xs[rows], size[0])
        cells -= low[0]
        cells *= span_y
        cells += _cell_floors(ys[start : start + REBUCKET_CHUNK][rows], size[1])
        cells -= low[1]
        chunk_keys = cells.astype(np.int64)
        del cells
        counts += np.bincount(chunk_keys, minlength=keys)
        seen, where = np.unique(chunk_keys, return_index=True)  # each key's first place in the chunk
        new = first[seen] < 0
        first[seen[new]] = rows[where[new]] + start
    occupied = np.flatnonzero(counts)
    return first[occupied], counts[occupied]


def _first_and_count_per_cell_sorted(xs: Any, ys: Any, size: tuple[float, float]) -> tuple[Any, Any]:
    """``_first_and_count_per_cell`` by sorting every point's cell: exact for any floats,
    with temporaries of ~50 bytes a point."""
    import numpy as np

    rows = np.flatnonzero(~np.isnan(xs))
    order, starts = _cell_runs(_cell_floors(xs[rows], size[0]), _cell_floors(ys[rows], size[1]))
    counts = np.diff(np.append(starts, len(order)))
    return rows[order[starts]], counts


def _cell_floors(values: Any, size: float) -> Any:
    """Each value's cell along one axis, as ``cell`` floors it (as floats)."""
    import numpy as np

    cells = values / size
    np.floor(cells, out=cells)
    return cells


def _cell_runs(cx: Any, cy: Any) -> tuple[Any, Any]:
    """The points' order by cell (x, then y; by row within a cell, as a stable sort keeps
    them) and where each cell's run starts in it. ``cx`` and ``cy`` are used up."""
    import numpy as np

    low_x, high_x, low_y, high_y = float(cx.min()), float(cx.max()), float(cy.min()), float(cy.max())
    span_y = high_y - low_y + 1
    exact = max(abs(low_x), abs(high_x), abs(low_y), abs(high_y)) < 2**52
    if exact and (high_x - low_x + 1) * span_y < 2**52:  # one key, whole numbers: half of lexsort's memory
        cx -= low_x
        cx *= span_y
        cy -= low_y
        cx += cy
        del cy
        order = np.argsort(cx, kind="stable")
        keys = cx[order]
        del cx
        edges = keys[1:] != keys[:-1]
    else:  # cells this far out do not happen on a grid sized to the data; kept exact anyway
        order = np.lexsort((cy, cx))
        sx, sy = cx[order], cy[order]
        edges = (sx[1:] != sx[:-1]) | (sy[1:] != sy[:-1])
    return order, np.flatnonzero(np.concatenate(([True], edges)))
