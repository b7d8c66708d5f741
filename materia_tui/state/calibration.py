"""Is the surrogate trustworthy? Predicted vs measured values and their calibration.

Pure numbers behind the parity view (no Textual, no I/O). For each objective,
a *pair* is an evaluated candidate that had a prediction: (predicted,
measured, uncertainty). Over the pairs of one objective:

- accuracy: RMSE, mean absolute error, and R² = 1 - SS_res / SS_tot (the
  coefficient of determination of the measured values by the predictions,
  not a squared correlation: a biased surrogate scores below 1 even if
  perfectly correlated);
- calibration, over the pairs whose uncertainty is a positive number:
  the standardized error z = (measured - predicted) / sigma (mean and RMS; a
  calibrated Gaussian surrogate has mean 0 and RMS 1, RMS > 1 means it is
  over-confident), the coverage of the ±1 sigma and ±2 sigma intervals (68.3% and
  95.4% expected), and one *calibration error*: the mean absolute
  difference between the observed and the expected coverage of the central
  Gaussian intervals at levels 10%, 20%, ..., 90% (the "mean absolute
  calibration error" of regression calibration, e.g. Kuleshov et al. 2018;
  Tran et al. 2020, uncertainty-toolbox). 0 is perfect, 0.5 the worst.

Measured means an evaluation that produced values: status ``evaluated`` or
``infeasible`` (an infeasible candidate was still measured; it broke a
constraint). Failed evaluations and proposals have no measurement.

The monitor reads the pairs straight from the store's columns
(``parity_columns``: numpy over the predicted, measured and uncertainty
columns, no Python object per candidate) and ``CalibrationTracker`` recomputes
the figures from them when the candidates changed: ~10 ms an objective at a
million candidates. It kept a tuple per pair and objective before, ~300 B
each: 900 MB and a minute of catching up at a million candidates.
``calibration_stats`` (over ``ParityPair`` tuples, e.g. ``parity_pairs``) is
the same arithmetic one pair at a time, the reference the columns are tested
against.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, NamedTuple

from materia_tui.state.changes import ChangeSet
from materia_tui.state.reducer import CampaignState
from materia_tui.state.views import CandidateView

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]
    RowArray = npt.NDArray[np.intp]

DEFAULT_LEVELS: tuple[float, ...] = tuple(round(0.1 * k, 1) for k in range(1, 10))
MEASURED_STATUSES = frozenset({"evaluated", "infeasible"})
ONE_SIGMA_EXPECTED = 2 * NormalDist().cdf(1.0) - 1  # 0.6827
TWO_SIGMA_EXPECTED = 2 * NormalDist().cdf(2.0) - 1  # 0.9545


class ParityPair(NamedTuple):
    """One evaluated candidate's prediction and measurement of one objective.

    (A tuple: a monitor builds one per candidate and objective, 100k at a time.)"""

    candidate_id: str
    row: int  # the candidate's position in ``state.candidate_list``
    predicted: float
    measured: float
    uncertainty: float | None  # the surrogate's std; None when missing, zero or not finite

    @property
    def residual(self) -> float:
        return self.measured - self.predicted

    @property
    def z(self) -> float | None:
        """Standardized error (measured - predicted) / sigma; None without a usable sigma."""
        return None if self.uncertainty is None else self.residual / self.uncertainty


@dataclass(frozen=True, slots=True)
class CalibrationStats:
    """Accuracy and calibration of one objective's predictions (None: not enough data)."""

    objective: str
    count: int  # pairs
    with_uncertainty: int  # pairs with a usable sigma (the calibration figures use only these)
    rmse: float | None
    mae: float | None
    r2: float | None  # None with fewer than 2 pairs or measured values that do not vary
    mean_z: float | None
    rms_z: float | None
    coverage_1sigma: float | None  # fraction of |z| <= 1 (expect ONE_SIGMA_EXPECTED)
    coverage_2sigma: float | None  # fraction of |z| <= 2 (expect TWO_SIGMA_EXPECTED)
    calibration_error: float | None  # mean |observed - expected| coverage over the levels
    levels: tuple[float, ...] = DEFAULT_LEVELS
    observed_coverage: tuple[float, ...] = ()  # per level, when with_uncertainty > 0


