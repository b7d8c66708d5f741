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

A monitor redraws while 100k candidates stream in, so ``CalibrationTracker``
keeps every objective's pairs and running sums up to date from the
candidates changed since its last update (O(changes) per update, O(levels)
per statistics query). ``calibration_stats`` is the batch form of the same
arithmetic.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import NamedTuple

from materia_tui.state.changes import ChangeSet, RowFollower
from materia_tui.state.reducer import CampaignState
from materia_tui.state.views import CandidateView

DEFAULT_LEVELS: tuple[float, ...] = tuple(round(0.1 * k, 1) for k in range(1, 10))
MEASURED_STATUSES = frozenset({"evaluated", "infeasible"})
ONE_SIGMA_EXPECTED = 2 * NormalDist().cdf(1.0) - 1  # 0.6827
TWO_SIGMA_EXPECTED = 2 * NormalDist().cdf(2.0) - 1  # 0.9545
COLD_CHUNK = 5_000  # candidates per step of a tracker's first catch-up (~10-20 ms)


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


class CalibrationTracker:
    """Every objective's pairs (by candidate row) and running statistics, kept up
    to date with ``update(state)`` from the candidates changed since the last call.

    A first update over a large state is spread over calls of ``COLD_CHUNK``
    candidates (``complete`` is False meanwhile) so a UI never stalls on it.
    A tracker follows one state object; handed another, it starts over.
    """

    def __init__(self, levels: Sequence[float] = DEFAULT_LEVELS) -> None:
        self.levels = tuple(levels)
        self.version = 0  # bumped whenever a pair was added, changed or removed
        self._state_id: int | None = None
        self._reset()

    def _reset(self) -> None:
        self.pairs: dict[str, dict[int, ParityPair]] = {}
        self._accumulators: dict[str, CalibrationAccumulator] = {}
        self._follower = RowFollower(COLD_CHUNK)

    @property
    def complete(self) -> bool:
        return self._follower.complete and self._state_id is not None

    def update(self, state: CampaignState, changes: ChangeSet, chunk: int = COLD_CHUNK) -> None:
        """Take ``changes`` (what the reducer changed since the last call)."""
        if self._state_id != id(state):
            self._reset()
            self.version += 1
            self._state_id = id(state)
        rows = state.candidate_list
        self._follower.chunk = chunk
        first = self._follower.first_pass(len(rows), changes)
        if first is not None:
            self._take(rows[first.start : first.stop])
            if not self._follower.complete or not self._follower.holding:
                return
            changes = ChangeSet()  # caught up: take what changed meanwhile at once
        changes = self._follower.after(changes)
        self._take(rows[row] for row in sorted(changes.changed_rows(len(rows))))

    def _take(self, candidates: Iterable[CandidateView]) -> None:
        added: dict[str, list[ParityPair]] = {}
        removed: dict[str, list[ParityPair]] = {}
        tracked = self.pairs
        no_names: frozenset[str] = frozenset()
        for cand in candidates:
            row = cand.row
            measured = cand.status in MEASURED_STATUSES
            names = cand.predicted.keys() & cand.objectives.keys() if measured else no_names
            for name in names:
                pairs = tracked.get(name)
                if pairs is None:
                    pairs = tracked[name] = {}
                    self._accumulators[name] = CalibrationAccumulator(name, self.levels)
                new = pair_of(cand, name)
                old = pairs.get(row)
                if old == new:
                    continue
                if old is not None:
                    removed.setdefault(name, []).append(old)
                    del pairs[row]
                if new is not None:
                    added.setdefault(name, []).append(new)
                    pairs[row] = new
            for name, pairs in tracked.items():  # pairs it had and lost (a failed re-measurement)
                if name not in names and row in pairs:
                    removed.setdefault(name, []).append(pairs.pop(row))
        for name, gone in removed.items():
            self._accumulators[name].fold(gone, -1)
        for name, fresh in added.items():
            self._accumulators[name].fold(fresh, 1)
        if added or removed:
            self.version += 1

    def objectives(self, state: CampaignState) -> list[str]:
        """Objectives with at least one pair, in the state's order."""
        known = [name for name in state.objectives if self.pairs.get(name)]
        return known + [name for name, pairs in self.pairs.items() if pairs and name not in known]

    def stats(self, objective: str) -> CalibrationStats:
        accumulator = self._accumulators.get(objective)
        if accumulator is None:
            return CalibrationAccumulator(objective, self.levels).stats()
        return accumulator.stats()


__all__ = [
    "DEFAULT_LEVELS",
    "ONE_SIGMA_EXPECTED",
    "TWO_SIGMA_EXPECTED",
    "CalibrationAccumulator",
    "CalibrationStats",
    "CalibrationTracker",
    "ParityPair",
    "calibration_stats",
    "campaign_calibration",
    "interval_half_widths",
    "pair_of",
    "parity_pairs",
]
