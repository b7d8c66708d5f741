"""The stop advice read straight from a ``ColumnSnapshot``, one iteration's rows at a time.

The stop advisor's worker used to run ``campaign_trace`` and ``coverage_of``
(``output.analysis``) over ``snapshot.columns()``: whole-window copies (the
iteration as floats, status names, the stacked objectives, masked twice),
about 100 bytes a row at their high-water mark, ~6 MB of a 100k-candidate
monitor's peak on top of the snapshot itself. Here the trace feeds the same
``HypervolumeTracker`` the same rows in the same order, stacked one
iteration at a time, and the coverage counts the same rows through masks:
the same trace, coverage and advice as ``output.analysis`` over the same rows
(``tests/unit/test_snapshot_advice.py``), with ~20 bytes a row of temporaries.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from materia_tui.insight.advisor import Advice, Coverage, advise
from materia_tui.insight.hypervolume import HypervolumeTracker, Trace
from materia_tui.state.columns import EVALUATED, INFEASIBLE, ColumnSnapshot
from materia_tui.state.store import NO_ITERATION


def snapshot_advice(snapshot: ColumnSnapshot) -> tuple[Trace | None, Advice | None]:
    """``campaign_trace`` and ``advice_for`` of ``snapshot.columns()``, without building them."""
    names = list(snapshot.objectives)
    if not names:
        return None, None
    count = snapshot.count
    codes = np.frombuffer(snapshot.status, dtype=np.int8, count=count)
    evaluated = codes == EVALUATED  # a completed, feasible measurement: what the trace counts
    objectives = [_values(snapshot.objectives[name], count) for name in names]
    trace = _trace(snapshot, objectives, evaluated)
    if trace is None:
        return None, None
    measured = evaluated | (codes == INFEASIBLE)
    coverage = _coverage(snapshot, names, objectives, measured)
    direction = snapshot.directions.get(names[0], "maximize")
    advice = advise(
        trace.values(), kind=trace.kind, objective=names[0], direction=direction, coverage=coverage
    )
    return trace, advice


def _values(column: Any, count: int) -> Any:
    if column is None:
        return np.full(count, math.nan)
    return np.frombuffer(column, dtype=np.float64, count=count)


def _trace(snapshot: ColumnSnapshot, objectives: list[Any], evaluated: Any) -> Trace | None:
    """``hypervolume_trace``: each distinct iteration's rows (in row order) added in
    ascending iteration order, values NaN but where evaluated (None: no row has an
    iteration yet, so there is nothing to advise on)."""
    iterations = np.frombuffer(snapshot.iterations, dtype=np.int32, count=snapshot.count)
    rows = np.flatnonzero(iterations != NO_ITERATION)
    its = iterations[rows].astype(np.int64)
    if not len(its):
        return None
    if len(its) > 1 and bool((its[1:] < its[:-1]).any()):  # rows arrive in iteration order, mostly
        order = np.argsort(its, kind="stable")
        rows, its = rows[order], its[order]
        del order
    tracker = HypervolumeTracker([snapshot.directions[name] for name in snapshot.objectives])
    starts = np.flatnonzero(np.concatenate(([True], its[1:] != its[:-1])))
    ends = np.append(starts[1:], len(its))
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        picked = rows[start:end]
        batch = np.column_stack([values[picked] for values in objectives])
        batch[~evaluated[picked]] = math.nan
        tracker.add(int(its[start]), batch)
    return tracker.trace()


def _coverage(
    snapshot: ColumnSnapshot, names: list[str], objectives: list[Any], measured: Any
) -> list[Coverage]:
    """``coverage_of``: each objective's measured values within 2 sigma of the prediction."""
    found: list[Coverage] = []
    for name, values in zip(names, objectives, strict=True):
        predicted, sigma = snapshot.predicted.get(name), snapshot.uncertainty.get(name)
        if predicted is None or sigma is None:
            continue
        guess = np.frombuffer(predicted, dtype=np.float64, count=snapshot.count)
        spread = np.frombuffer(sigma, dtype=np.float64, count=snapshot.count)
        with np.errstate(invalid="ignore"):
            usable = measured & np.isfinite(values) & np.isfinite(guess) & np.isfinite(spread) & (spread > 0)
            count = int(usable.sum())
            if count:
                within = np.abs(values[usable] - guess[usable]) <= 2 * spread[usable]
                found.append(Coverage(name, float(within.mean()), count))
    return found