def usable_sigma(value: float | None) -> float | None:
    if value is None or not math.isfinite(value) or value <= 0:
        return None
    return value


def pair_of(cand: CandidateView, objective: str) -> ParityPair | None:
    """The candidate's (predicted, measured, sigma) for ``objective``, if it was measured and predicted."""
    if cand.status not in MEASURED_STATUSES:
        return None
    predicted = cand.predicted.get(objective)
    measured = cand.objectives.get(objective)
    if predicted is None or measured is None or not (math.isfinite(predicted) and math.isfinite(measured)):
        return None
    return ParityPair(cand.id, cand.row, predicted, measured, usable_sigma(cand.uncertainty.get(objective)))


def parity_pairs(state: CampaignState, objective: str) -> list[ParityPair]:
    """Every pair of ``objective``, in the order candidates were first seen."""
    return [p for p in (pair_of(c, objective) for c in state.candidate_list) if p is not None]


def interval_half_widths(levels: Sequence[float]) -> tuple[float, ...]:
    """|z| bound of the central Gaussian interval holding each level (0.683 -> 1.0)."""
    for level in levels:
        if not 0 < level < 1:
            raise ValueError(f"coverage levels lie strictly between 0 and 1, not {level!r}")
    return tuple(NormalDist().inv_cdf(0.5 + level / 2) for level in levels)


