"""The Bayesian optimizer of `materia-tui run`: any search space, one objective or several.

- Until ``initial_samples`` evaluations exist, proposals come from a scrambled Sobol design
  (one design per seed, handed out in order, skipping points already evaluated).
- Then one Gaussian process per objective (``surrogate.py``) on standardized values,
  oriented so larger is better, and a classifier of where evaluations succeed
  (``feasibility.py``: failures and infeasible outcomes).
- Acquisition: log expected improvement over the best feasible posterior mean (one
  objective), or exact expected hypervolume improvement over the feasible measured front
  (several), times the probability of success; candidates unlikely to succeed are ranked
  last. Maximized over a Sobol pool plus perturbations of the best points, then refined by
  a shrinking local search from the top candidates.
- Batches by kriging believer: each pick joins the data with its predicted value, so the
  next pick goes elsewhere.

Everything random comes from ``numpy.random.SeedSequence([seed, iteration, ...])`` and the
observations are put in a canonical order first, so a seed gives the same proposals for the
same observations whatever order they arrive in: a resumed campaign proposes what an
uninterrupted one would have.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, TypeAlias

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from materia_tui.backend.run.acquisition import (
    Boxes,
    expected_hypervolume_improvement,
    infer_reference,
    log_expected_improvement,
    nondominated_boxes,
    pareto_mask,
    thin_front,
)
from materia_tui.backend.run.feasibility import FeasibilityModel
from materia_tui.backend.run.search import LocalSearch, candidate_pool, distinct_from, unseen
from materia_tui.backend.run.space import ObjectiveSpec, ParameterValue, SearchSpace
from materia_tui.backend.run.surrogate import GaussianProcess

Array: TypeAlias = NDArray[np.float64]

MIN_MEASURED: Final = 2  # a GP needs something to fit
MIN_SUCCESS_PROBABILITY: Final = 0.4  # below this, a candidate is only taken when nothing else is left
UNLIKELY_PENALTY: Final = 1e3  # in log-acquisition units: below any likely candidate
NO_GAIN_OFFSET: Final = 1e6  # no expected gain at all: ranked below any gain, by uncertainty
DESIGN_SEED: Final = 0x5EED
POOL_PURPOSE: Final = 2
FRONT_PURPOSE: Final = 3
SHORTLIST: Final = 256


@dataclass(frozen=True, slots=True)
class Observation:
    """An evaluated candidate as the optimizer sees it (``objectives`` empty when it failed)."""

    parameters: Mapping[str, Any]
    objectives: Mapping[str, float]
    feasible: bool
    failed: bool


@dataclass(frozen=True, slots=True)
class Proposal:
    parameters: dict[str, ParameterValue]
    predicted: dict[str, float]  # empty for design points
    uncertainty: dict[str, float]  # one standard deviation, in the objective's units
    acquisition_value: float | None


@dataclass(frozen=True, slots=True)
class FitMetrics:
    """Standardized units, averaged over objectives: error at the training points, and the
    exact leave-one-out error."""

    train_loss: float
    val_loss: float


@dataclass(frozen=True, slots=True)
class FittedModel:
    metrics: FitMetrics
    regressors: tuple[GaussianProcess, ...]  # one per objective, standardized, larger is better
    target_means: Array
    target_stds: Array
    feasibility: FeasibilityModel
    training_points: int


@dataclass(frozen=True, slots=True)
class _Table:
    """The observations as arrays, in a canonical order."""

    x: Array  # every observation, encoded
    success: NDArray[np.bool_]  # measured and feasible
    measured: NDArray[np.bool_]  # has every objective value
    values: Array  # (measured, objectives), larger is better


class Optimizer:
    def __init__(
        self, space: SearchSpace, objectives: Sequence[ObjectiveSpec], *, seed: int, initial_samples: int
    ) -> None:
        if not objectives:
            raise ValueError("at least one objective is needed")
        if len({o.name for o in objectives}) != len(objectives):
            raise ValueError("objective names must be distinct")
        if initial_samples < 1:
            raise ValueError("initial_samples must be at least 1")
        self.space = space
        self.objectives = tuple(objectives)
        self.seed = seed
        self.initial_samples = initial_samples
        self._signs = np.array([1.0 if o.direction == "maximize" else -1.0 for o in self.objectives])

    def _rng(self, iteration: int, purpose: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence([self.seed, iteration, purpose]))

    # ----- fit ------------------------------------------------------------------------

    def fit(self, observations: Sequence[Observation], iteration: int) -> FittedModel | None:
        """The surrogate, or None while the initial design is not complete (nothing to train)."""
        table = self._table(observations)
        if len(observations) < self.initial_samples or int(table.measured.sum()) < MIN_MEASURED:
            return None
        # Matrices of a few hundred rows: one BLAS thread is faster on a shared machine than
        # threads fighting over cores, and makes the arithmetic order reproducible.
        with threadpool_limits(limits=1):
            return self._fit(table, iteration)

    def _fit(self, table: _Table, iteration: int) -> FittedModel:
        means = table.values.mean(axis=0)
        stds = table.values.std(axis=0)
        stds = np.where(stds > 1e-12, stds, 1.0)
        # A failed evaluation counts as the worst value measured (SMAC's "crash cost"): the
        # surrogate itself then sees nothing to gain where evaluations fail, not just the
        # classifier, so a region of failures is left alone even where the classifier is unsure.
        standardized = np.empty((len(table.x), len(self.objectives)))
        standardized[table.measured] = (table.values - means) / stds
        standardized[~table.measured] = ((table.values - means) / stds).min(axis=0)
        regressors = tuple(
            GaussianProcess.fit(table.x, standardized[:, j], self._rng(iteration, 10 + j))
            for j in range(len(self.objectives))
        )
        feasibility = FeasibilityModel.fit(table.x, table.success, self._rng(iteration, 1))
        metrics = FitMetrics(  # on the measured points only: imputed failures are no data
            train_loss=float(np.mean([g.train_mse(table.measured) for g in regressors])),
            val_loss=float(np.mean([g.loo_mse(table.measured) for g in regressors])),
        )
        return FittedModel(metrics, regressors, means, stds, feasibility, int(table.measured.sum()))

    def _table(self, observations: Sequence[Observation]) -> _Table:
        names = [o.name for o in self.objectives]
        count = len(observations)
        x = self.space.snap(
            np.array([self.space.encode(o.parameters) for o in observations]).reshape(count, self.space.dim)
        )
        raw = np.full((count, len(names)), np.nan)
        for i, o in enumerate(observations):
            if not o.failed:
                raw[i] = [_as_float(o.objectives.get(name)) for name in names]
        measured = np.all(np.isfinite(raw), axis=1)
        success = measured & np.array([o.feasible for o in observations], dtype=bool)
        # Canonical order (by position, then outcome): the same data gives the same model.
        keys = np.column_stack((x, measured, success, np.nan_to_num(raw, nan=-np.inf)))
        order = np.lexsort(keys.T[::-1])
        x, measured, success, raw = x[order], measured[order], success[order], raw[order]
        return _Table(x, success, measured, raw[measured] * self._signs)

    # ----- propose --------------------------------------------------------------------

    def propose(
        self, model: FittedModel | None, observations: Sequence[Observation], batch_size: int, iteration: int
    ) -> list[Proposal]:
        """``batch_size`` new candidates (fewer only when the space has no unevaluated point left)."""
        if batch_size < 1:
            return []
        table = self._table(observations)
        if model is None:
            return self._design(table, batch_size)
        with threadpool_limits(limits=1):
            return self._propose(model, table, batch_size, iteration)

    def _design(self, table: _Table, batch_size: int) -> list[Proposal]:
        """The seed's design, in order, skipping what was evaluated: a Latin hypercube of
        ``initial_samples`` points, then (if more are asked for) a scrambled Sobol sequence."""
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, DESIGN_SEED]))
        design = self.space.latin_hypercube(self.initial_samples, rng)
        picks = distinct_from(design, table.x, batch_size)
        if len(picks) < batch_size:
            wanted = len(table.x) + batch_size
            more = self.space.sobol(wanted, rng)
            picks = distinct_from(more, np.vstack((table.x, picks)), batch_size, picks)
        if len(picks) < batch_size:  # a small discrete space: its Sobol points repeat
            extra = self.space.sobol(64 * (len(table.x) + batch_size), rng)
            picks = distinct_from(extra, np.vstack((table.x, picks)), batch_size, picks)
        return [Proposal(self.space.decode(row), {}, {}, None) for row in picks]

    def _propose(self, model: FittedModel, table: _Table, batch_size: int, iteration: int) -> list[Proposal]:
        rng = self._rng(iteration, POOL_PURPOSE)
        scorer = _Scorer.create(model, table, self._rng(iteration, FRONT_PURPOSE))
        pool = candidate_pool(self.space, table.x, scorer.anchors, rng)
        search = LocalSearch(self.space, rng)
        taken = table.x
        proposals: list[Proposal] = []
        for _ in range(batch_size):
            pool = pool[unseen(pool, taken)]
            best_x, best_score, pool_scores = search.maximize(scorer.log_value, pool, taken)
            if best_x is None:
                break
            # Later picks start from the pool's best part: the believer mostly lowers the
            # acquisition near earlier picks, and this keeps a batch at 500 points fast.
            pool = pool[np.argsort(-pool_scores, kind="stable")[:SHORTLIST]]
            proposals.append(self._proposal(model, scorer, best_x, best_score))
            taken = np.vstack((taken, best_x))
            scorer = scorer.believe(best_x)
        return proposals

    def _proposal(self, model: FittedModel, scorer: _Scorer, x: Array, score: float) -> Proposal:
        predicted: dict[str, float] = {}
        uncertainty: dict[str, float] = {}
        for j, (objective, gp) in enumerate(zip(self.objectives, model.regressors, strict=True)):
            mean, std = gp.predict(x[None, :])
            value = (float(mean[0]) * model.target_stds[j] + model.target_means[j]) * self._signs[j]
            predicted[objective.name] = _sig(value)
            uncertainty[objective.name] = _sig(float(std[0]) * model.target_stds[j])
        return Proposal(self.space.decode(x), predicted, uncertainty, scorer.reported_value(score))


@dataclass(frozen=True, slots=True)
class _Scorer:
    """The acquisition of a (possibly fantasized) model: log of EI or EHVI times P(success)."""

    regressors: tuple[GaussianProcess, ...]
    feasibility: FeasibilityModel
    incumbent: float  # one objective: standardized best feasible posterior mean
    front: Array  # several objectives: standardized feasible measured front
    reference: Array
    boxes: Boxes | None
    unit_scale: float  # single objective: standardized improvement -> objective units
    anchors: Array  # measured points worth refining around, best first

    @classmethod
    def create(cls, model: FittedModel, table: _Table, rng: np.random.Generator) -> _Scorer:
        x_measured = table.x[table.measured]
        values = (table.values - model.target_means) / model.target_stds
        feasible = table.success[table.measured]
        regressors = model.regressors
        if len(regressors) == 1:
            mean_at_points, _ = regressors[0].predict(x_measured)
            pool = mean_at_points[feasible] if feasible.any() else values[:, 0]
            incumbent = float(pool.max()) if feasible.any() else float(pool.min())
            order = np.argsort(-np.where(feasible, mean_at_points, -np.inf), kind="stable")
            return cls(
                regressors,
                model.feasibility,
                incumbent,
                np.zeros((0, 1)),
                np.zeros(1),
                None,
                float(model.target_stds[0]),
                x_measured[order],
            )
        front = values[feasible]
        on_front = pareto_mask(front)
        front = front[on_front]
        reference = infer_reference(values)
        boxes = nondominated_boxes(thin_front(front, len(regressors), rng), reference)
        anchors = np.vstack((x_measured[feasible][on_front], x_measured[feasible][~on_front]))
        return cls(regressors, model.feasibility, math.nan, front, reference, boxes, 1.0, anchors)

    def log_value(self, x: Array) -> Array:
        predictions = [gp.predict(x) for gp in self.regressors]
        mean = np.column_stack([p[0] for p in predictions])
        std = np.column_stack([p[1] for p in predictions])
        if self.boxes is None:
            log_acquisition = log_expected_improvement(mean[:, 0], std[:, 0], self.incumbent)
        else:
            ehvi = expected_hypervolume_improvement(self.boxes, mean, std)
            with np.errstate(divide="ignore"):
                log_acquisition = np.where(ehvi > 0, np.log(ehvi), -NO_GAIN_OFFSET + np.log(std.mean(axis=1)))
        probability = self.feasibility.probability(x)
        score: Array = log_acquisition + np.log(np.maximum(probability, 1e-300))
        score = np.where(probability < MIN_SUCCESS_PROBABILITY, score - UNLIKELY_PENALTY, score)
        return score

    def reported_value(self, score: float) -> float:
        """The acquisition value in plain units (EI in the objective's units, EHVI standardized)."""
        if score < -NO_GAIN_OFFSET / 2:
            return 0.0
        if score < -UNLIKELY_PENALTY / 2:
            score += UNLIKELY_PENALTY
        return _sig(math.exp(score) * self.unit_scale) if score < 700 else _sig(math.exp(700))

    def believe(self, x: Array) -> _Scorer:
        """Kriging believer: the model as if ``x`` had come out as predicted."""
        row = x[None, :]
        means = [float(gp.predict(row)[0][0]) for gp in self.regressors]
        regressors = tuple(gp.with_point(x, m) for gp, m in zip(self.regressors, means, strict=True))
        if self.boxes is None:
            return replace(self, regressors=regressors, incumbent=max(self.incumbent, means[0]))
        front = np.vstack((self.front, means))
        front = front[pareto_mask(front)]
        rng = np.random.default_rng(len(front))  # which points a 3+-objective front keeps
        boxes = nondominated_boxes(thin_front(front, len(regressors), rng), self.reference)
        return replace(self, regressors=regressors, front=front, boxes=boxes)


def _as_float(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def _sig(value: float, digits: int = 6) -> float:
    if not math.isfinite(value):
        return value
    return float(f"{value:.{digits}g}")
