"""Hypervolume, the front and the trace, against hand-computed cases and an independent
implementation (moocore, a well-kept C library: tests only)."""

from __future__ import annotations

import itertools
import math

import moocore
import numpy as np
import pytest

from materia_tui.insight.front import nondominated_mask, pareto_front
from materia_tui.insight.hypervolume import (
    HypervolumeTracker,
    hypervolume,
    hypervolume_trace,
    reference_point,
)

DIRECTIONS = ("maximize", "minimize")


def moocore_hv(points: np.ndarray, reference: list[float], directions: list[str]) -> float:
    maximise = [d == "maximize" for d in directions]
    inside = (
        np.array(
            [
                all((p > r) if m else (p < r) for p, r, m in zip(row, reference, maximise, strict=True))
                for row in points
            ],
            dtype=bool,
        )
        if len(points)
        else np.zeros(0, dtype=bool)
    )
    if not inside.any():
        return 0.0
    return float(moocore.hypervolume(points[inside], ref=reference, maximise=maximise))


# ----- hand-computed cases ---------------------------------------------------------


def test_a_2d_staircase_by_hand() -> None:
    points = [(1, 3), (2, 2), (3, 1)]
    assert hypervolume(points, [4, 4]) == 6.0  # strips of height 1, 2, 3
    assert hypervolume([(3, 1), (2, 2), (1, 3)], [0, 0], ["maximize", "maximize"]) == 6.0
    # mixed: maximize x (reference 0), minimize y (reference 4)
    assert hypervolume([(3, 1)], [0, 4], ["maximize", "minimize"]) == 9.0


def test_3d_and_4d_by_inclusion_exclusion() -> None:
    assert hypervolume([(0, 0, 0)], [1, 2, 3]) == 6.0
    # boxes 2x2x1 and 1x1x2 overlapping in a unit cube
    assert hypervolume([(0, 0, 1), (1, 1, 0)], [2, 2, 2]) == 5.0
    a, b = (0, 0, 1, 1), (1, 1, 0, 0)
    both = 2 * 2 * 1 * 1 + 1 * 1 * 2 * 2 - 1  # intersection: [1,2]^4
    assert hypervolume([a, b], [2, 2, 2, 2]) == both
    assert hypervolume([(0,) * 5], [1, 2, 3, 4, 5]) == 120.0


def test_points_not_strictly_inside_the_reference_add_nothing() -> None:
    assert hypervolume([(4, 0), (0, 4), (5, 5)], [4, 4]) == 0.0
    assert hypervolume([(1, 1), (4, 0)], [4, 4]) == 9.0
    assert hypervolume(np.empty((0, 3)), [1, 1, 1]) == 0.0
    assert hypervolume([(1, 1), (math.nan, 0)], [2, 2]) == 1.0  # the NaN row is ignored
    assert hypervolume([(2.0,), (5.0,)], [10.0]) == 8.0
    assert hypervolume([(2.0,), (5.0,)], [1.0], ["maximize"]) == 4.0


def test_duplicates_and_dominated_points_change_nothing() -> None:
    base = [(1, 3, 2), (2, 2, 2), (3, 1, 1)]
    more = [*base, *base, (3, 3, 3), (2, 2, 2.5)]
    assert hypervolume(more, [4, 4, 4]) == hypervolume(base, [4, 4, 4])


def test_bad_shapes_are_value_errors() -> None:
    with pytest.raises(ValueError):
        hypervolume([(1, 2)], [3, 3, 3])
    with pytest.raises(ValueError):
        hypervolume([(1, 2)], [3, 3], ["maximize"])
    with pytest.raises(ValueError):
        hypervolume([(1, 2)], [3, 3], ["maximize", "upward"])  # type: ignore[list-item]