class CalibrationAccumulator:
    """Running sums over pairs that can be added and removed (a re-measured candidate).

    R² needs the variance of the measured values; sums of values shifted by the
    first value seen keep it exact when the values are large and close together.
    Coverage is a histogram of |z| over the interval bounds (levels, 1 sigma, 2 sigma), so
    adding or removing a pair costs one bisection.
    """

    def __init__(self, objective: str, levels: Sequence[float] = DEFAULT_LEVELS) -> None:
        self.objective = objective
        self.levels = tuple(levels)
        self._bounds = sorted({*interval_half_widths(self.levels), 1.0, 2.0})
        self._bound_index = {bound: i for i, bound in enumerate(self._bounds)}
        self._level_bounds = interval_half_widths(self.levels)
        self._bins = [0] * (len(self._bounds) + 1)  # bins[i]: bounds[i-1] < |z| <= bounds[i]
        self.count = 0
        self.with_uncertainty = 0
        self._shift: float | None = None
        self._sum_squared_residual = 0.0
        self._sum_abs_residual = 0.0
        self._sum_measured = 0.0  # shifted
        self._sum_squared_measured = 0.0  # shifted
        self._sum_z = 0.0
        self._sum_squared_z = 0.0

    def add(self, pair: ParityPair) -> None:
        self.fold([pair], 1)

    def remove(self, pair: ParityPair) -> None:
        self.fold([pair], -1)

    def fold(self, pairs: Iterable[ParityPair], sign: int) -> None:
        """Add (``sign`` 1) or remove (-1) ``pairs``: one pass over local sums,
        since a first catch-up folds 100k pairs."""
        bins, bounds = self._bins, self._bounds
        shift = self._shift
        count = with_sigma = 0
        squared_residual = abs_residual = measured_sum = squared_measured = z_sum = squared_z = 0.0
        for _, _, predicted, measured, sigma in pairs:
            if shift is None:
                shift = measured
            residual = measured - predicted
            shifted = measured - shift
            count += 1
            squared_residual += residual * residual
            abs_residual += abs(residual)
            measured_sum += shifted
            squared_measured += shifted * shifted
            if sigma is not None:
                z = residual / sigma
                with_sigma += 1
                z_sum += z
                squared_z += z * z
                bins[bisect_left(bounds, abs(z))] += sign
        self._shift = shift
        self.count += sign * count
        self.with_uncertainty += sign * with_sigma
        self._sum_squared_residual += sign * squared_residual
        self._sum_abs_residual += sign * abs_residual
        self._sum_measured += sign * measured_sum
        self._sum_squared_measured += sign * squared_measured
        self._sum_z += sign * z_sum
        self._sum_squared_z += sign * squared_z
        if self.count == 0:
            self._reset_sums()  # no drift survives an emptied accumulator

    def fold_columns(self, predicted: FloatArray, measured: FloatArray, sigma: FloatArray) -> None:
        """Add the pairs held as columns (``sigma`` NaN: none): ``fold`` with numpy."""
        import numpy as np

        if not len(measured):
            return
        if self._shift is None:
            self._shift = float(measured[0])
        residual = measured - predicted
        shifted = measured - self._shift
        self.count += len(measured)
        self._sum_squared_residual += float(np.square(residual).sum())
        self._sum_abs_residual += float(np.abs(residual).sum())
        self._sum_measured += float(shifted.sum())
        self._sum_squared_measured += float(np.square(shifted).sum())
        has_sigma = ~np.isnan(sigma)
        z = residual[has_sigma] / sigma[has_sigma]
        self.with_uncertainty += len(z)
        self._sum_z += float(z.sum())
        self._sum_squared_z += float(np.square(z).sum())
        # The bins ``fold`` fills by bisect_left (bounds[i-1] < |z| <= bounds[i]), as differences
        # of the counts at or under each bound: a pass a bound, ten times faster than a bisection
        # a pair (searchsorted) at a million.
        size = np.abs(z)
        under = [int(np.count_nonzero(size <= bound)) for bound in self._bounds] + [len(size)]
        self._bins = [
            held + now - before for held, now, before in zip(self._bins, under, [0, *under], strict=False)
        ]

    def _reset_sums(self) -> None:
        self._shift = None
        self._sum_squared_residual = self._sum_abs_residual = 0.0
        self._sum_measured = self._sum_squared_measured = 0.0
        self._sum_z = self._sum_squared_z = 0.0
        self._bins = [0] * len(self._bins)
        self.with_uncertainty = 0

    def _coverage(self, bound: float) -> float:
        """Fraction of pairs with a sigma whose |z| <= bound (a bound of ``self._bounds``)."""
        within = sum(self._bins[: self._bound_index[bound] + 1])
        return within / self.with_uncertainty

    def stats(self) -> CalibrationStats:
        n = self.count
        if n <= 0:
            return CalibrationStats(self.objective, 0, 0, *(None,) * 8, levels=self.levels)
        rmse = math.sqrt(max(0.0, self._sum_squared_residual) / n)
        mae = max(0.0, self._sum_abs_residual) / n
        r2 = None
        total = self._sum_squared_measured - self._sum_measured**2 / n  # SS_tot
        # Measured values that do not vary leave no variance to explain (the
        # tolerance absorbs rounding left by removed pairs).
        if n >= 2 and total > 1e-12 * self._sum_squared_measured:
            r2 = 1 - max(0.0, self._sum_squared_residual) / total
        k = self.with_uncertainty
        if k <= 0:
            return CalibrationStats(
                self.objective, n, 0, rmse, mae, r2, None, None, None, None, None, levels=self.levels
            )
        observed = tuple(self._coverage(bound) for bound in self._level_bounds)
        error = sum(abs(o - level) for o, level in zip(observed, self.levels, strict=True)) / len(self.levels)
        return CalibrationStats(
            objective=self.objective,
            count=n,
            with_uncertainty=k,
            rmse=rmse,
            mae=mae,
            r2=r2,
            mean_z=self._sum_z / k,
            rms_z=math.sqrt(max(0.0, self._sum_squared_z) / k),
            coverage_1sigma=self._coverage(1.0),
            coverage_2sigma=self._coverage(2.0),
            calibration_error=error,
            levels=self.levels,
            observed_coverage=observed,
        )


def calibration_stats(
    objective: str, pairs: Iterable[ParityPair], levels: Sequence[float] = DEFAULT_LEVELS
) -> CalibrationStats:
    """The statistics of ``pairs`` (all of one objective)."""
    accumulator = CalibrationAccumulator(objective, levels)
    for pair in pairs:
        accumulator.add(pair)
    return accumulator.stats()


