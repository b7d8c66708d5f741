"""Pareto scatter: measured candidates as density, the front as a line on top, the latest batch marked.

Drawn with plotext, through ``PlotCanvas`` (plotext's matrix straight into
strips, no ANSI round trip; plotext imported on the first drawing). With 100k
candidates, extracting and plotting every point costs ~200 ms a redraw, so the
cloud is kept incrementally and thinned to one mark per plot cell it occupies,
read straight from the state's columns. Each mark is a braille glyph of 1 to 8
dots by how many candidates its cell holds (log scale, relative to the fullest
cell), so the picture says where the candidates are. The thinning grid is the
plot's own character grid (plotext's data area, known after its first build at a
size), the marks sit at their cells' centers and the limits on cell centers, so
each cell is one character cell: no blank stripes where candidates are; the front and the latest
batch are drawn over it in full (one mark per cell of theirs). A latest batch that
would mark more than ``LATEST_SHARE`` of the cloud's cells (thousands of candidates
a batch: at 100,000 candidates in batches of 5,000, four cells in five) is not
marked, as its marks would hide the density they sit on; the caption says so where
it has room.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from materia_tui.sanitize import clean
from materia_tui.state import CampaignState
from materia_tui.state.changes import ChangeSet
from materia_tui.ui.active_filter import FiltersCampaign
from materia_tui.ui.panel import Cadence
from materia_tui.ui.widgets.plot_canvas import Overlay, PlotCanvas
from materia_tui.ui.widgets.thinned_cloud import DENSITY_MARKERS, Grid, ThinnedCloud

CLOUD_MARKER = "dot"
FRONT_MARKER = "◆"
LATEST_MARKER = "x"
LATEST_COLOUR = "orange"
LATEST_SHARE = 0.25  # the most of the cloud's occupied cells the latest batch may mark
LATEST_ALWAYS = 32  # marks a latest batch may have whatever the share (a small campaign's)
UNMARKED = " · latest unmarked"  # the caption's note of an unmarked latest batch


@dataclass(slots=True)
class ScatterData:
    x_label: str = ""
    y_label: str = ""
    cloud: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))
    front: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))
    latest: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))
    unmarked: int = 0  # the latest batch's points, when too many to mark (see the module docstring)
    cell_size: tuple[float, float] | None = None  # the cloud's cells, in data units (None: no cloud)
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


def centered(found: tuple[float | None, float | None], size: float) -> tuple[float | None, float | None]:
    """Limits moved to the centers of the cloud cells they fall in. plotext puts its first
    and last character cells' centers on the limits, a cell a character cell apart: with
    the limits on cell centers and the grid as wide as the plot, each cloud cell (drawn
    at its center) lands in a character cell of its own, and a point within half a cell
    of a limit in the character cell at the edge."""
    low, high = found
    if low is None or high is None:
        return found
    low, high = (math.floor(low / size) + 0.5) * size, (math.floor(high / size) + 0.5) * size
    return (low, high) if low < high else found


def axis_label(state: CampaignState, name: str) -> str:
    unit = state.units.get(name)
    arrow = "↓" if state.directions.get(name) == "minimize" else "↑"  # which way is better
    return clean(name, 24) + (f" [{clean(unit, 12)}]" if unit else "") + arrow


MAX_DRAWS_PER_SECOND = 4  # a redraw costs ~10-20 ms; the table and text stay at 20 Hz


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
        cell_size=cloud.cell_size if cloud.cells else None,
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
    if len(latest) > max(LATEST_ALWAYS, LATEST_SHARE * len(cloud.cells)):
        data.unmarked = len(state.latest_batch)
    else:
        data.latest = ([p[0] for p in latest.values()], [p[1] for p in latest.values()])
    return data


class ParetoPlot(FiltersCampaign, PlotCanvas):
    """Rebuilds only on new data, axes or size (and at most ``MAX_DRAWS_PER_SECOND``)."""

    cadence: ClassVar[Cadence] = "plot"

    def __init__(self, state: CampaignState, **panel: Any) -> None:
        super().__init__(state, **panel)
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
        self._matched: Any = None  # the filter's mask the cloud was last kept by
        self._history_loading = False  # a long history loads: not redrawn until it is in
        self._regridded: tuple[int, int] | None = None  # the size whose grid followed plotext's

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
                self._matched = None  # a new cloud reads every row
            self._cloud.kept = self._matched_rows()
            grid = self._grid()
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

    def _grid(self) -> Grid:
        """The thinning grid: one cell a character cell of the plot's data area (known once
        plotext built at this size; until then about it, on the large side: cells smaller
        than the plot's character cells leave none of them blank, larger ones do)."""
        width, height = self.size
        known = self.canvas_at
        if known is not None and known[:2] == (width, height):
            return known[2], known[3]
        return max(10, width - 8), max(5, height - 3)

    def canvas_changed(self) -> None:
        """plotext's data area is now known at this size: re-bucket to it, once a size (the
        axis labels' widths could otherwise move it back and forth)."""
        cloud, known = self._cloud, self.canvas_at
        if cloud is None or known is None or cloud.grid == known[2:] or self._regridded == known[:2]:
            return
        self._regridded = known[:2]
        self._key = ()
        self.sync()

    def _matched_rows(self) -> Any:
        """The ``/`` filter as the cloud reads it (a bool per row, None: no filter). A row's
        match may change without the row changing (``front``, a best value): the rows whose
        match flipped since the last sync are re-read, whole arrays compared rather than
        every row re-read."""
        mask = self.active_filter.mask(self.state)
        if mask is None:
            self._matched = None
            return None
        import numpy as np  # imported already: a mask exists

        before = self._matched
        if before is not None:
            common = min(len(before), len(mask))
            self._pending.rows_changed_many(np.flatnonzero(before[:common] != mask[:common]).tolist())
        self._matched = mask
        return mask

    def on_resize(self) -> None:
        # The density grid follows the plot's cells: a new size re-buckets with no new data.
        self.sync()

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

    def mark_history_loading(self, loading: bool) -> None:
        """A long history started or finished loading (``RepaintScheduler.catching_up``): the
        plot is not redrawn meanwhile, so its caption says that what it shows is not all."""
        self._history_loading = loading
        if self._key:
            self.border_subtitle = self._caption()

    def _caption(self) -> str:
        data = self.data
        if self._history_loading:
            loading = " (history loading…)"
        else:
            loading = "" if self._cloud is None or self._cloud.complete else " (loading…)"
        shown = "shown (filter)" if self.active_filter.active else "measured"
        caption = f"{data.measured:,} {shown} · {len(data.front[0]):,} on front"
        if data.unmarked and len(caption) + len(UNMARKED) + len(loading) <= self.size.width - 4:
            caption += UNMARKED  # only where it fits: the counts come first
        return caption + loading

    def _draw(self) -> None:
        """Show ``self.data``: the latest batch is an overlay on the plotext picture,
        which is rebuilt only when the rest of it (cloud, front, labels, limits) changed."""
        data = self.data
        self.border_subtitle = self._caption()
        front_x, front_y = self._front_marks()
        # The limits plotext would take from every series, latest batch included,
        # set explicitly: the picture stays valid under a new batch inside them.
        xs = (data.cloud[0], front_x, data.latest[0])
        ys = (data.cloud[1], front_y, data.latest[1])
        x_limits, y_limits = limits(xs), limits(ys)
        if data.cell_size is not None:  # one character cell a cloud cell (see ``centered``)
            x_limits = centered(x_limits, data.cell_size[0])
            y_limits = centered(y_limits, data.cell_size[1])
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
