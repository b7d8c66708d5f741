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
PAD = 0.25  # grid bounds reach 25% past the data, so most new points land inside without a rebuild


class ThinnedCloud:
    """Measured (x, y) per candidate row for one pair of axes, kept up to date from
    the rows changed since the last update, and thinned to one point per cell of
    a ``columns`` x ``rows`` grid.

    A new point inside the grid's bounds costs a dict lookup; only a point
    outside them, a re-measured candidate or a new grid size re-buckets everything.
    """

    def __init__(self, x_name: str | None, y_name: str) -> None:
        self.x_name = x_name
        self.y_name = y_name
        self.points: dict[int, tuple[float, float]] = {}
        self.cells: dict[Grid, tuple[float, float]] = {}
        self.grid: Grid = (0, 0)
        self.bounds: tuple[float, float, float, float] | None = None
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
            if old is not None:
                rebuild = True  # a re-measured point may have been its cell's representative
            if point is not None:
                self.points[cand.row] = point
                fresh.append(point)
        self.grid = grid
        if rebuild or not self._inside(fresh):
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

    def _inside(self, fresh: list[tuple[float, float]]) -> bool:
        if self.bounds is None:
            return not fresh
        x0, x1, y0, y1 = self.bounds
        return all(x0 <= x <= x1 and y0 <= y <= y1 for x, y in fresh)

    def _rebucket(self) -> None:
        self.cells = {}
        if not self.points:
            self.bounds = None
            return
        xs = [p[0] for p in self.points.values()]
        ys = [p[1] for p in self.points.values()]
        x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
        dx, dy = (x1 - x0) * PAD or 1.0, (y1 - y0) * PAD or 1.0
        self.bounds = (x0 - dx, x1 + dx, y0 - dy, y1 + dy)
        self._add(self.points.values())

    def _add(self, points: Iterable[tuple[float, float]]) -> None:
        if self.bounds is None:
            return
        x0, x1, y0, y1 = self.bounds
        columns, rows = self.grid
        kx = columns / (x1 - x0) if x1 > x0 else 0.0
        ky = rows / (y1 - y0) if y1 > y0 else 0.0
        cells = self.cells
        for x, y in points:
            cells.setdefault((int((x - x0) * kx), int((y - y0) * ky)), (x, y))

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
    for cid in state.latest_batch:
        cand = candidates.get(cid)
        point = cloud.points.get(cand.row) if cand is not None else None
        if point is not None:
            data.latest[0].append(point[0])
            data.latest[1].append(point[1])
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
        if data.front[0]:
            if data.front_as_line and len(data.front[0]) > 1:
                plt.plot(data.front[0], data.front[1], marker="braille", color="cyan")
            plt.scatter(data.front[0], data.front[1], marker=FRONT_MARKER, color="cyan")
        if data.latest[0]:
            plt.scatter(data.latest[0], data.latest[1], marker=LATEST_MARKER, color="orange")
        self._drawn += 1
        self._drawn_at = time.monotonic()
        self.refresh()

    def render(self) -> RenderResult:
        # PlotextPlot rebuilds the whole plot on every render, and a layout change
        # anywhere on screen re-renders every widget: reuse the last picture instead.
        key = (self._drawn, self.size, self.app.theme, self.theme)
        if self._picture is None or self._picture[0] != key:
            self._picture = (key, super().render())
        return self._picture[1]
