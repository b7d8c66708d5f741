"""Where evaluations succeed: a Gaussian-process classifier of "measured and feasible" outcomes.

A failed evaluation (the evaluator crashed, timed out, printed nonsense) and an infeasible
one (a constraint violated) both count as "no success": the optimizer multiplies its
acquisition by the probability of success and avoids candidates below a floor, so it
stops proposing into a region where evaluations fail.

scikit-learn's Laplace-approximation classifier, on at most ``MAX_POINTS`` points (up to
half of them unsuccessful ones, usually the rare class): a boundary needs no more, and a
prediction costs O(points^2), paid for thousands of candidates per proposal.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Final, TypeAlias

import numpy as np
from numpy.typing import NDArray
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessClassifier
from sklearn.gaussian_process.kernels import ConstantKernel, Matern

Array: TypeAlias = NDArray[np.float64]

MAX_POINTS: Final = 150
# With nothing but failures, success is as likely as not anywhere: stay neutral.
NEUTRAL_PROBABILITY: Final = 0.5


@dataclass(frozen=True, slots=True)
class FeasibilityModel:
    classifier: GaussianProcessClassifier | None
    constant: float  # the probability everywhere when there is no classifier

    @classmethod
    def fit(cls, x: Array, success: NDArray[np.bool_], rng: np.random.Generator) -> FeasibilityModel:
        if success.all():
            return cls(None, 1.0)
        if not success.any():
            return cls(None, NEUTRAL_PROBABILITY)
        kernel = ConstantKernel(2.0, (0.1, 100.0)) * Matern(
            length_scale=np.full(x.shape[1], 0.3), length_scale_bounds=(0.1, 50.0), nu=2.5
        )
        fit_x, fit_y = _subset(x, success, rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            classifier = GaussianProcessClassifier(kernel=kernel, random_state=0).fit(fit_x, fit_y)
        return cls(classifier, 1.0)

    def probability(self, points: Array) -> Array:
        if self.classifier is None:
            return np.full(len(points), self.constant)
        if len(points) == 0:
            return np.zeros(0)
        classes = list(self.classifier.classes_)
        probabilities: Array = self.classifier.predict_proba(points)[:, classes.index(True)]
        return probabilities


def _subset(
    x: Array, success: NDArray[np.bool_], rng: np.random.Generator
) -> tuple[Array, NDArray[np.bool_]]:
    if len(x) <= MAX_POINTS:
        return x, success
    failures = np.flatnonzero(~success)
    successes = np.flatnonzero(success)
    keep_failures = (
        failures if len(failures) <= MAX_POINTS // 2 else rng.choice(failures, MAX_POINTS // 2, replace=False)
    )
    room = MAX_POINTS - len(keep_failures)
    keep_successes = successes if len(successes) <= room else rng.choice(successes, room, replace=False)
    chosen = np.sort(np.concatenate((keep_failures, keep_successes)))
    return x[chosen], success[chosen]
