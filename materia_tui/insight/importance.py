"""Which parameters explain an objective's measured values: permutation importance on a random forest.

Method. For one objective, a random forest (scikit-learn's
``RandomForestRegressor``) learns the measured value from the parameters;
a parameter's importance is how much worse the forest predicts *held-out*
measurements when that parameter's column is shuffled (permutation
importance, Breiman 2001; Fisher, Rudin and Dominici 2019), as a fraction of
the objective's variance:

    drop_j = (MSE with column j shuffled - MSE) / Var(y)

averaged over ``repeats`` shuffles and over the held-out parts (3-fold
cross-fitting below 2,000 measurements, so every measurement is held out
once; one 75/25 split above, where a quarter is plenty). The scores are the
drops clipped at 0 and normalized to sum to 1.

Why this method and not an fANOVA decomposition:

- interactions: shuffling a parameter breaks every effect it takes part in,
  so both parameters of a pure interaction (y = sign(x1 * x2)) score high;
  an fANOVA *main-effect* ranking gives both nearly zero, and summing its
  interaction terms back needs a per-tree decomposition scikit-learn does not
  provide;
- categorical parameters: a categorical parameter is one column of category
  codes, so it is shuffled as one parameter and gets one score (one-hot
  encoding would split it across columns); trees split codes in any grouping
  given enough depth, so no order is implied in the result;
- integers are numbers (ordered), continuous ones too; missing values are
  NaN, which the forest routes at each split (scikit-learn >= 1.4);
- held out: a forest fits its training rows almost perfectly, so importance
  measured on them would credit noise; on held-out rows it measures what
  generalizes. Its cost is bounded and predictable: a few forest fits.

Known limit: correlated parameters share credit unevenly (shuffling one
while its twin stays leaves the forest a substitute), as with every
permutation method; the view says "explains", not "causes".

When nothing is explained (the forest's held-out R² <= 0, or the clipped
drops sum below ``MIN_EXPLAINED``, 1% of the variance, or the objective does
not vary, or fewer than ``MIN_ROWS`` measurements): ``informative`` is
False and the scores are uniform (1/k each), because the issue's JSON needs
each objective's values to sum to 1 and no parameter can be said to matter
more than another. A view should say so instead of drawing bars.

Cost at scale: at most ``max_rows`` measurements (5,000) are used, a
uniform random sample of the measured rows (fixed by ``seed``): "which
parameters matter" is a question about the whole campaign, and the most
recent rows would describe only where the optimizer currently exploits.
Only the sampled rows are read from the parameter columns, so 1M rows cost
one pass over the objective column plus a few forest fits (about 1-2 s per
objective on one core). Deterministic for a seed. scikit-learn is imported
inside the function (the ``demo`` extra).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

ParameterKind = Literal["continuous", "integer", "categorical"]
FloatArray = NDArray[np.float64]

MAX_ROWS = 5_000
MIN_ROWS = 10
MIN_EXPLAINED = 0.01  # of the objective's variance: below this, nothing is said to matter
CROSS_FIT_BELOW = 2_000  # rows: 3-fold cross-fitting below, one 75/25 split above
TREES = 48
MIN_LEAF = 3
REPEATS = 3


@dataclass(frozen=True, slots=True)
class Importance:
    """The importance of each parameter for one objective."""

    scores: dict[str, float]  # >= 0, sum to 1; uniform when not ``informative``
    drops: dict[str, float]  # mean held-out loss of R² when shuffled (may be slightly < 0: noise)
    r2: float | None  # the forest's held-out R²; None when no forest was fitted
    rows: int  # measurements the ranking rests on (after sampling)
    measured: int  # measurements available
    informative: bool
    kinds: dict[str, ParameterKind] = field(default_factory=dict)
    reason: str = ""  # why not informative, one sentence

    def ranking(self) -> list[tuple[str, float]]:
        """(parameter, score), most important first; ties by name."""
        return sorted(self.scores.items(), key=lambda item: (-item[1], item[0]))


Column = Sequence[object] | NDArray[Any]


def parameter_importance(
    parameters: Mapping[str, Column],
    objective: Column,
    *,
    kinds: Mapping[str, ParameterKind] | None = None,
    max_rows: int = MAX_ROWS,
    seed: int = 0,
    sample: Sample | None = None,
) -> Importance:
    """Importance of each parameter for one objective's measured values.

    ``parameters``: name -> column of values (numbers, strings, bools, None),
    all as long as ``objective``: the measured values, None/NaN where not
    measured (those rows are left out). ``kinds`` overrides the detected kind
    of a parameter; otherwise a column with any string or bool is
    categorical, one of integers only is integer, anything else continuous.
    ``sample``: the rows already sampled (``sample_rows`` of the whole campaign's
    measured rows, then given as positions in these columns, which may hold only
    the sampled rows) and how many were measured; None samples ``objective`` here.
    """
    names = list(parameters)
    y_all = _floats(objective)
    if sample is None:
        measured_rows = np.flatnonzero(np.isfinite(y_all))
        sample = Sample(sample_rows(measured_rows, max_rows, seed), len(measured_rows))
    rows = sample.rows
    y = y_all[rows]
    columns = {name: _take(parameters[name], rows, len(y_all), name) for name in names}
    detected: dict[str, ParameterKind] = {
        name: (kinds or {}).get(name) or _detect_kind(values) for name, values in columns.items()
    }
    counts = (len(rows), sample.measured)
    if not names:
        return Importance({}, {}, None, *counts, informative=False, kinds={}, reason="no parameters")
    if len(rows) < MIN_ROWS:
        reason = f"only {len(rows)} measurements (at least {MIN_ROWS} needed)"
        return _uniform(names, {}, None, counts, detected, reason)
    if float(np.ptp(y)) == 0.0:
        return _uniform(names, {}, None, counts, detected, "the measured values do not vary")
    x = np.column_stack([_encode(columns[name], detected[name]) for name in names])
    drops, r2 = _permutation_drops(x, y, seed)
    drop_by_name = {name: float(d) for name, d in zip(names, drops, strict=True)}
    clipped = np.clip(drops, 0.0, None)
    if r2 <= 0.0 or float(clipped.sum()) < MIN_EXPLAINED:
        reason = f"the parameters explain none of the variation (held-out R² {r2:.2f})"
        return _uniform(names, drop_by_name, r2, counts, detected, reason)
    scores = {name: float(s) for name, s in zip(names, clipped / clipped.sum(), strict=True)}
    return Importance(scores, drop_by_name, r2, *counts, informative=True, kinds=detected)


def importance_by_objective(
    parameters: Mapping[str, Column],
    objectives: Mapping[str, Column],
    *,
    kinds: Mapping[str, ParameterKind] | None = None,
    max_rows: int = MAX_ROWS,
    seed: int = 0,
    samples: Mapping[str, Sample] | None = None,
) -> dict[str, Importance]:
    """``parameter_importance`` for each objective (same sampling rule, same seed;
    ``samples``: each objective's rows already sampled, see ``parameter_importance``)."""
    return {
        name: parameter_importance(
            parameters,
            column,
            kinds=kinds,
            max_rows=max_rows,
            seed=seed,
            sample=None if samples is None else samples[name],
        )
        for name, column in objectives.items()
    }


# ----- inputs ----------------------------------------------------------------------


def _floats(column: Column) -> FloatArray:
    try:
        return np.asarray(column, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):  # text among the values: those rows are not measurements
        return np.array([_float_or_nan(v) for v in column], dtype=np.float64)


def _float_or_nan(value: object) -> float:
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_):
        return float(value)
    return float("nan")