def campaign_calibration(
    state: CampaignState, levels: Sequence[float] = DEFAULT_LEVELS
) -> dict[str, CalibrationStats]:
    """Every objective's statistics, in the state's objective order."""
    return {name: calibration_stats(name, parity_pairs(state, name), levels) for name in state.objectives}


@dataclass(frozen=True, slots=True)
class ParityColumns:
    """One objective's pairs as columns, in row order: the rows, and their predicted and
    measured values and usable sigma (NaN: none)."""

    objective: str
    rows: RowArray
    predicted: FloatArray
    measured: FloatArray
    sigma: FloatArray

    def __len__(self) -> int:
        return len(self.rows)

    def pair(self, index: int, candidate_id: str) -> ParityPair:
        sigma = float(self.sigma[index])
        return ParityPair(
            candidate_id,
            int(self.rows[index]),
            float(self.predicted[index]),
            float(self.measured[index]),
            None if math.isnan(sigma) else sigma,
        )


def parity_columns(
    state: CampaignState, objective: str, keep: Any = None, start: int = 0, stop: int | None = None
) -> ParityColumns:
    """The pairs of ``objective`` read from the store's columns (``keep``: a bool per row,
    rows past its end left out; None: every row), as ``parity_pairs`` finds them; of rows
    ``start:stop`` only (default: all)."""
    return pairs_at(state, objective, parity_rows(state, objective, keep, start, stop))


def parity_rows(
    state: CampaignState, objective: str, keep: Any = None, start: int = 0, stop: int | None = None
) -> RowArray:
    """``parity_columns(...).rows``: the rows holding a pair, without their values."""
    import numpy as np

    from materia_tui.state.live_columns import measured_rows

    store = state.store
    predicted_column = store.float_column("pred:" + objective)
    if predicted_column is None or store.float_column("obj:" + objective) is None:
        return np.empty(0, dtype=np.intp)
    rows = measured_rows(state, objective, start, stop)  # the measured ones (as the views count them)
    chosen = np.isfinite(np.frombuffer(predicted_column, dtype=np.float64, count=len(store))[rows])
    if keep is not None:
        shown = np.asarray(keep, dtype=bool)
        inside = rows < len(shown)
        chosen[inside] &= shown[rows[inside]]
        chosen[~inside] = False  # rows past the mask's end
    picked: RowArray = rows[chosen]
    return picked


def pairs_at(state: CampaignState, objective: str, rows: RowArray) -> ParityColumns:
    """The pairs of ``rows`` (rows holding one, ascending: ``parity_rows``) with their values."""
    import numpy as np

    store = state.store
    count = len(store)
    predicted_column = store.float_column("pred:" + objective)
    measured_column = store.float_column("obj:" + objective)
    if not len(rows) or predicted_column is None or measured_column is None:
        empty = np.empty(0)
        return ParityColumns(objective, np.empty(0, dtype=np.intp), empty, empty, empty)
    predicted = np.frombuffer(predicted_column, dtype=np.float64, count=count)
    measured = np.frombuffer(measured_column, dtype=np.float64, count=count)
    sigma_column = store.float_column("unc:" + objective)
    if sigma_column is None:
        sigma = np.full(len(rows), math.nan)
    else:
        sigma = np.frombuffer(sigma_column, dtype=np.float64, count=count)[rows]
        sigma[~(np.isfinite(sigma) & (sigma > 0))] = math.nan  # as ``usable_sigma``
    return ParityColumns(objective, rows, predicted[rows], measured[rows], sigma)


def parity_sample(state: CampaignState, objective: str, keep: Any, cap: int) -> ParityColumns:
    """At most about ``cap`` pairs: all of them, or those of every k-th candidate row
    (rows are first-seen order, so the sample spans the campaign evenly and stays put as
    it grows). The pairs' rows are found ``PARITY_BLOCK`` rows at a time (temporaries of a
    block's size), and only the sampled rows' values are read."""
    import numpy as np

    blocks = [
        parity_rows(state, objective, keep, start, start + PARITY_BLOCK)
        for start in range(0, len(state.store), PARITY_BLOCK)
    ]
    held = sum(len(rows) for rows in blocks)
    step = 1 if held <= cap else math.ceil(held / cap)
    picked = [rows if step == 1 else rows[rows % step == 0] for rows in blocks]
    return pairs_at(state, objective, np.concatenate(picked) if picked else np.empty(0, dtype=np.intp))


