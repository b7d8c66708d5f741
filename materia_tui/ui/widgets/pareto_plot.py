"""Pareto scatter (textual-plotext): measured candidates, the front as a line,
the latest batch marked.

With 100k candidates, extracting and plotting every point costs ~200 ms a
redraw, so the cloud is kept incrementally and thinned to one point per plot
cell it occupies: every occupied cell still shows a mark (a faithful picture of
where candidates are), while the front and the latest batch are drawn in full.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from textual.app import RenderResult
from textual_plotext import PlotextPlot

from materia_tui.sanitize import clean
from materia_tui.state import CampaignState, CandidateRecord

CLOUD_MARKER = "dot"
FRONT_MARKER = "◆"
LATEST_MARKER = "x"


@dataclass(slots=True)
class ScatterData:
    x_label: str = ""
    y_label: str = ""
    cloud: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))
    front: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))
    latest: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))
    measured: int = 0
    front_as_line: bool = True


def axis_label(state: CampaignState, name: str) -> str:
    unit = state.units.get(name)
    arrow = "↓" if state.directions.get(name) == "minimize" else "↑"  # which way is better
    return clean(name, 24) + (f" [{clean(unit, 12)}]" if unit else "") + arrow


Grid = tuple[int, int]
MAX_DRAWS_PER_SECOND = 4  # a plotext redraw costs ~20-40 ms; the table and text stay at 20 Hz
COLD_CHUNK = 20_000  # rows per step of a first catch-up (~20-40 ms)
GROWTH = 2  # the data's span may grow this much per axis before the cells are resized


class ThinnedCloud:
    """Measured (x, y) per candidate row for one pair of axes, kept up to date from
    the rows changed since the last update, and thinned to one point per cell of
    a ``columns`` x ``rows`` grid.

    Cells have a fixed size in data units (the data's span / the grid size when
    last re-bucketed), so a new point costs a dict lookup wherever it lands; only
    a span grown ``GROWTH`` times (which happens a logarithmic number of times),
    a re-measured candidate or a new grid size re-buckets everything.
    """

    def __init__(self, x_name: str | None, y_name: str) -> None:
        self.x_name = x_name
        self.y_name = y_name
        self.points: dict[int, tuple[float, float]] = {}
        self.cells: dict[Grid, tuple[float, float]] = {}
        self.grid: Grid = (0, 0)
        self.bounds: tuple[float, float, float, float] | None = None  # the data's extent
        self.cell_size: tuple[float, float] = (1.0, 1.0)
        self._seen_revision = -1
        self._cold_rows: int | None = None  # next row of the first catch-up, while it runs

    @property
    def complete(self) -> bool:
        return self._cold_rows is None

    def update(self, state: CampaignState, grid: Grid) -> None:
        """Catch up with the state; a large first catch-up is spread over several
        calls (see ``complete``) so the UI never stalls for it."""
        if self._seen_revision < 0:
            self._seen_revision = state.revision
            self._cold_rows = 0
        if self._cold_rows is not None:
            self._cold_step(state, grid)
            return
        seen = self._seen_revision
        changed = [c for c in state.candidate_list if c.revision > seen]
        self._seen_revision = state.revision
        rebuild = grid != self.grid
        fresh: list[tuple[float, float]] = []
        for cand in changed:
            point = self._point(cand)
            old = self.points.pop(cand.row, None)
            if old is not None and old == point:
                self.points[cand.row] = point  # e.g. it only left the front: nothing to redo
                continue
            if old is not None:
                rebuild = True  # a re-measured point may have been its cell's representative
            if point is not None:
                self.points[cand.row] = point
                fresh.append(point)
        self.grid = grid
        if rebuild or not self._extend(fresh):
            self._rebucket()
        else:
            self._add(fresh)

    def _cold_step(self, state: CampaignState, grid: Grid) -> None:
        start = self._cold_rows or 0
        chunk = state.candidate_list[start : start + COLD_CHUNK]
        for cand in chunk:
            point = self._point(cand)
            if point is not None:
                self.points[cand.row] = point
        self.grid = grid
        if start + len(chunk) >= len(state.candidate_list):
            # Rows changed while catching up have revisions above _seen_revision: the next update gets them.
            self._cold_rows = None
            self._rebucket()
        else:
            self._cold_rows = start + len(chunk)

    def _point(self, cand: CandidateRecord) -> tuple[float, float] | None:
        if cand.status != "evaluated":
            return None
        objectives = cand.objectives
        y = objectives.get(self.y_name)
        x = objectives.get(self.x_name) if self.x_name else float(cand.iteration or 0)
        if x is None or y is None or not (math.isfinite(x) and math.isfinite(y)):
            return None
        return x, y

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
        self.cells = {}
        if not self.points:
            self.bounds = None
            return
        xs = [p[0] for p in self.points.values()]
        ys = [p[1] for p in self.points.values()]
        self.bounds = (min(xs), max(xs), min(ys), max(ys))
        x0, x1, y0, y1 = self.bounds
        columns, rows = self.grid
        self.cell_size = ((x1 - x0) / columns or 1.0, (y1 - y0) / rows or 1.0)
        self._add(self.points.values())

    def cell(self, x: float, y: float) -> Grid:
        width, height = self.cell_size
        return math.floor(x / width), math.floor(y / height)

    def _add(self, points: Iterable[tuple[float, float]]) -> None:
        width, height = self.cell_size
        cells = self.cells
        floor = math.floor
        for x, y in points:
            cells.setdefault((floor(x / width), floor(y / height)), (x, y))

    def cloud(self) -> tuple[list[float], list[float]]:
        return [p[0] for p in self.cells.values()], [p[1] for p in self.cells.values()]


def scatter_data(state: CampaignState, cloud: ThinnedCloud, grid: Grid) -> ScatterData:
    """What to draw: the thinned cloud of every measured candidate, the whole front
    (sorted by x, to be joined by a line) and the latest batch."""
    cloud.update(state, grid)
    x_name, y_name = cloud.x_name, cloud.y_name
    data = ScatterData(
        x_label=axis_label(state, x_name) if x_name else "iteration",
        y_label=axis_label(state, y_name),
        cloud=cloud.cloud(),
        measured=len(cloud.points),
        front_as_line=x_name is not None and len(state.objectives) == 2,
    )
    candidates = state.candidates
    front = sorted(
        p for p in (cloud.points.get(candidates[i].row) for i in state.front_ids()) if p is not None
    )
    data.front = ([p[0] for p in front], [p[1] for p in front])
    latest: dict[Grid, tuple[float, float]] = {}  # a huge batch is thinned like the cloud
    for cid in state.latest_batch:
        cand = candidates.get(cid)
        point = cloud.points.get(cand.row) if cand is not None else None
        if point is not None:
            latest.setdefault(cloud.cell(*point), point)
    data.latest = ([p[0] for p in latest.values()], [p[1] for p in latest.values()])
    return data


class ParetoPlot(PlotextPlot):
    """Call ``sync`` at the app's refresh rate; it rebuilds only on new data, axes or size."""

    def __init__(self, state: CampaignState, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.state = state
        self.x_index = 0
        self.y_index = 1
        self.data = ScatterData()
        self._key: tuple[object, ...] = ()
        self._cloud: ThinnedCloud | None = None
        self._deferred = False  # a sync is scheduled (throttled, or a catch-up step)
        self._drawn_at = 0.0
        self._drawn = 0  # bumped per _draw: the cached render is valid for one drawing
        self._picture: tuple[tuple[object, ...], RenderResult] | None = None

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

    def sync(self) -> None:
        """Redraw if the picture changed, at most ``MAX_DRAWS_PER_SECOND`` while data streams in."""
        axes = self.axes()
        size = self.size
        key = (self.state.revision, axes, size.width, size.height)
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
            # One mark per cell, so the thinning grid is (about) the plot area's cell grid.
            grid = (max(10, size.width - 10), max(5, size.height - 4))
            data = scatter_data(self.state, self._cloud, grid)
            if not self._cloud.complete:
                self._key = ()  # not caught up yet: continue shortly, letting the UI run between steps
                if not self._deferred:
                    self._deferred = True
                    self.set_timer(0.01, self._deferred_sync)
        if data != self.data or user_change:  # e.g. proposals change the state, not the picture
            self.data = data
            self._draw()

    @property
    def up_to_date(self) -> bool:
        """Drawn from the current state (false while a throttled redraw is pending)."""
        return bool(self._key) and self._key[0] == self.state.revision and not self._deferred

    def _deferred_sync(self) -> None:
        self._deferred = False
        self.sync()

    def _draw(self) -> None:
        plt = self.plt
        plt.clear_data()
        data = self.data
        # plotext draws the y label on the x label's line, where narrow plots lose
        # one of them: the y axis is named in the title instead.
        plt.xlabel(f"x: {data.x_label}")
        plt.title(f"y: {data.y_label}")
        loading = "" if self._cloud is None or self._cloud.complete else " (loading…)"
        self.border_subtitle = f"{data.measured:,} measured · {len(data.front[0]):,} on front{loading}"
        if data.cloud[0]:
            plt.scatter(data.cloud[0], data.cloud[1], marker=CLOUD_MARKER, color="gray")
        front_x, front_y = self._front_marks()
        if front_x:
            if data.front_as_line and len(front_x) > 1:
                plt.plot(front_x, front_y, marker="braille", color="cyan")
            plt.scatter(front_x, front_y, marker=FRONT_MARKER, color="cyan")
        if data.latest[0]:
            plt.scatter(data.latest[0], data.latest[1], marker=LATEST_MARKER, color="orange")
        self._drawn += 1
        self._drawn_at = time.monotonic()
        self.refresh()

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

    def render(self) -> RenderResult:
        # PlotextPlot rebuilds the whole plot on every render, and a layout change
        # anywhere on screen re-renders every widget: reuse the last picture instead.
        key = (self._drawn, self.size, self.app.theme, self.theme)
        if self._picture is None or self._picture[0] != key:
            self._picture = (key, super().render())
        return self._picture[1]
