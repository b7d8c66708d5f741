"""Pareto scatter (textual-plotext): measured candidates, the front as a line,
the latest batch marked.

With 100k candidates plotting every point costs ~200 ms a redraw, so the
cloud is thinned to one point per plot cell it occupies: every occupied cell
still shows a mark (a faithful picture of where candidates are), while the
front and the latest batch are always drawn in full.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from textual_plotext import PlotextPlot

from materia_tui.sanitize import clean
from materia_tui.state import CampaignState

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


def thin(xs: list[float], ys: list[float], columns: int, rows: int) -> tuple[list[float], list[float]]:
    """One point per occupied cell of a ``columns`` x ``rows`` grid over the data's extent."""
    if len(xs) <= columns * rows // 4:
        return xs, ys
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    kx = (columns - 1) / (x1 - x0) if x1 > x0 else 0.0
    ky = (rows - 1) / (y1 - y0) if y1 > y0 else 0.0
    seen: dict[tuple[int, int], tuple[float, float]] = {}
    for x, y in zip(xs, ys, strict=True):
        cell = (int((x - x0) * kx), int((y - y0) * ky))
        if cell not in seen:
            seen[cell] = (x, y)
    return [p[0] for p in seen.values()], [p[1] for p in seen.values()]


def scatter_data(
    state: CampaignState, x_name: str | None, y_name: str, columns: int, rows: int
) -> ScatterData:
    """What to draw for objectives ``x_name`` (None: the iteration) against ``y_name``."""
    data = ScatterData(
        x_label=axis_label(state, x_name) if x_name else "iteration",
        y_label=axis_label(state, y_name),
    )
    front_ids = set(state.front_ids())
    latest = set(state.latest_batch)
    xs: list[float] = []
    ys: list[float] = []
    for cand in state.candidate_list:
        if cand.status != "evaluated":
            continue
        objectives = cand.objectives
        y = objectives.get(y_name)
        x = objectives.get(x_name) if x_name else float(cand.iteration or 0)
        if x is None or y is None or not (math.isfinite(x) and math.isfinite(y)):
            continue
        data.measured += 1
        if cand.id in front_ids:
            data.front[0].append(x)
            data.front[1].append(y)
        else:
            xs.append(x)
            ys.append(y)
        if cand.id in latest:
            data.latest[0].append(x)
            data.latest[1].append(y)
    data.cloud = thin(xs, ys, columns, rows)
    if data.front[0]:
        pairs = sorted(zip(*data.front, strict=True))
        data.front = ([p[0] for p in pairs], [p[1] for p in pairs])
    data.front_as_line = x_name is not None and len(state.objectives) == 2
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
        axes = self.axes()
        size = self.size
        key = (self.state.revision, axes, size.width, size.height)
        if key == self._key:
            return
        self._key = key
        if axes is None:
            self.data = ScatterData()
        else:
            # One mark per cell, so the thinning grid is (about) the plot area's cell grid.
            columns, rows = max(10, size.width - 10), max(5, size.height - 4)
            self.data = scatter_data(self.state, axes[0], axes[1], columns, rows)
        self._draw()

    def _draw(self) -> None:
        plt = self.plt
        plt.clear_data()
        data = self.data
        plt.xlabel(data.x_label)
        plt.ylabel(data.y_label)
        plt.title(f"{data.measured:,} measured · {len(data.front[0]):,} on front")
        if data.cloud[0]:
            plt.scatter(data.cloud[0], data.cloud[1], marker=CLOUD_MARKER, color="gray")
        if data.front[0]:
            if data.front_as_line and len(data.front[0]) > 1:
                plt.plot(data.front[0], data.front[1], marker="braille", color="cyan")
            plt.scatter(data.front[0], data.front[1], marker=FRONT_MARKER, color="cyan")
        if data.latest[0]:
            plt.scatter(data.latest[0], data.latest[1], marker=LATEST_MARKER, color="orange")
        self.refresh()
