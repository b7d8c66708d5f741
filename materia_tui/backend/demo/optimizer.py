"""A Bayesian multi-objective optimizer for the membrane demo (scikit-learn + scipy).

- Encoding: float parameters scaled to [0, 1], the polymer one-hot.
- Surrogate: one GaussianProcessRegressor per objective (constant * Matern 5/2
  with one length scale per input, plus a WhiteKernel for measurement noise)
  on standardized, physically transformed targets: log(water_flux) and the
  log reduction value -log10(1 - rejection/100), which turns the crowded
  93-99.9 % band into an even scale. A GaussianProcessClassifier learns the
  feasible region once both outcomes have been seen.
- Metrics: ``train_loss`` is the mean squared error of the posterior mean on
  its own training points, ``val_loss`` the exact leave-one-out error of the
  fitted GP (closed form), both in standardized units, averaged over objectives.
- Acquisition: Monte Carlo expected hypervolume improvement over the measured
  front in (flux, log reduction value) space, times the probability of
  feasibility, maximized over a Sobol pool plus perturbations of front points.
  A batch is built by kriging believer: each pick is added with its predicted
  mean as a fantasy observation (GPs refit with frozen hyperparameters) so the
  next pick goes elsewhere.
- The first iteration (or any iteration without enough data) is a
  Latin-hypercube design, with no surrogate.

Everything random comes from ``numpy.random.SeedSequence([seed, iteration])``,
so a seed gives the same proposals every time.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias

import numpy as np
from numpy.typing import NDArray
from scipy.linalg import cho_factor, cho_solve
from scipy.stats import qmc
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessClassifier, GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, Matern, WhiteKernel
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from materia_tui.backend.demo import membrane
from materia_tui.backend.demo.membrane import FLOAT_PARAMETERS, POLYMER_PARAMETER, SALT_REJECTION, WATER_FLUX

Array: TypeAlias = NDArray[np.float64]
Recipe: TypeAlias = dict[str, float | str]

MIN_TRAINING_POINTS: Final = 3
SOBOL_POOL_LOG2: Final = 10  # 1024 space-filling candidates
LOCAL_PER_FRONT_POINT: Final = 16
LOCAL_STEP: Final = 0.05
MC_SAMPLES: Final = 64
MIN_FEASIBLE_PROBABILITY: Final = 0.6
MAX_LRV: Final = 5.0  # 99.999 % rejection, the instrument's ceiling
ENCODED_DIM: Final = len(FLOAT_PARAMETERS) + len(POLYMER_PARAMETER.choices)


@dataclass(frozen=True, slots=True)
class Observation:
    """A measured candidate as the optimizer sees it."""

    parameters: Recipe
    objectives: dict[str, float]  # empty when the evaluation failed
    feasible: bool
    failed: bool


@dataclass(frozen=True, slots=True)
class Proposal:
    parameters: Recipe
    predicted: dict[str, float]  # empty for design points
    uncertainty: dict[str, float]
    acquisition_value: float | None


@dataclass(frozen=True, slots=True)
class FitMetrics:
    train_loss: float
    val_loss: float
    training_points: int


@dataclass(slots=True)
class Surrogate:
    regressors: list[GaussianProcessRegressor]  # one per objective, on standardized targets
    target_means: Array
    target_stds: Array
    feasibility: GaussianProcessClassifier | None  # None while every point had the same outcome
    all_feasible: bool
    x_train: Array
    y_train: Array  # standardized transformed targets, one column per objective
    metrics: FitMetrics


# ----- encoding ----------------------------------------------------------------


def encode(recipe: Recipe) -> Array:
    x = np.zeros(ENCODED_DIM)
    for i, p in enumerate(FLOAT_PARAMETERS):
        x[i] = (float(recipe[p.name]) - p.low) / (p.high - p.low)
    x[len(FLOAT_PARAMETERS) + POLYMER_PARAMETER.choices.index(str(recipe[POLYMER_PARAMETER.name]))] = 1.0
    return x


def decode(unit_floats: Array, polymer_index: int) -> Recipe:
    values: Recipe = {
        p.name: p.low + float(u) * (p.high - p.low)
        for p, u in zip(FLOAT_PARAMETERS, unit_floats, strict=True)
    }
    values[POLYMER_PARAMETER.name] = POLYMER_PARAMETER.choices[polymer_index]
    return membrane.rounded(values)


def _design_to_recipes(unit: Array) -> list[Recipe]:
    """Rows of [0,1]^(floats + 1): the last column picks the polymer."""
    n_choices = len(POLYMER_PARAMETER.choices)
    return [decode(row[:-1], min(n_choices - 1, int(row[-1] * n_choices))) for row in unit]


# ----- objective transforms ----------------------------------------------------


def to_targets(objectives: dict[str, float]) -> Array:
    flux = max(objectives[WATER_FLUX], 1e-3)
    passage = max(1.0 - objectives[SALT_REJECTION] / 100.0, 10.0**-MAX_LRV)
    return np.array([math.log(flux), -math.log10(passage)])


def to_hv_space(objectives: dict[str, float]) -> tuple[float, float]:
    """(flux, log reduction value): the space hypervolumes are measured in, reference (0, 0)."""
    targets = to_targets(objectives)
    return math.exp(targets[0]), float(targets[1])


def _prediction_in_units(mean: Array, std: Array) -> tuple[dict[str, float], dict[str, float]]:
    """Back-transform a GP prediction (log flux, LRV); std by the delta method."""
    flux = math.exp(mean[0])
    lrv = min(MAX_LRV, max(0.0, float(mean[1])))
    rejection = 100.0 * (1.0 - 10.0**-lrv)
    rejection_slope = 100.0 * math.log(10.0) * 10.0**-lrv
    predicted = {WATER_FLUX: _sig(flux), SALT_REJECTION: round(rejection, 3)}
    uncertainty = {
        WATER_FLUX: _sig(flux * float(std[0])),
        SALT_REJECTION: _sig(rejection_slope * float(std[1])),
    }
    return predicted, uncertainty


def _sig(value: float, digits: int = 5) -> float:
    return float(f"{value:.{digits}g}")


# ----- hypervolume (two objectives, both maximized, reference at the origin) ---


def pareto_points(points: Array) -> Array:
    """The non-dominated rows of an (n, 2) array, sorted by the first column descending."""
    if len(points) == 0:
        return points.reshape(0, 2)
    order = np.lexsort((-points[:, 1], -points[:, 0]))
    front = []
    best_second = -np.inf
    for row in points[order]:
        if row[1] > best_second:
            front.append(row)
            best_second = row[1]
    return np.array(front)


def hypervolume(points: Array) -> float:
    front = pareto_points(np.clip(points, 0.0, None))
    if len(front) == 0:
        return 0.0
    widths = front[:, 0] - np.append(front[1:, 0], 0.0)
    return float(np.sum(widths * front[:, 1]))


def hypervolume_improvement(front: Array, samples_first: Array, samples_second: Array) -> Array:
    """Exact 2-D hypervolume improvement of many points (any shape) over a front."""
    staircase = pareto_points(front)
    # Segment j spans first-objective values (lower[j], upper[j]] at front height heights[j].
    upper = np.concatenate(([np.inf], staircase[:, 0]))
    lower = np.concatenate((staircase[:, 0], [0.0]))
    heights = np.concatenate(([0.0], staircase[:, 1]))
    first = np.clip(samples_first, 0.0, None)[..., None]
    second = np.clip(samples_second, 0.0, None)[..., None]
    widths = np.clip(np.minimum(first, upper) - lower, 0.0, None)
    gains = np.clip(second - heights, 0.0, None)
    result: Array = np.sum(widths * gains, axis=-1)
    return result


# ----- the optimizer -------------------------------------------------------------


class BayesianOptimizer:
    def __init__(self, seed: int) -> None:
        self.seed = seed

    def _rng(self, iteration: int, purpose: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence([self.seed, iteration, purpose]))

    def initial_design(self, count: int, iteration: int) -> list[Proposal]:
        sampler = qmc.LatinHypercube(d=len(FLOAT_PARAMETERS) + 1, seed=self._rng(iteration, 1))
        return [Proposal(r, {}, {}, None) for r in _design_to_recipes(sampler.random(count))]

    def can_fit(self, observations: Sequence[Observation]) -> bool:
        return sum(1 for o in observations if not o.failed) >= MIN_TRAINING_POINTS

    def fit(self, observations: Sequence[Observation], iteration: int) -> Surrogate:
        # Matrices of a few hundred rows: one BLAS thread is 4-5x faster on a shared machine
        # than threads fighting over cores, and makes the arithmetic order reproducible.
        with threadpool_limits(limits=1):
            return self._fit(observations, iteration)

    def _fit(self, observations: Sequence[Observation], iteration: int) -> Surrogate:
        usable = [o for o in observations if not o.failed]
        x = np.array([encode(o.parameters) for o in usable])
        targets = np.array([to_targets(o.objectives) for o in usable])
        means = targets.mean(axis=0)
        stds = targets.std(axis=0)
        stds[stds < 1e-9] = 1.0
        y = (targets - means) / stds
        regressors = [self._fit_regressor(x, y[:, j], iteration, j) for j in range(y.shape[1])]
        labels = np.array([o.feasible for o in usable])
        classifier = None
        if labels.any() and not labels.all():
            classifier = GaussianProcessClassifier(
                kernel=ConstantKernel(1.0, (1e-2, 1e2)) * RBF(np.full(x.shape[1], 0.5), (5e-2, 1e2)),
                random_state=self.seed,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                classifier.fit(x, labels)
        metrics = FitMetrics(
            train_loss=float(np.mean([_train_mse(g, x, y[:, j]) for j, g in enumerate(regressors)])),
            val_loss=float(np.mean([_loo_mse(g, x, y[:, j]) for j, g in enumerate(regressors)])),
            training_points=len(usable),
        )
        return Surrogate(regressors, means, stds, classifier, bool(labels.all()), x, y, metrics)

    def _fit_regressor(self, x: Array, y: Array, iteration: int, objective: int) -> GaussianProcessRegressor:
        kernel = ConstantKernel(1.0, (1e-2, 1e2)) * Matern(
            length_scale=np.full(x.shape[1], 0.5), length_scale_bounds=(1e-2, 1e2), nu=2.5
        ) + WhiteKernel(1e-2, (1e-4, 1.0))
        gp = GaussianProcessRegressor(
            kernel=kernel,
            normalize_y=False,  # targets arrive standardized
            n_restarts_optimizer=1,
            random_state=int(np.random.SeedSequence([self.seed, iteration, objective]).generate_state(1)[0]),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp.fit(x, y)
        return gp

    def propose(
        self, surrogate: Surrogate, observations: Sequence[Observation], count: int, iteration: int
    ) -> list[Proposal]:
        with threadpool_limits(limits=1):
            return self._propose(surrogate, observations, count, iteration)

    def _propose(
        self, surrogate: Surrogate, observations: Sequence[Observation], count: int, iteration: int
    ) -> list[Proposal]:
        rng = self._rng(iteration, 2)
        measured_front = np.array(
            [to_hv_space(o.objectives) for o in observations if not o.failed and o.feasible]
        ).reshape(-1, 2)
        pool = self._candidate_pool(rng, surrogate, observations)
        feasible_probability = self._feasible_probability(surrogate, pool)
        likely = feasible_probability >= MIN_FEASIBLE_PROBABILITY
        if np.count_nonzero(likely) >= count:
            # EHVI peaks right on the integrity limit; a coin flip there wastes half the batch.
            pool, feasible_probability = pool[likely], feasible_probability[likely]
        base_normals = rng.standard_normal((MC_SAMPLES, 2))  # common random numbers: a smooth, fair ranking
        regressors = surrogate.regressors
        x_train, y_train = surrogate.x_train, surrogate.y_train
        front = measured_front
        available = np.ones(len(pool), dtype=bool)
        proposals: list[Proposal] = []
        for _ in range(min(count, len(pool))):
            mean, std = _posterior(regressors, pool, surrogate)
            flux_samples = np.exp(mean[:, None, 0] + std[:, None, 0] * base_normals[None, :, 0])
            lrv_samples = np.clip(mean[:, None, 1] + std[:, None, 1] * base_normals[None, :, 1], 0.0, MAX_LRV)
            ehvi = hypervolume_improvement(front, flux_samples, lrv_samples).mean(axis=1)
            acquisition = np.where(available, ehvi * feasible_probability, -np.inf)
            if not np.any(acquisition > 0):
                # No expected gain anywhere: explore where the model knows least.
                acquisition = np.where(available, std.sum(axis=1) * feasible_probability, -np.inf)
            pick = int(np.argmax(acquisition))
            available[pick] = False
            real_mean, real_std = _posterior(surrogate.regressors, pool[pick : pick + 1], surrogate)
            predicted, uncertainty = _prediction_in_units(real_mean[0], real_std[0])
            proposals.append(
                Proposal(_recipe_of(pool[pick]), predicted, uncertainty, _sig(float(acquisition[pick]), 6))
            )
            # Kriging believer: pretend the pick came out as predicted, so the next pick goes elsewhere.
            fantasy_std = (mean[pick] - surrogate.target_means) / surrogate.target_stds
            x_train = np.vstack((x_train, pool[pick]))
            y_train = np.vstack((y_train, fantasy_std))
            regressors = [
                _refit_frozen(g, x_train, y_train[:, j]) for j, g in enumerate(surrogate.regressors)
            ]
            fantasy_point = np.array([[math.exp(mean[pick, 0]), max(0.0, mean[pick, 1])]])
            front = np.vstack((front, fantasy_point))
        return proposals

    def _candidate_pool(
        self, rng: np.random.Generator, surrogate: Surrogate, observations: Sequence[Observation]
    ) -> Array:
        sobol = qmc.Sobol(d=len(FLOAT_PARAMETERS) + 1, scramble=True, seed=rng)
        recipes = _design_to_recipes(sobol.random_base2(SOBOL_POOL_LOG2))
        n_floats = len(FLOAT_PARAMETERS)
        measured = [o for o in observations if not o.failed and o.feasible]
        on_front = _front_mask(np.array([to_hv_space(o.objectives) for o in measured]).reshape(-1, 2))
        for o, leading in zip(measured, on_front, strict=True):
            centre = encode(o.parameters)
            polymer_index = int(np.argmax(centre[n_floats:]))
            # Refine around the front hard, and a little around everything else that worked.
            for _ in range(LOCAL_PER_FRONT_POINT if leading else LOCAL_PER_FRONT_POINT // 4):
                step = np.clip(centre[:n_floats] + LOCAL_STEP * rng.standard_normal(n_floats), 0.0, 1.0)
                choice = (
                    polymer_index
                    if rng.random() < 0.75
                    else int(rng.integers(len(POLYMER_PARAMETER.choices)))
                )
                recipes.append(decode(step, choice))
        pool = np.array([encode(r) for r in recipes])
        pool = np.unique(pool, axis=0)  # sorted: the order no longer depends on how candidates were made
        seen = surrogate.x_train
        distances = np.min(np.linalg.norm(pool[:, None, :] - seen[None, :, :], axis=-1), axis=1)
        kept: Array = pool[distances > 1e-6]
        return kept

    @staticmethod
    def _feasible_probability(surrogate: Surrogate, pool: Array) -> Array:
        if surrogate.feasibility is None:
            # Only failures seen so far says little about where success lies: stay neutral.
            return np.full(len(pool), 1.0 if surrogate.all_feasible else 0.5)
        classes = list(surrogate.feasibility.classes_)
        probabilities: Array = surrogate.feasibility.predict_proba(pool)[:, classes.index(True)]
        return probabilities


def _front_mask(points: Array) -> NDArray[np.bool_]:
    """Which rows of an (n, 2) array no other row dominates."""
    if len(points) == 0:
        return np.zeros(0, dtype=bool)
    no_worse = np.all(points[None, :, :] >= points[:, None, :], axis=-1)
    better = np.any(points[None, :, :] > points[:, None, :], axis=-1)
    dominated: NDArray[np.bool_] = np.any(no_worse & better, axis=1)
    return ~dominated


def _recipe_of(encoded: Array) -> Recipe:
    n_floats = len(FLOAT_PARAMETERS)
    return decode(encoded[:n_floats], int(np.argmax(encoded[n_floats:])))


def _posterior(
    regressors: Sequence[GaussianProcessRegressor], x: Array, surrogate: Surrogate
) -> tuple[Array, Array]:
    """Mean and std of the transformed targets (log flux, LRV), in their own units."""
    means, stds = [], []
    for j, gp in enumerate(regressors):
        mean, std = gp.predict(x, return_std=True)
        means.append(mean * surrogate.target_stds[j] + surrogate.target_means[j])
        stds.append(std * surrogate.target_stds[j])
    return np.column_stack(means), np.column_stack(stds)


def _refit_frozen(gp: GaussianProcessRegressor, x: Array, y: Array) -> GaussianProcessRegressor:
    frozen = GaussianProcessRegressor(kernel=gp.kernel_, optimizer=None, normalize_y=False)
    frozen.fit(x, y)
    return frozen


def _train_mse(gp: GaussianProcessRegressor, x: Array, y: Array) -> float:
    return float(np.mean((gp.predict(x) - y) ** 2))


def _loo_mse(gp: GaussianProcessRegressor, x: Array, y: Array) -> float:
    """Exact leave-one-out residuals of a GP: r_i = [K^-1 y]_i / [K^-1]_ii (Rasmussen & Williams 5.12)."""
    k = gp.kernel_(x) + gp.alpha * np.eye(len(x))
    factor = cho_factor(k, lower=True)
    k_inv = cho_solve(factor, np.eye(len(x)))
    residuals = (k_inv @ y) / np.diag(k_inv)
    return float(np.mean(residuals**2))


def random_design(count: int, seed: int) -> list[Recipe]:
    """Uniform random recipes: the baseline a Bayesian optimizer must beat."""
    return membrane.random_recipes(count, np.random.default_rng(np.random.SeedSequence([seed, 0x52414E44])))
