"""Maximizing an acquisition over a mixed space: a candidate pool, then a shrinking local search.

The pool is a scrambled Sobol design plus perturbations of the best measured points at a
few scales (the optimum of an acquisition is usually near them). The search then takes the
pool's top candidates and, round after round, tries random steps from each (all numeric
coordinates at once, or one at a time; now and then another category), keeping a step when
it scores higher, with steps shrinking from coarse to fine. Everything is vectorized: one
call of the acquisition per round.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeAlias

import numpy as np
from numpy.typing import NDArray

from materia_tui.backend.run.space import SearchSpace

Array: TypeAlias = NDArray[np.float64]
Score: TypeAlias = Callable[[Array], Array]

SAME_POINT: Final = 1e-9  # squared encoded distance under which two points are one
POOL_LOG2: Final = 10  # 1024 space-filling candidates
ANCHORS: Final = 8  # best measured points the pool refines around
ANCHOR_SCALES: Final = (0.01, 0.04, 0.12)
PER_ANCHOR_SCALE: Final = 16
STARTS: Final = 4  # top pool candidates the local search starts from
ROUNDS: Final = 10
TRIALS_PER_START: Final = 24
FIRST_STEP: Final = 0.1
STEP_SHRINK: Final = 0.6
CATEGORY_SWITCH: Final = 0.15


def perturb(space: SearchSpace, rows: Array, scale: float, rng: np.random.Generator) -> Array:
    """Random neighbours of ``rows``: Gaussian steps on the numeric coordinates (every one, or a
    single one for half the rows), occasionally another choice of a categorical, snapped."""
    out = rows.copy()
    numeric = space.numeric_columns()
    if numeric:
        steps = scale * rng.standard_normal((len(rows), len(numeric)))
        single = rng.random(len(rows)) < 0.5
        keep = rng.integers(len(numeric), size=len(rows))
        mask = np.where(single[:, None], np.arange(len(numeric))[None, :] == keep[:, None], True)
        out[:, numeric] += steps * mask
    for start, width in space.categorical_blocks():
        switch = rng.random(len(rows)) < (CATEGORY_SWITCH if numeric else 0.5)
        if width > 1 and switch.any():
            picks = rng.integers(width, size=int(switch.sum()))
            block = out[switch, start : start + width]
            block[:] = 0.0
            block[np.arange(len(picks)), picks] = 1.0
            out[switch, start : start + width] = block
    return space.snap(out)


def candidate_pool(space: SearchSpace, evaluated: Array, anchors: Array, rng: np.random.Generator) -> Array:
    """Sobol points plus neighbours of the best measured points, deduplicated."""
    parts = [space.sobol(2**POOL_LOG2, rng)]
    best = anchors[:ANCHORS]
    for scale in ANCHOR_SCALES:
        if len(best):
            parts.append(perturb(space, np.repeat(best, PER_ANCHOR_SCALE, axis=0), scale, rng))
    pool: Array = np.unique(np.round(np.vstack(parts), 12), axis=0).astype(np.float64)
    return pool[unseen(pool, evaluated)]


def unseen(rows: Array, existing: Array) -> NDArray[np.bool_]:
    """Which rows are not (numerically) one of ``existing``."""
    if len(existing) == 0 or len(rows) == 0:
        return np.ones(len(rows), dtype=bool)
    mask = np.ones(len(rows), dtype=bool)
    existing_sq = np.sum(existing * existing, axis=1)
    step = max(1, 2_000_000 // max(1, len(existing)))
    for start in range(0, len(rows), step):
        block = rows[start : start + step]
        sq = np.sum(block * block, axis=1)[:, None] + existing_sq[None, :] - 2.0 * block @ existing.T
        mask[start : start + step] = np.min(sq, axis=1) > SAME_POINT
    return mask


def distinct_from(rows: Array, existing: Array, limit: int, picked: Array | None = None) -> Array:
    """Up to ``limit`` rows in order (after ``picked``), none one of ``existing`` nor of each other."""
    dim = rows.shape[1] if rows.ndim == 2 else existing.shape[1]
    out = list(picked) if picked is not None else []
    candidates = rows[unseen(rows, existing)]
    for row in candidates:
        if len(out) >= limit:
            break
        if out and not unseen(row[None, :], np.array(out))[0]:
            continue
        out.append(row)
    return np.array(out).reshape(-1, dim)


class LocalSearch:
    def __init__(self, space: SearchSpace, rng: np.random.Generator) -> None:
        self.space = space
        self.rng = rng

    def maximize(self, score: Score, pool: Array, taken: Array) -> tuple[Array | None, float, Array]:
        """The best point found (never one of ``taken``), its score, and the pool's scores."""
        if len(pool) == 0:
            return None, -np.inf, np.zeros(0)
        pool_scores = score(pool)
        order = np.argsort(-pool_scores, kind="stable")[:STARTS]
        current = pool[order]
        current_scores = pool_scores[order]
        step = FIRST_STEP
        for _ in range(ROUNDS):
            trials = perturb(self.space, np.repeat(current, TRIALS_PER_START, axis=0), step, self.rng)
            trial_scores = np.where(unseen(trials, taken), score(trials), -np.inf)
            by_start = trial_scores.reshape(len(current), TRIALS_PER_START)
            best = np.argmax(by_start, axis=1)
            improved = by_start[np.arange(len(current)), best] > current_scores
            rows = np.arange(len(current)) * TRIALS_PER_START + best
            current = np.where(improved[:, None], trials[rows], current)
            current_scores = np.where(improved, by_start[np.arange(len(current)), best], current_scores)
            step *= STEP_SHRINK
        winner = int(np.argmax(current_scores))
        if not np.isfinite(current_scores[winner]):
            return None, -np.inf, pool_scores
        return current[winner], float(current_scores[winner]), pool_scores
