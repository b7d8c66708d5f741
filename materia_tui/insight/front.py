"""The Pareto front of a set of points, and the direction conventions of ``insight``.

Objectives are maximized or minimized (``Direction``); the algorithms work
in "minimize everything" space, where a maximized objective is negated.
Dominance is weak dominance: a point is off the front when another is at
least as good in every objective, so of several equal points one is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

Direction = Literal["maximize", "minimize"]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

_BLOCK_ELEMENTS = 4_000_000  # booleans per dominance block: bounds the memory of a check (~4 MB)
_CULL_BLOCK = 256  # rows per block: the within-block check costs rows x block


# ----- directions and inputs ---------------------------------------------------


def direction_signs(directions: Sequence[Direction], dims: int) -> FloatArray:
    if len(directions) != dims:
        raise ValueError(f"{len(directions)} directions for {dims} objectives")
    for direction in directions:
        if direction not in ("maximize", "minimize"):
            raise ValueError(f"direction must be 'maximize' or 'minimize', not {direction!r}")
    return np.array([-1.0 if d == "maximize" else 1.0 for d in directions])


def as_points(points: ArrayLike) -> FloatArray:
    array = np.asarray(points, dtype=np.float64)
    if array.ndim == 1:
        array = array.reshape(-1, 1) if array.size else array.reshape(0, 1)
    if array.ndim != 2:
        raise ValueError("points must be a 2-D array: one row per point, one column per objective")
    return array


def drop_incomplete(points: FloatArray) -> FloatArray:
    complete = ~np.isnan(points).any(axis=1)
    return points if complete.all() else points[complete]


# ----- the front ---------------------------------------------------------------


def nondominated_mask(points: ArrayLike) -> BoolArray:
    """Which rows are on the Pareto front of ``points`` when every objective is minimized.

    A row is kept unless another row is at least as good everywhere (weak
    dominance), so of several equal rows only the first is kept. Rows with a
    NaN are never kept. 2-D: one sort, O(n log n). More objectives: rows in
    lexicographic order (a row's weak dominators all come before it) checked in
    vectorized blocks against the front found so far, O(n x front) comparisons.
    """
    array = as_points(points)
    count, dims = array.shape
    keep = np.zeros(count, dtype=bool)
    complete = ~np.isnan(array).any(axis=1)
    # Without a NaN (the usual case) the rows are read in place: no index array, no copy.
    rows = None if complete.all() else np.flatnonzero(complete)
    sub = array if rows is None else array[rows]
    if len(sub) == 0:
        return keep

    def mark(found: Any) -> None:  # positions in ``sub`` -> rows of ``array``
        keep[found if rows is None else rows[found]] = True

    if dims == 1:
        mark(int(np.argmin(sub[:, 0])))
        return keep
    order = np.lexsort(sub.T[::-1])  # stable: among equal rows the first comes first
    if dims == 2:
        # Sorted by x (then y), a row is on the front when its y is below every earlier one's.
        ys = sub[order, 1]
        lowest = np.minimum.accumulate(ys)
        on_front = np.empty(len(ys), dtype=bool)
        on_front[0] = True
        np.less(ys[1:], lowest[:-1], out=on_front[1:])
        mark(order[on_front])
        return keep
    mark(order[_cull_sorted(sub[order])])
    return keep


def _cull_sorted(ordered: FloatArray) -> BoolArray:
    """Front mask of lexicographically sorted rows (minimization), block by block."""
    count = len(ordered)
    kept = np.zeros(count, dtype=bool)
    front = ordered[:0]
    for start in range(0, count, _CULL_BLOCK):
        block = ordered[start : start + _CULL_BLOCK]
        alive = ~weakly_dominated(block, front)
        survivors = block[alive]
        if len(survivors) > 1:
            # Within the block only earlier rows can weakly dominate later ones.
            weak = _all_at_least_as_good(survivors, survivors)
            dominated = np.tril(weak, k=-1).any(axis=1)
            alive[np.flatnonzero(alive)[dominated]] = False
            survivors = survivors[~dominated]
        kept[start : start + len(block)] = alive
        if len(survivors):
            front = np.concatenate((front, survivors))
    return kept


def _all_at_least_as_good(front: FloatArray, rows: FloatArray) -> BoolArray:
    """(len(rows), len(front)): front[j] <= rows[i] in every objective.

    One 2-D comparison per objective: a reduction over a short last axis of a
    3-D array costs several times more."""
    result = front[None, :, 0] <= rows[:, None, 0]
    for dim in range(1, rows.shape[1]):
        result &= front[None, :, dim] <= rows[:, None, dim]
    return result


def weakly_dominated(rows: FloatArray, front: FloatArray) -> BoolArray:
    """Which ``rows`` some ``front`` row is at least as good as everywhere (minimization)."""
    dominated = np.zeros(len(rows), dtype=bool)
    if len(rows) == 0 or len(front) == 0:
        return dominated
    dims = rows.shape[1]
    if dims == 2:
        # A 2-D front is a staircase: sorted by x, y falls. The front row with
        # the largest x not above a row's x has the lowest y among those that
        # could dominate it.
        order = np.argsort(front[:, 0], kind="stable")
        xs, ys = front[order, 0], front[order, 1]
        left = np.searchsorted(xs, rows[:, 0], side="right") - 1
        found: BoolArray = (left >= 0) & (ys[np.maximum(left, 0)] <= rows[:, 1])
        return found
    row_chunk = max(1, min(len(rows), _BLOCK_ELEMENTS // (dims * min(len(front), 4096))))
    front_chunk = max(1, _BLOCK_ELEMENTS // (dims * row_chunk))
    for first_row in range(0, len(rows), row_chunk):
        part = rows[first_row : first_row + row_chunk]
        hit = dominated[first_row : first_row + row_chunk]  # a view: written in place
        for first in range(0, len(front), front_chunk):
            chunk = front[first : first + front_chunk]
            hit |= _all_at_least_as_good(chunk, part).any(axis=1)
    return dominated


def pareto_front(points: ArrayLike, directions: Sequence[Direction]) -> BoolArray:
    """Which rows of ``points`` (objectives' own units) are on the Pareto front (one of equal rows)."""
    array = as_points(points)
    return nondominated_mask(array * direction_signs(directions, array.shape[1]))
