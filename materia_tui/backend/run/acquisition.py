"""Acquisition functions and hypervolume arithmetic, all in "larger is better" coordinates.

- Expected improvement, as its logarithm computed stably (Ament et al., NeurIPS 2023), so
  candidates far below the incumbent still rank by how far below they are instead of all
  tying at an underflowed zero.
- Hypervolume and exact expected hypervolume improvement for any number of objectives
  with independent Gaussian predictions: the region the front does not dominate is cut
  into boxes (columns over a grid of the front's coordinates, the last objective open
  upwards), and the improvement a point brings is the volume it covers in those boxes.
  The expectation of a box's covered volume factorizes over objectives, each factor in
  closed form, so EHVI is exact, without Monte Carlo noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, TypeAlias

import numpy as np
from numpy.typing import NDArray
from scipy.special import erfcx, log_ndtr, ndtr

Array: TypeAlias = NDArray[np.float64]

MAX_BOXES: Final = 1024
CHUNK_ELEMENTS: Final = 2_000_000  # candidates x boxes x objectives per numpy pass
_LOG_SQRT_2PI: Final = 0.5 * math.log(2.0 * math.pi)
_SQRT_HALF_PI: Final = math.sqrt(0.5 * math.pi)


def _log_phi(z: Array) -> Array:
    result: Array = -0.5 * z * z - _LOG_SQRT_2PI
    return result


def log_h(z: Array) -> Array:
    """log(phi(z) + z Phi(z)), the expected improvement of a standard normal over -z."""
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    upper = z > -1.0
    zu = z[upper]
    out[upper] = np.log(np.exp(_log_phi(zu)) + zu * ndtr(zu))
    lower = ~upper
    zl = z[lower]
    # phi(z) + z Phi(z) = phi(z) (1 + z sqrt(pi/2) erfcx(-z/sqrt2)); the bracket loses digits below
    # z ~ -1e4, where it tends to 1/z^2.
    bracket = 1.0 + zl * _SQRT_HALF_PI * erfcx(-zl / math.sqrt(2.0))
    asymptote = -2.0 * np.log(np.abs(zl))
    out[lower] = _log_phi(zl) + np.where(zl > -1e4, np.log(np.maximum(bracket, 1e-300)), asymptote)
    return out


def _h(z: Array) -> Array:
    """phi(z) + z Phi(z) directly: differences of it need absolute, not relative, precision."""
    result: Array = np.maximum(np.exp(_log_phi(z)) + z * ndtr(z), 0.0)
    return result


def log_expected_improvement(mean: Array, std: Array, incumbent: float) -> Array:
    """log E[max(0, Y - incumbent)] for Y ~ N(mean, std^2)."""
    result: Array = np.log(std) + log_h((mean - incumbent) / std)
    return result


def probability_of_improvement_log(mean: Array, std: Array, incumbent: float) -> Array:
    result: Array = log_ndtr((mean - incumbent) / std)
    return result


# ----- Pareto fronts and hypervolume (maximization) ---------------------------------------


def pareto_mask(points: Array) -> NDArray[np.bool_]:
    """Which rows no other row dominates (>= everywhere, > somewhere); duplicates all stay."""
    points = np.asarray(points, dtype=np.float64)
    if len(points) == 0:
        return np.zeros(0, dtype=bool)
    keep = np.ones(len(points), dtype=bool)
    for i in range(len(points)):
        if not keep[i]:
            continue
        no_worse = np.all(points >= points[i], axis=1)
        better = np.any(points > points[i], axis=1)
        if np.any(no_worse & better):
            keep[i] = False
    return keep


@dataclass(frozen=True, slots=True)
class Boxes:
    """The non-dominated region above a reference point, as disjoint boxes (upper may be inf)."""

    lower: Array  # (boxes, objectives)
    upper: Array
    dominated_volume: float
    # Per objective, the distinct finite bounds, and where each box's bounds sit among them
    # (an upper of inf points one past the end): EHVI evaluates its normal integrals once per
    # distinct bound, not once per box.
    levels: tuple[Array, ...]
    lower_index: NDArray[np.intp]
    upper_index: NDArray[np.intp]

    @classmethod
    def of(cls, lower: Array, upper: Array, dominated_volume: float) -> Boxes:
        levels = []
        lower_index = np.empty(lower.shape, dtype=np.intp)
        upper_index = np.empty(upper.shape, dtype=np.intp)
        for j in range(lower.shape[1]):
            bounds = np.concatenate((lower[:, j], upper[:, j]))
            finite = np.unique(bounds[np.isfinite(bounds)])
            levels.append(finite)
            lower_index[:, j] = np.searchsorted(finite, lower[:, j])
            finite_upper = np.nan_to_num(upper[:, j], posinf=0.0)
            upper_index[:, j] = np.where(
                np.isfinite(upper[:, j]), np.searchsorted(finite, finite_upper), len(finite)
            )
        return cls(lower, upper, dominated_volume, tuple(levels), lower_index, upper_index)


def nondominated_boxes(front: Array, reference: Array) -> Boxes:
    """Decompose the part of [reference, inf)^m no point of ``front`` dominates.

    Columns over the grid of the front's coordinates in the first m-1 objectives; in each
    column the front dominates up to some height in the last objective, and the box above it
    is free. (n+1)^(m-1) boxes: exact, and cheap for two or three objectives.
    """
    reference = np.asarray(reference, dtype=np.float64)
    m = len(reference)
    front = np.asarray(front, dtype=np.float64).reshape(-1, m)
    front = front[np.all(front > reference, axis=1)]
    if len(front):
        front = np.unique(front[pareto_mask(front)], axis=0)
    edges = [
        np.concatenate((np.unique(np.concatenate(([reference[j]], front[:, j]))), [np.inf]))
        for j in range(m - 1)
    ]
    grids = np.meshgrid(*[np.arange(len(e) - 1) for e in edges], indexing="ij")
    cells = np.stack([g.ravel() for g in grids], axis=1) if m > 1 else np.zeros((1, 0), dtype=int)
    lower = np.stack([edges[j][cells[:, j]] for j in range(m - 1)], axis=1) if m > 1 else np.zeros((1, 0))
    upper = np.stack([edges[j][cells[:, j] + 1] for j in range(m - 1)], axis=1) if m > 1 else np.zeros((1, 0))
    heights = np.full(len(cells), reference[-1])
    if len(front):
        covers = np.all(front[None, :, : m - 1] >= upper[:, None, :], axis=2)
        last = np.where(covers, front[None, :, m - 1], -np.inf)
        heights = np.maximum(heights, last.max(axis=1))
    widths = np.prod(np.where(np.isfinite(upper), upper - lower, 0.0), axis=1)
    dominated = float(np.sum(widths * (heights - reference[-1])))
    box_lower = np.column_stack((lower, heights))
    box_upper = np.column_stack((upper, np.full(len(cells), np.inf)))
    return Boxes.of(box_lower, box_upper, dominated)


def hypervolume(points: Array, reference: Array) -> float:
    """Volume dominated by ``points`` (maximization) above ``reference``."""
    return nondominated_boxes(points, reference).dominated_volume


def thin_front(front: Array, objectives: int, rng: np.random.Generator) -> Array:
    """At most as many front points as keep the box count under MAX_BOXES (3+ objectives)."""
    if objectives <= 2:
        return front
    limit = max(2, int(MAX_BOXES ** (1.0 / (objectives - 1))) - 1)
    if len(front) <= limit:
        return front
    return front[np.sort(rng.choice(len(front), limit, replace=False))]


def hypervolume_improvement(boxes: Boxes, points: Array) -> Array:
    """Exact hypervolume each row of ``points`` adds to the front the boxes came from."""
    points = np.asarray(points, dtype=np.float64)
    out = np.empty(len(points))
    for chunk in _chunks(len(points), boxes):
        sides = np.minimum(points[chunk, None, :], boxes.upper[None]) - boxes.lower[None]
        out[chunk] = np.sum(np.prod(np.clip(sides, 0.0, None), axis=2), axis=1)
    return out


def expected_hypervolume_improvement(boxes: Boxes, mean: Array, std: Array) -> Array:
    """Exact E[HVI] for independent normal predictions (rows: candidates, columns: objectives).

    A box [l, u) contributes prod_j E[(min(Y_j, u_j) - l_j)^+] = prod_j (tau_j(l_j) - tau_j(u_j)),
    tau(t) = E[(Y - t)^+] = std h((mean - t) / std), tau(inf) = 0.
    """
    out = np.empty(len(mean))
    for chunk in _chunks(len(mean), boxes):
        product: Array | None = None
        for j, levels in enumerate(boxes.levels):
            mu = mean[chunk, j : j + 1]
            sd = std[chunk, j : j + 1]
            tau = np.zeros((len(mu), len(levels) + 1))  # the last column: tau(inf) = 0
            tau[:, :-1] = sd * _h((mu - levels[None, :]) / sd)
            factor = np.clip(tau[:, boxes.lower_index[:, j]] - tau[:, boxes.upper_index[:, j]], 0.0, None)
            product = factor if product is None else product * factor
        assert product is not None
        out[chunk] = product.sum(axis=1)
    return out


def _chunks(count: int, boxes: Boxes) -> list[slice]:
    per_row = max(1, boxes.lower.size)
    size = max(1, CHUNK_ELEMENTS // per_row)
    return [slice(start, min(count, start + size)) for start in range(0, count, size)]


def infer_reference(observed: Array) -> Array:
    """A reference point a little below the worst measured value of each objective.

    Not BoTorch's "just below the front's nadir": with that, a front that starts in one
    corner can only grow by a tenth of its own extent per step and stays in the corner.
    """
    nadir = observed.min(axis=0)
    spread = observed.max(axis=0) - nadir
    spread = np.where(spread > 1e-9, spread, 1.0)
    reference: Array = nadir - 0.1 * spread
    return reference