@dataclass(frozen=True, slots=True)
class Sample:
    """The measured rows an importance rests on, and how many measured rows there were."""

    rows: NDArray[np.intp]
    measured: int


def sample_rows(rows: NDArray[np.intp], cap: int = MAX_ROWS, seed: int = 0) -> NDArray[np.intp]:
    """A uniform random sample of ``cap`` of the measured ``rows`` (all of them up to
    ``cap``), ascending, fixed by ``seed``: the rows ``parameter_importance`` reads."""
    if len(rows) <= cap:
        return rows
    chosen = np.random.default_rng(seed).choice(len(rows), size=cap, replace=False)
    return rows[np.sort(chosen)]


def _take(column: Column, rows: NDArray[np.intp], length: int, name: str) -> list[object]:
    if len(column) != length:
        raise ValueError(f"parameter {name!r} has {len(column)} values for {length} objective values")
    if isinstance(column, np.ndarray):
        return list(column[rows].tolist())
    return [column[int(i)] for i in rows]


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _detect_kind(values: Sequence[object]) -> ParameterKind:
    present = [v for v in values if not _missing(v)]
    if not present:
        return "continuous"  # nothing to go by; an all-missing column explains nothing anyway
    numbers = int | float | np.integer | np.floating
    if any(isinstance(v, bool | np.bool_) or not isinstance(v, numbers) for v in present):
        return "categorical"
    if all(isinstance(v, int | np.integer) for v in present):
        return "integer"
    return "continuous"