def column_stats(columns: ParityColumns, levels: Sequence[float] = DEFAULT_LEVELS) -> CalibrationStats:
    """``calibration_stats`` of the pairs held as columns."""
    accumulator = CalibrationAccumulator(columns.objective, levels)
    accumulator.fold_columns(columns.predicted, columns.measured, columns.sigma)
    return accumulator.stats()


PARITY_BLOCK = 1 << 17  # rows read a step by ``parity_stats``


def parity_stats(
    state: CampaignState, objective: str, keep: Any = None, levels: Sequence[float] = DEFAULT_LEVELS
) -> CalibrationStats:
    """``column_stats(parity_columns(state, objective, keep))``, read and folded a block of
    ``PARITY_BLOCK`` rows at a time: the same sums (up to rounding), with temporaries of
    a block's size, not the campaign's (the pairs and their residuals held whole were
    ~60 MB at a million candidates)."""
    accumulator = CalibrationAccumulator(objective, levels)
    count = len(state.store)
    for start in range(0, count, PARITY_BLOCK):
        block = parity_columns(state, objective, keep, start, start + PARITY_BLOCK)
        accumulator.fold_columns(block.predicted, block.measured, block.sigma)
    return accumulator.stats()


def _pairing_names(state: CampaignState) -> list[str]:
    """Objectives that can have pairs (a prediction column and a measurement column),
    the state's objectives first."""
    store = state.store
    predicted, measured = store.sections[1], store.sections[3]
    names = [name for name in state.objectives if name in predicted and name in measured]
    return names + [name for name in measured if name in predicted and name not in names]


class CalibrationTracker:
    """Every objective's figures, recomputed from the columns (``parity_stats``) when
    ``update`` is handed a state that changed. ``version`` moves only when some
    objective's figures did (a proposal pairs nothing: it stays)."""

    def __init__(self, levels: Sequence[float] = DEFAULT_LEVELS) -> None:
        self.levels = tuple(levels)
        self.version = 0
        self._state_id: int | None = None
        self._stats: dict[str, CalibrationStats] = {}

    @property
    def complete(self) -> bool:
        """Updated at least once (the figures are computed whole, in one update)."""
        return self._state_id is not None

    @property
    def pairs_counted(self) -> int:
        """Pairs behind the figures, over every objective (0 before an update)."""
        return sum(stats.count for stats in self._stats.values())

    def update(self, state: CampaignState, changes: ChangeSet) -> None:
        """Take ``changes`` (what the reducer changed since the last call)."""
        if self._state_id == id(state) and not changes:
            return
        if self._state_id != id(state):
            self._state_id = id(state)
            self._stats = {}
            self.version += 1
        figures = (parity_stats(state, name, None, self.levels) for name in _pairing_names(state))
        stats = {found.objective: found for found in figures if found.count}
        if stats != self._stats:
            self._stats = stats
            self.version += 1

    def objectives(self, state: CampaignState) -> list[str]:
        """Objectives with at least one pair, in the state's order."""
        known = [name for name in state.objectives if name in self._stats]
        return known + [name for name in self._stats if name not in known]

    def stats(self, objective: str) -> CalibrationStats:
        found = self._stats.get(objective)
        return found if found is not None else CalibrationAccumulator(objective, self.levels).stats()


__all__ = [
    "DEFAULT_LEVELS",
    "ONE_SIGMA_EXPECTED",
    "TWO_SIGMA_EXPECTED",
    "CalibrationAccumulator",
    "CalibrationStats",
    "CalibrationTracker",
    "ParityColumns",
    "ParityPair",
    "calibration_stats",
    "campaign_calibration",
    "column_stats",
    "interval_half_widths",
    "pair_of",
    "pairs_at",
    "parity_columns",
    "parity_pairs",
    "parity_rows",
    "parity_sample",
    "parity_stats",
]
