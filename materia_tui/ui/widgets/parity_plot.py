"""Predicted vs measured (a parity plot) for one objective, with the calibration
figures: can the surrogate be trusted?

``ParityPlot(state)`` is a caption over a plotext canvas (``PlotCanvas``). Points are
evaluated candidates that had a prediction (``materia_tui.state.calibration``),
predicted on x and measured on y, on equal axes with the y = x line; each is
coloured by its standardized error |z| = |measured - predicted| / sigma:
green within 1 sigma, orange within 2, red beyond, grey without an
uncertainty. With few points, horizontal error bars show ± sigma. The
caption holds n, RMSE, MAE, R², the coverage of ±1/±2 sigma (against 68% and
95%), the mean z and the calibration error.

Integration (the app): ``refresh_from_state(state)`` at the refresh rate (it
redraws only when a change set arrived, at most
``MAX_DRAWS_PER_SECOND`` while data streams in), ``cycle_objective()`` on a
key. The statistics cover every pair; the picture draws at most
``MAX_POINTS`` of them, a systematic sample (every k-th candidate in
first-seen order), so 100k candidates redraw as fast as 2k. Pairs are read from
the store's columns a block of rows at a time (``parity_stats``,
``parity_sample``), never a Python object per candidate nor every pair at once:
a million measured candidates draw in about 0.1 s.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from materia_tui.output.numbers import format_value
from materia_tui.sanitize import clean
from materia_tui.state import CampaignState
from materia_tui.state.calibration import (
    ONE_SIGMA_EXPECTED,
    TWO_SIGMA_EXPECTED,
    CalibrationStats,
    CalibrationTracker,
    ParityColumns,
    ParityPair,
    parity_sample,
    parity_stats,
)
from materia_tui.state.changes import ChangeSet
from materia_tui.ui.active_filter import FiltersCampaign
from materia_tui.ui.panel import Cadence
from materia_tui.ui.widgets.plot_canvas import PlotCanvas

if TYPE_CHECKING:
    from materia_tui.state.id_list import IdList

MAX_POINTS = 2_000  # sampled at most, then thinned to one mark per character cell
ERROR_BAR_MAX = 40  # error bars only while they stay readable
MAX_DRAWS_PER_SECOND = 4  # like the Pareto plot: a plotext build costs ~10-30 ms
MARGIN = 0.05  # of the data's span, around the plotted square

# by band(): no sigma, |z| <= 1, |z| <= 2, beyond
BAND_COLOURS: tuple[str, ...] = ("gray", "green", "orange", "red")
DIAGONAL_COLOUR = "cyan"
SIGMA = "\N{GREEK SMALL LETTER SIGMA}"


@dataclass(slots=True)
class ParityPicture:
    """What the canvas draws: one point series per colour, axis limits, error bars."""

    series: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)  # worst last
    limits: tuple[float, float] | None = None
    # per colour: (predicted, measured, sigma) of the points that have a sigma
    error_bars: dict[str, tuple[list[float], list[float], list[float]]] = field(default_factory=dict)
    sampled: int = 0  # pairs considered (all of them, or a systematic sample)
    marks: int = 0  # points drawn (at most one per character cell, unless with error bars)


def sampled_pairs(columns: ParityColumns, ids: IdList) -> list[ParityPair]:
    """The sample's pairs (``calibration.parity_sample``), each with its candidate's id."""
    return [columns.pair(index, ids[int(row)]) for index, row in enumerate(columns.rows)]


def band(pair: ParityPair) -> int:
    """Index into ``BAND_COLOURS``: 0 without a sigma, then |z| <= 1, <= 2, beyond."""
    sigma = pair.uncertainty
    if sigma is None:
        return 0
    size = abs(pair.measured - pair.predicted) / sigma
    return 1 if size <= 1 else 2 if size <= 2 else 3


def picture(sample: list[ParityPair], grid: tuple[int, int]) -> ParityPicture:
    """The marks for ``sample`` on a ``columns`` x ``rows`` plot area: one mark per
    character cell (more would not show), the worst band winning a shared cell
    so outliers stay visible; every point with its error bar when there are few."""
    result = ParityPicture(sampled=len(sample))
    if not sample:
        return result
    bars = len(sample) <= ERROR_BAR_MAX and any(p.uncertainty is not None for p in sample)
    spreads = [p.uncertainty or 0.0 for p in sample] if bars else [0.0] * len(sample)
    low = min(
        min(p.predicted - s for p, s in zip(sample, spreads, strict=True)), min(p.measured for p in sample)
    )
    high = max(
        max(p.predicted + s for p, s in zip(sample, spreads, strict=True)), max(p.measured for p in sample)
    )
    span = high - low or max(1.0, abs(high))  # one point, or all equal: a visible square around it
    low, high = low - MARGIN * span, high + MARGIN * span
    result.limits = (low, high)
    marks: list[tuple[int, ParityPair]]
    if bars:
        marks = [(band(p), p) for p in sample]
    else:
        columns, rows = grid
        x_scale, y_scale = columns / (high - low), rows / (high - low)
        cells: dict[tuple[int, int], tuple[int, ParityPair]] = {}
        for pair in sample:
            rank = band(pair)
            cell = (int((pair.predicted - low) * x_scale), int((pair.measured - low) * y_scale))
            kept = cells.get(cell)
            if kept is None or rank > kept[0]:
                cells[cell] = (rank, pair)
        marks = list(cells.values())
    result.marks = len(marks)
    for rank, pair in sorted(marks, key=lambda mark: mark[0]):  # worst drawn last, on top
        colour = BAND_COLOURS[rank]
        xs, ys = result.series.setdefault(colour, ([], []))
        xs.append(pair.predicted)
        ys.append(pair.measured)
        if bars and pair.uncertainty is not None:
            bar_xs, bar_ys, sigmas = result.error_bars.setdefault(colour, ([], [], []))
            bar_xs.append(pair.predicted)
            bar_ys.append(pair.measured)
            sigmas.append(pair.uncertainty)
    return result


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _number(value: float | None) -> str:
    return "-" if value is None else format_value(value)


def caption_text(
    name: str | None, unit: str | None, stats: CalibrationStats | None, sampled: int, position: str
) -> Text:
    """The caption: objective and unit (network strings, cleaned), then the figures."""
    text = Text(no_wrap=False)
    if name is None or stats is None:
        text.append("no measured candidates with a prediction yet", "dim")
        return text
    text.append(clean(name, 32), "bold")
    if unit:
        text.append(f" [{clean(unit, 16)}]")
    text.append(f" {position}", "dim")
    text.append(f"  n {stats.count:,}")
    if sampled < stats.count:
        text.append(f" (plot: a sample of {sampled:,})", "dim")
    text.append(f"  RMSE {_number(stats.rmse)}  MAE {_number(stats.mae)}  R² {_r2(stats.r2)}\n")
    if stats.with_uncertainty == 0:
        text.append("no uncertainties: calibration unknown", "dim")
        return text
    for mark, colour in (("|z|≤1 ", "green"), ("≤2 ", "dark_orange"), (">2  ", "red")):
        text.append("● ", colour)
        text.append(mark, "dim")
    text.append(f"±1{SIGMA} {_percent(stats.coverage_1sigma)} (exp. {ONE_SIGMA_EXPECTED:.0%})  ")
    text.append(f"±2{SIGMA} {_percent(stats.coverage_2sigma)} (exp. {TWO_SIGMA_EXPECTED:.0%})  ")
    mean_z = "-" if stats.mean_z is None else f"{stats.mean_z:+.2f}"
    text.append(f"mean z {mean_z}  ")
    error = "-" if stats.calibration_error is None else f"{stats.calibration_error:.3f}"
    text.append(f"calibration error {error}", "bold")
    if stats.with_uncertainty < stats.count:
        text.append(f" (of {stats.with_uncertainty:,} with {SIGMA})", "dim")
    return text


def _r2(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


class ParityCanvas(PlotCanvas):
    """The plot itself (plotext, see ``PlotCanvas``); ``ParityPlot`` hands it a ``ParityPicture``."""

    def __init__(self) -> None:
        super().__init__(id="parity-canvas")

    def draw(self, shown: ParityPicture, name: str | None) -> None:
        plt = self.plt
        plt.clear_data()
        label = clean(name, 24) if name else "objective"
        plt.xlabel(f"x: predicted {label}   y: measured")
        if shown.limits is not None:
            low, high = shown.limits
            plt.xlim(low, high)
            plt.ylim(low, high)
            plt.plot([low, high], [low, high], marker="braille", color=DIAGONAL_COLOUR)  # y = x
        for colour, (xs, ys, sigmas) in shown.error_bars.items():
            plt.error(xs, ys, xerr=sigmas, color=colour)
        for colour, (xs, ys) in shown.series.items():
            plt.scatter(xs, ys, marker="●" if shown.error_bars else "dot", color=colour)
        self.invalidate()


class ParityPlot(FiltersCampaign, Vertical):
    cadence: ClassVar[Cadence] = "plot"

    """Predicted vs measured for one objective, with its calibration figures.

    ``apply_changes``: redraw if the state changed (throttled);
    ``cycle_objective()``: show the next objective. ``caption`` (plain text),
    ``stats`` and ``objective`` say what is shown.
    """

    DEFAULT_CSS: ClassVar[str] = """
    ParityPlot {
        height: 1fr;
    }
    ParityPlot > #parity-caption {
        height: auto;
        padding: 0 1;
    }
    ParityPlot > #parity-canvas {
        height: 1fr;
        min-height: 6;
    }
    """

    def __init__(self, state: CampaignState, **panel: Any) -> None:
        super().__init__(state, **panel)
        self.tracker = CalibrationTracker()
        self.objective_index = 0
        self.objective: str | None = None
        self.stats: CalibrationStats | None = None
        self.shown = ParityPicture()
        self.draws = 0  # drawings made, for tests and benchmarks
        self._key: tuple[object, ...] = ()
        self._picture_key: tuple[object, ...] = ()
        self._drawn_at = 0.0
        self._deferred = False
        self._pending = ChangeSet()  # changes not yet given to the tracker
        self._history_loading = False  # a long history loads: not redrawn until it is in
        self._data_version = 0  # bumped by every change set that arrives

    def compose(self) -> ComposeResult:
        yield Static(id="parity-caption")
        yield ParityCanvas()

    def on_mount(self) -> None:
        self.border_title = "predicted vs measured"
        self._refresh_if_shown()

    def on_resize(self) -> None:
        self._refresh_if_shown()

    def _refresh_if_shown(self) -> None:
        # Hidden (the monitor's plot slot shows another plot), it reads nothing: the figures
        # cost ~10 ms an objective at a million candidates, spent only once someone looks.
        if self.state is not None and self.display:
            self.refresh_from_state(self.state)

    on_show = on_resize

    @property
    def canvas(self) -> ParityCanvas:
        return self.query_one(ParityCanvas)

    @property
    def caption(self) -> str:
        return self.caption_widget.content.plain if isinstance(self.caption_widget.content, Text) else ""

    @property
    def caption_widget(self) -> Static:
        return self.query_one("#parity-caption", Static)

    @property
    def up_to_date(self) -> bool:
        """Drawn from the current state (false while a throttled redraw waits)."""
        return (
            self.state is not None
            and bool(self._key)
            and self._key[0] == self._data_version
            and not self._deferred
            and self.tracker.complete
        )

    def cycle_objective(self) -> None:
        self.objective_index += 1
        if self.state is not None:
            self.refresh_from_state(self.state)

    def apply_changes(self, state: CampaignState, changes: ChangeSet, now: float) -> None:
        if changes:
            self._pending.merge(changes)
            self._data_version += 1
            self.refresh_from_state(state)

    def refresh_from_state(self, state: CampaignState) -> None:
        """Redraw from ``state`` if new changes, the objective or the size arrived;
        while data streams in, at most ``MAX_DRAWS_PER_SECOND`` times a second."""
        if state is not self.state:
            self.state, self._key = state, ()
        if not self.display:
            return  # hidden: nothing to draw; ``on_show`` catches up (the scheduler keeps the changes)
        if not self.query(ParityCanvas):
            return  # mounted while the view was painting, not composed yet: on_mount draws
        size = self.canvas.size
        generation = self.active_filter.generation
        key = (self._data_version, self.objective_index, size.width, size.height, generation)
        if key == self._key:
            return
        user_change = self._key[1:] != key[1:]
        wait = self._drawn_at + 1 / MAX_DRAWS_PER_SECOND - time.monotonic()
        if wait > 0 and not user_change:
            self._defer(wait)
            return
        self._key = key
        changes, self._pending = self._pending, ChangeSet()
        self.tracker.update(state, changes)
        self._draw(state)

    def filter_changed(self) -> None:
        """The view's ``/`` expression changed: the picture and figures of the matching candidates."""
        if self.state is not None:
            self.refresh_from_state(self.state)

    def _defer(self, delay: float) -> None:
        if not self._deferred:
            self._deferred = True
            self.set_timer(delay, self._deferred_refresh)

    def _deferred_refresh(self) -> None:
        self._deferred = False
        if self.state is not None:
            self.refresh_from_state(self.state)

    def _draw(self, state: CampaignState) -> None:
        size = self.canvas.size
        tracker = self.tracker
        selection = self.active_filter
        # Under a filter a row's match may move without its pair moving (``front``): the revision.
        matching = (selection.generation, state.revision) if selection.active else None
        shape = (self.objective_index, size.width, size.height)
        picture_key = (tracker.version, tracker.complete, *shape, matching)
        if picture_key == self._picture_key:
            return  # e.g. a proposal changed the state, not the pairs
        self._picture_key = picture_key
        names = tracker.objectives(state)
        name = names[self.objective_index % len(names)] if names else None
        stats: CalibrationStats | None = None
        sample: list[ParityPair] = []
        if name is not None:
            mask = selection.mask(state)
            stats = parity_stats(state, name, mask) if selection.active else tracker.stats(name)
            sample = sampled_pairs(parity_sample(state, name, mask, MAX_POINTS), state.store.ids)
        # The plot area is about the canvas less its axes.
        shown = picture(sample, (max(10, size.width - 10), max(5, size.height - 4)))
        self.objective, self.stats, self.shown = name, stats, shown
        self._caption(state, len(names))
        self.canvas.draw(shown, name)
        self.draws += 1
        self._drawn_at = time.monotonic()

    def mark_history_loading(self, loading: bool) -> None:
        """As ``ParetoPlot.mark_history_loading``: the caption says what it shows is not all."""
        self._history_loading = loading
        if self._picture_key and self.state is not None:  # drawn before: caption it again
            self._caption(self.state, len(self.tracker.objectives(self.state)))

    def _caption(self, state: CampaignState, objectives: int) -> None:
        name = self.objective
        position = f"({self.objective_index % objectives + 1}/{objectives})" if objectives else ""
        caption = caption_text(
            name, state.units.get(name) if name else None, self.stats, self.shown.sampled, position
        )
        if self._history_loading:
            caption.append(" (history loading…)", "dim")
        self.caption_widget.update(caption)