def _encode(values: Sequence[object], kind: ParameterKind) -> FloatArray:
    if kind != "categorical":
        return np.array([_float_or_nan(v) for v in values], dtype=np.float64)
    # Codes in the sorted order of the values' text: the same data, the same codes.
    labels = {label: code for code, label in enumerate(sorted({str(v) for v in values if not _missing(v)}))}
    return np.array([np.nan if _missing(v) else labels[str(v)] for v in values], dtype=np.float64)


def _uniform(
    names: list[str],
    drops: dict[str, float],
    r2: float | None,
    counts: tuple[int, int],
    kinds: dict[str, ParameterKind],
    reason: str,
) -> Importance:
    share = 1.0 / len(names)
    scores = {name: share for name in names}
    return Importance(scores, drops, r2, *counts, informative=False, kinds=kinds, reason=reason)


# ----- the forest ------------------------------------------------------------------


def _permutation_drops(x: FloatArray, y: FloatArray, seed: int) -> tuple[FloatArray, float]:
    """Mean held-out loss of R² per shuffled column, and the forest's held-out R²."""
    from sklearn.ensemble import RandomForestRegressor  # the demo extra; heavy, so imported here

    rng = np.random.default_rng(seed)
    folds = _folds(len(y), rng)
    variance = float(np.var(y))
    squared_error = 0.0
    extra_error = np.zeros(x.shape[1])
    held_out = 0
    for test in folds:
        train = np.setdiff1d(np.arange(len(y)), test, assume_unique=True)
        forest = RandomForestRegressor(
            n_estimators=TREES, min_samples_leaf=MIN_LEAF, random_state=seed, n_jobs=1
        ).fit(x[train], y[train])
        x_test, y_test = x[test], y[test]
        base_error = float(np.sum((forest.predict(x_test) - y_test) ** 2))
        squared_error += base_error
        held_out += len(test)
        for column in range(x.shape[1]):
            shuffled = x_test.copy()
            for _ in range(REPEATS):
                shuffled[:, column] = x_test[rng.permutation(len(test)), column]
                error = float(np.sum((forest.predict(shuffled) - y_test) ** 2))
                extra_error[column] += (error - base_error) / REPEATS
    r2 = 1.0 - squared_error / (held_out * variance)
    return extra_error / (held_out * variance), r2


def _folds(count: int, rng: np.random.Generator) -> list[NDArray[np.intp]]:
    order = rng.permutation(count)
    if count >= CROSS_FIT_BELOW:
        return [np.sort(order[: count // 4])]
    return [np.sort(part) for part in np.array_split(order, 3)]