# ----- against moocore -------------------------------------------------------------


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("seed", range(12))
def test_random_fronts_with_mixed_directions_equal_moocore(dims: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    count = int(rng.integers(1, 400))
    shape = seed % 3
    if shape == 0:
        points = rng.random((count, dims))  # a cloud: small front
    elif shape == 1:  # a concave trade-off surface: most points on the front
        raw = rng.random((count, dims)) + 1e-3
        points = 1 - raw / np.linalg.norm(raw, axis=1, keepdims=True)
    else:
        points = np.round(rng.random((count, dims)) * 4) / 4  # ties and duplicates
    directions = [DIRECTIONS[int(k)] for k in rng.integers(0, 2, dims)]
    flipped = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    points = points * flipped  # maximized objectives live at negative values
    reference = [1.1 * float(f) for f in flipped]
    assert hypervolume(points, reference, directions) == pytest.approx(
        moocore_hv(points, reference, directions), rel=1e-12, abs=1e-15
    )


@pytest.mark.parametrize("dims", [4, 5])
def test_wfg_beyond_three_objectives_equals_moocore(dims: int) -> None:
    rng = np.random.default_rng(dims)
    for trial in range(6):
        raw = rng.random((int(rng.integers(1, 60)), dims)) + 1e-3
        points = 1 - raw / np.linalg.norm(raw, axis=1, keepdims=True) if trial % 2 else raw
        directions = [DIRECTIONS[int(k)] for k in rng.integers(0, 2, dims)]
        signed = points * np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
        reference = [-1.5 if d == "maximize" else 1.5 for d in directions]
        assert hypervolume(signed, reference, directions) == pytest.approx(
            moocore_hv(signed, reference, directions), rel=1e-10
        )


def test_a_partial_reference_box_equals_moocore() -> None:
    rng = np.random.default_rng(7)
    points = rng.random((300, 3))
    reference = [0.6, 0.8, 0.7]  # many points outside in some objective
    assert hypervolume(points, reference) == pytest.approx(moocore_hv(points, reference, ["minimize"] * 3))


# ----- the front -------------------------------------------------------------------


def brute_force_front(points: np.ndarray) -> set[tuple[float, ...]]:
    rows = [tuple(map(float, p)) for p in points]
    return {
        p for p in rows if not any(all(a <= b for a, b in zip(q, p, strict=True)) and q != p for q in rows)
    }


@pytest.mark.parametrize("dims", [1, 2, 3, 4])
def test_nondominated_mask_keeps_one_of_each_front_point(dims: int) -> None:
    rng = np.random.default_rng(dims)
    for round_ in range(20):
        points = np.round(rng.random((int(rng.integers(1, 300)), dims)) * 6) / 6
        if round_ % 2:  # rows with a NaN are never kept, and the others are found as without them
            points[rng.random(len(points)) < 0.2, int(rng.integers(dims))] = math.nan
        mask = nondominated_mask(points)
        complete = ~np.isnan(points).any(axis=1)
        assert not (mask & ~complete).any()
        kept = [tuple(map(float, p)) for p in points[mask]]
        assert len(kept) == len(set(kept))  # one of equal points: the first of them
        for row in np.flatnonzero(mask):
            assert int(np.flatnonzero((points == points[row]).all(axis=1))[0]) == row
        assert set(kept) == brute_force_front(points[complete])


def test_pareto_front_follows_directions_and_skips_nan() -> None:
    points = np.array([(1.0, 1.0), (2.0, 0.5), (0.5, 2.0), (math.nan, 9.0), (2.0, 2.0)])
    assert pareto_front(points, ["maximize", "maximize"]).tolist() == [False, False, False, False, True]
    assert pareto_front(points, ["minimize", "minimize"]).tolist() == [True, True, True, False, False]


def test_a_large_block_front_equals_brute_force_across_blocks() -> None:
    rng = np.random.default_rng(3)
    raw = rng.random((1500, 3)) + 1e-3  # > one block (256 rows), most on the front
    points = 1 - raw / np.linalg.norm(raw, axis=1, keepdims=True)
    points = np.concatenate((points, points[:50], rng.random((200, 3)) + 1))
    mask = nondominated_mask(points)
    kept = {tuple(map(float, p)) for p in points[mask]}
    assert int(mask.sum()) == len(kept) == 1500
    assert mask[:1500].all()


# ----- the reference point ---------------------------------------------------------


def test_reference_point_is_the_worst_value_minus_a_tenth_of_the_range() -> None:
    points = [(10.0, 1.0), (20.0, 3.0), (15.0, 2.0)]
    assert reference_point(points, ["maximize", "minimize"]) == pytest.approx((9.0, 3.2))
    assert reference_point([(5.0, -2.0)], ["maximize", "minimize"]) == pytest.approx(
        (4.5, -1.8)
    )  # flat: 10% of max(|v|, 1)
    assert reference_point([(0.0,)], ["maximize"]) == pytest.approx((-0.1,))
    assert reference_point(np.empty((0, 2)), ["maximize", "maximize"]) is None


# ----- the trace -------------------------------------------------------------------


def campaign(seed: int, iterations: int, batch: int, dims: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    its = np.repeat(np.arange(1, iterations + 1), batch)
    values = rng.random((iterations * batch, dims)) * (1 + its[:, None] / iterations)  # improves
    values[rng.random(len(values)) < 0.1] = np.nan  # not measured
    feasible = rng.random(len(values)) > 0.15
    return its, values, feasible


@pytest.mark.parametrize("dims", [2, 3])
def test_each_trace_point_is_the_hypervolume_of_everything_measured_by_then(dims: int) -> None:
    its, values, feasible = campaign(dims, 12, 40, dims)
    directions = ["maximize", "minimize", "maximize"][:dims]
    trace = hypervolume_trace(its, values, directions, feasible)
    assert trace.kind == "hypervolume" and trace.reference is not None
    assert [p.iteration for p in trace.points] == list(range(1, 13))
    usable = feasible & ~np.isnan(values).any(axis=1)
    for point in trace.points:
        upto = values[usable & (its <= point.iteration)]
        assert point.value == pytest.approx(moocore_hv(upto, list(trace.reference), directions), rel=1e-12)
        assert point.measured == len(upto)
        assert point.front_size == int(pareto_front(upto, directions).sum())
    # every measured feasible point lies strictly inside the automatic reference
    signs = np.array([1.0 if d == "minimize" else -1.0 for d in directions])
    assert ((values[usable] * signs) < np.array(trace.reference) * signs).all()
    assert [p.value for p in trace.points] == sorted(p.value for p in trace.points)  # type: ignore[misc]


def test_a_given_reference_stays_and_points_outside_add_nothing() -> None:
    its, values, feasible = campaign(5, 6, 30, 2)
    trace = hypervolume_trace(its, values, ["maximize", "maximize"], feasible, reference=[0.5, 0.5])
    assert trace.reference == (0.5, 0.5) and trace.reference_version == 0
    usable = feasible & ~np.isnan(values).any(axis=1)
    final = values[usable]
    assert trace.points[-1].value == pytest.approx(moocore_hv(final, [0.5, 0.5], ["maximize"] * 2))


def test_the_automatic_reference_is_rechosen_only_when_a_point_falls_outside() -> None:
    tracker = HypervolumeTracker(["maximize", "maximize"])
    tracker.add(1, [(1.0, 3.0), (3.0, 1.0)])
    first = tracker.reference
    assert first == pytest.approx((0.8, 0.8)) and tracker.trace().reference_version == 1
    tracker.add(2, [(2.0, 2.0), (1.5, 1.5)])  # inside: the reference stays
    assert tracker.reference == first
    value_2 = tracker.trace().points[1].value
    tracker.add(3, [(5.0, 0.5)])  # 0.5 < 0.8: re-chosen, and the whole trace recomputed
    trace = tracker.trace()
    assert trace.reference_version == 2 and trace.reference == pytest.approx((0.6, 0.25))
    reference = list(trace.reference)
    assert trace.points[0].value == pytest.approx(
        moocore_hv(np.array([(1, 3), (3, 1)]), reference, ["maximize"] * 2)
    )
    assert trace.points[1].value != value_2
    everything = np.array([(1, 3), (3, 1), (2, 2), (1.5, 1.5), (5, 0.5)], dtype=float)
    assert trace.points[2].value == pytest.approx(moocore_hv(everything, reference, ["maximize"] * 2))


def test_batches_of_one_iteration_merge_and_late_results_count_from_the_latest() -> None:
    tracker = HypervolumeTracker(["minimize", "minimize"], reference=[10.0, 10.0])
    tracker.add(1, [(5.0, 5.0)])
    tracker.add(1, [(4.0, 6.0)])
    tracker.add(3, np.empty((0, 2)))
    tracker.add(2, [(1.0, 1.0)])  # late: counts at iteration 3
    trace = tracker.trace()
    assert [p.iteration for p in trace.points] == [1, 3]
    assert trace.points[0].value == pytest.approx(25 + 1 * 4)
    assert trace.points[1].value == 81.0 and trace.points[1].measured == 3


def test_one_objective_traces_the_best_so_far_in_its_direction() -> None:
    its = np.array([1, 1, 2, 3, 3, 4])
    values = np.array([5.0, 7.0, 6.0, math.nan, 2.0, 9.0]).reshape(-1, 1)
    feasible = np.array([True, True, True, True, True, False])
    lower = hypervolume_trace(its, values, ["minimize"], feasible)
    assert lower.kind == "best" and lower.reference is None
    assert lower.values() == [5.0, 5.0, 2.0, 2.0]
    higher = hypervolume_trace(its, values, ["maximize"], feasible)
    assert higher.values() == [7.0, 7.0, 7.0, 7.0]
    nothing_yet = hypervolume_trace([1, 2], [[math.nan], [3.0]], ["maximize"])
    assert nothing_yet.values() == [None, 3.0]


def test_before_any_measurement_the_hypervolume_is_unknown_then_grows() -> None:
    trace = hypervolume_trace([1, 2], [[math.nan, math.nan], [1.0, 2.0]], ["maximize", "maximize"])
    assert trace.values()[0] is None
    assert trace.values()[1] == pytest.approx(0.1 * 0.2)  # flat objectives: 10% of max(|v|, 1)


def test_the_trace_checks_its_columns() -> None:
    with pytest.raises(ValueError):
        hypervolume_trace([1, 2, 3], [[1.0, 2.0]], ["maximize", "maximize"])
    with pytest.raises(ValueError):
        hypervolume_trace([1], [[1.0, 2.0]], ["maximize", "maximize"], feasible=[True, False])


def test_a_campaign_with_no_rows_has_an_empty_trace() -> None:
    trace = hypervolume_trace([], np.empty((0, 2)), ["maximize", "minimize"], feasible=[])
    assert trace.points == ()


def test_trace_equals_a_tracker_fed_by_hand_in_every_direction_combination() -> None:
    its, values, feasible = campaign(11, 8, 25, 2)
    for directions in itertools.product(DIRECTIONS, repeat=2):
        trace = hypervolume_trace(its, values, list(directions), feasible)
        tracker = HypervolumeTracker(list(directions))
        for it in range(1, 9):
            rows = its == it
            tracker.add(it, values[rows], feasible[rows])
        assert tracker.trace() == trace
