"""Where a campaign stands: best values, the Pareto front, the convergence metric.

Computed from the results alone (never from the order they were computed in),
so a resumed campaign reports what an uninterrupted one would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

CONVERGENCE_WINDOW: Final = 3  # iterations over which the progress is measured
DEFAULT_THRESHOLD: Final = 0.01  # converged (reported, not stopping) without stop.convergence
MONTE_CARLO_POINTS: Final = 20_000

Array = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Measured:
    candidate_id: str
    iteration: int
    values: tuple[float, ...]  # one per objective, larger is better (minimized ones negated)


def pareto_ids(points: Sequence[Measured]) -> list[str]:
    """Non-dominated candidates, in the order given."""
    if not points:
        return []
    values = np.array([p.values for p in points], dtype=float)
    keep = []
    for i, row in enumerate(values):
        dominated = np.any(np.all(values >= row, axis=1) & np.any(values > row, axis=1))
        if not dominated:
            keep.append(points[i].candidate_id)
    return keep


def hypervolume(values: Array, reference: Array) -> float:
    """Volume dominated by ``values`` above ``reference`` (exact in 1-2 dimensions, else Monte Carlo)."""
    values = values[np.all(values > reference, axis=1)]
    if len(values) == 0:
        return 0.0
    if values.shape[1] == 1:
        return float(values.max() - reference[0])
    if values.shape[1] == 2:
        order = np.argsort(-values[:, 0])
        volume, height = 0.0, reference[1]
        for x, y in values[order]:
            if y > height:
                volume += (x - reference[0]) * (y - height)
                height = y
        return float(volume)
    upper = values.max(axis=0)
    rng = np.random.default_rng(0)
    samples = reference + rng.random((MONTE_CARLO_POINTS, values.shape[1])) * (upper - reference)
    dominated = np.zeros(len(samples), dtype=bool)
    for row in values:
        dominated |= np.all(samples <= row, axis=1)
    return float(dominated.mean() * np.prod(upper - reference))


def convergence(points: Sequence[Measured], iteration: int, threshold: float | None) -> tuple[float, bool]:
    """Relative growth of the (normalized) hypervolume over the last few iterations, and whether
    it stayed below ``threshold``. With one objective the hypervolume is the best value's height."""
    limit = threshold if threshold is not None else DEFAULT_THRESHOLD
    if not points:
        return 1.0, False
    values = np.array([p.values for p in points], dtype=float)
    low, high = values.min(axis=0), values.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    normalized = (values - low) / span
    reference = np.full(values.shape[1], -0.1)
    iterations = np.array([p.iteration for p in points])
    now = hypervolume(normalized, reference)
    before = hypervolume(normalized[iterations <= iteration - CONVERGENCE_WINDOW], reference)
    if now <= 0.0:
        return 1.0, False
    metric = float(f"{(now - before) / now:.6g}")
    return metric, iteration > CONVERGENCE_WINDOW and metric < limit
