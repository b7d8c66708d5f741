"""The arithmetic under the `run` optimizer: hypervolumes, EHVI, log EI, the Gaussian process."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import approx_fprime
from scipy.stats import norm

from materia_tui.backend.run.acquisition import (
    expected_hypervolume_improvement,
    hypervolume,
    hypervolume_improvement,
    log_expected_improvement,
    log_h,
    nondominated_boxes,
    pareto_mask,
)
from materia_tui.backend.run.surrogate import GaussianProcess, _negative_log_posterior, fit_hyperparameters


def _brute_hypervolume(points: np.ndarray, reference: np.ndarray) -> float:
    """Sum of the grid cells (over every point's coordinates) that some point dominates."""
    axes = [sorted({float(reference[j]), *points[:, j].tolist()}) for j in range(points.shape[1])]
    volume = 0.0
    for cell in itertools.product(*[list(itertools.pairwise(a)) for a in axes]):
        upper = np.array([c[1] for c in cell])
        if any(np.all(p >= upper) for p in points):
            volume += math.prod(c[1] - c[0] for c in cell)
    return volume


@pytest.mark.parametrize("objectives", [2, 3, 4])
def test_hypervolume_matches_a_brute_force_grid(objectives: int) -> None:
    rng = np.random.default_rng(objectives)
    for _ in range(8):
        points = rng.uniform(0, 10, size=(int(rng.integers(1, 7)), objectives))
        reference = np.full(objectives, 1.0)
        expected = _brute_hypervolume(np.clip(points, reference, None), reference)
        assert hypervolume(points, reference) == pytest.approx(expected)
    assert hypervolume(np.zeros((0, objectives)), np.zeros(objectives)) == 0.0


@pytest.mark.parametrize("objectives", [2, 3])
def test_hypervolume_improvement_is_the_gain_of_adding_each_point(objectives: int) -> None:
    rng = np.random.default_rng(10 + objectives)
    front = rng.uniform(0, 10, size=(6, objectives))
    reference = np.zeros(objectives)
    candidates = rng.uniform(0, 12, size=(40, objectives))
    gains = hypervolume_improvement(nondominated_boxes(front, reference), candidates)
    expected = [
        hypervolume(np.vstack((front, c)), reference) - hypervolume(front, reference) for c in candidates
    ]
    assert gains == pytest.approx(expected)


@pytest.mark.parametrize("objectives", [2, 3])
def test_expected_hypervolume_improvement_agrees_with_monte_carlo(objectives: int) -> None:
    rng = np.random.default_rng(20 + objectives)
    front = rng.uniform(0, 10, size=(6, objectives))
    boxes = nondominated_boxes(front, np.zeros(objectives))
    mean = rng.uniform(3, 10, size=(4, objectives))
    std = rng.uniform(0.3, 2.0, size=(4, objectives))
    exact = expected_hypervolume_improvement(boxes, mean, std)
    normals = rng.standard_normal((100_000, objectives))
    for i in range(4):
        samples = hypervolume_improvement(boxes, mean[i] + std[i] * normals)
        standard_error = samples.std() / math.sqrt(len(samples))
        assert abs(exact[i] - samples.mean()) < 5 * standard_error + 1e-9


def test_pareto_mask_keeps_exactly_the_non_dominated_rows() -> None:
    points = np.array([[1.0, 5.0], [2.0, 4.0], [1.5, 3.0], [2.0, 4.0], [0.0, 0.0], [3.0, 1.0]])
    assert pareto_mask(points).tolist() == [True, True, False, True, False, True]


def test_log_h_is_accurate_far_into_the_tail() -> None:
    z = np.array([-40.0, -10.0, -3.0, -1.0, 0.0, 2.0, 30.0])
    with np.errstate(divide="ignore"):
        direct = np.log(norm.pdf(z) + z * norm.cdf(z))
    finite = np.isfinite(direct) & (z > -30)
    assert log_h(z)[finite] == pytest.approx(direct[finite], rel=1e-6)
    # Where the direct formula underflows, log_h still ranks: further below is worse.
    deep = log_h(np.array([-1e3, -1e2, -40.0]))
    assert np.all(np.isfinite(deep)) and deep[0] < deep[1] < deep[2]
    assert log_expected_improvement(np.array([0.0]), np.array([1.0]), 0.0)[0] == pytest.approx(
        math.log(norm.pdf(0.0))
    )


def _data(n: int = 25, dim: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, dim))
    y = np.sin(5 * x[:, 0]) + x[:, 1] ** 2
    return x, (y - y.mean()) / y.std()


def test_the_posterior_gradient_is_the_real_gradient() -> None:
    x, y = _data()
    theta = np.array([-1.0, -0.5, 0.3, 0.2, -3.0])
    analytic = _negative_log_posterior(theta, x, y, 0.5)[1]
    numeric = approx_fprime(theta, lambda t: _negative_log_posterior(t, x, y, 0.5)[0], 1e-6)
    assert analytic == pytest.approx(numeric, rel=1e-4, abs=1e-4)


def test_a_fitted_gp_interpolates_and_its_val_loss_is_the_real_leave_one_out_error() -> None:
    x, y = _data()
    gp = GaussianProcess.fit(x, y, np.random.default_rng(0))
    assert gp.hyper.lengths[2] > gp.hyper.lengths[0]  # x2 does not matter; x0 does
    explicit = []
    for i in range(len(x)):
        keep = np.arange(len(x)) != i
        held_out = GaussianProcess.condition(x[keep], y[keep], gp.hyper)
        explicit.append((held_out.predict(x[i : i + 1])[0][0] - y[i]) ** 2)
    assert gp.loo_mse() == pytest.approx(np.mean(explicit), rel=1e-5)
    assert 0 <= gp.train_mse() < gp.loo_mse() < 0.1


def test_adding_a_point_by_block_inversion_equals_refitting() -> None:
    x, y = _data()
    gp = GaussianProcess.condition(x, y, fit_hyperparameters(x, y))
    point = np.array([0.3, 0.6, 0.9])
    updated = gp.with_point(point, 0.25)
    scratch = GaussianProcess.condition(np.vstack((x, point)), np.append(y, 0.25), gp.hyper)
    probe = np.random.default_rng(1).random((20, 3))
    assert updated.predict(probe)[0] == pytest.approx(scratch.predict(probe)[0], abs=1e-8)
    assert updated.predict(probe)[1] == pytest.approx(scratch.predict(probe)[1], abs=1e-6)
    # A repeat of an existing point falls back to a refactorization instead of dividing by ~0.
    assert np.all(np.isfinite(gp.with_point(x[0], y[0]).predict(probe)[0]))
