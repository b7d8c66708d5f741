"""The optimizer's pieces: exact hypervolume arithmetic, honest losses, reproducible proposals."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.gaussian_process import GaussianProcessRegressor

from materia_tui.backend.demo import membrane
from materia_tui.backend.demo.optimizer import (
    BayesianOptimizer,
    Observation,
    _loo_mse,
    decode,
    encode,
    hypervolume,
    hypervolume_improvement,
    random_design,
)


def _brute_hypervolume(points: np.ndarray) -> float:
    """Area dominated by the points above the origin, by summing a fine grid of exact cells."""
    xs = sorted({0.0, *points[:, 0].tolist()})
    ys = sorted({0.0, *points[:, 1].tolist()})
    area = 0.0
    for (x0, x1), (y0, y1) in itertools.product(itertools.pairwise(xs), itertools.pairwise(ys)):
        if any(p[0] >= x1 and p[1] >= y1 for p in points):
            area += (x1 - x0) * (y1 - y0)
    return area


def _observations(count: int, seed: int = 2) -> list[Observation]:
    recipes = random_design(count, seed)
    measured = [membrane.measure(r, seed=seed, index=i) for i, r in enumerate(recipes)]
    return [
        Observation(r, m.objectives, m.feasible, m.error is not None)
        for r, m in zip(recipes, measured, strict=True)
    ]


def test_hypervolume_matches_a_brute_force_grid() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        points = rng.uniform(0, 10, size=(int(rng.integers(1, 8)), 2))
        assert hypervolume(points) == pytest.approx(_brute_hypervolume(points))


def test_hypervolume_improvement_is_the_gain_of_adding_each_point() -> None:
    rng = np.random.default_rng(2)
    front = rng.uniform(0, 10, size=(6, 2))
    candidates = rng.uniform(0, 12, size=(50, 2))
    gains = hypervolume_improvement(front, candidates[:, 0], candidates[:, 1])
    expected = [hypervolume(np.vstack((front, c))) - hypervolume(front) for c in candidates]
    assert gains == pytest.approx(expected)
    assert hypervolume_improvement(np.zeros((0, 2)), np.array([2.0]), np.array([3.0])) == pytest.approx([6.0])


def test_encoding_round_trips_a_recipe() -> None:
    for recipe in random_design(20, 3):
        x = encode(recipe)
        assert x.shape == (8,)
        assert decode(x[:4], int(np.argmax(x[4:]))) == recipe


def test_val_loss_is_the_real_leave_one_out_error() -> None:
    optimizer = BayesianOptimizer(seed=0)
    surrogate = optimizer.fit(_observations(12), iteration=2)
    gp = surrogate.regressors[0]
    x, y = surrogate.x_train, surrogate.y_train[:, 0]
    explicit = []
    for i in range(len(x)):
        keep = np.arange(len(x)) != i
        held_out = GaussianProcessRegressor(kernel=gp.kernel_, optimizer=None).fit(x[keep], y[keep])
        explicit.append((held_out.predict(x[i : i + 1])[0] - y[i]) ** 2)
    assert _loo_mse(gp, x, y) == pytest.approx(np.mean(explicit), rel=1e-6)
    assert 0 <= surrogate.metrics.train_loss < surrogate.metrics.val_loss


def test_initial_design_is_space_filling_and_in_bounds() -> None:
    design = BayesianOptimizer(seed=5).initial_design(8, iteration=1)
    assert design == BayesianOptimizer(seed=5).initial_design(8, iteration=1)
    assert {p.parameters["polymer"] for p in design} == {"PVDF", "PES", "PSf", "PA"}  # LHS strata
    for spec in membrane.FLOAT_PARAMETERS:
        values = sorted(float(p.parameters[spec.name]) for p in design)
        assert spec.low <= values[0] and values[-1] <= spec.high
        # Latin hypercube: one point in each of the 8 equal slices of the range.
        slices = {int((v - spec.low) / (spec.high - spec.low) * 8 - 1e-9) for v in values}
        assert slices == set(range(8))
    assert all(p.predicted == {} and p.acquisition_value is None for p in design)


def test_proposals_are_reproducible_distinct_and_carry_predictions() -> None:
    observations = _observations(15)
    optimizer = BayesianOptimizer(seed=9)
    first = optimizer.propose(optimizer.fit(observations, 3), observations, 4, 3)
    again = optimizer.propose(optimizer.fit(observations, 3), observations, 4, 3)
    assert first == again
    recipes = [tuple(sorted(p.parameters.items())) for p in first]
    assert len(set(recipes)) == 4
    assert not set(recipes) & {tuple(sorted(o.parameters.items())) for o in observations}
    for p in first:
        assert set(p.predicted) == set(p.uncertainty) == {"water_flux", "salt_rejection"}
        assert p.predicted["salt_rejection"] < 100
        assert all(v > 0 for v in p.uncertainty.values())
        assert p.acquisition_value is not None and p.acquisition_value >= 0
