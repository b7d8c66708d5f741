"""The `run` optimizer on standard test problems, against Optuna's default sampler and random search.

Same evaluation budget for all three: ours proposes a Latin-hypercube design of 10 points,
then batches of 5 (what `materia-tui run` does); Optuna runs its default sampler (what
``optuna.create_study(directions=...)`` picks when given none: checked at run time, and
seeded per run for reproducibility) one trial at a time, which gives it the advantage of
seeing every result before the next suggestion; random search draws uniformly. Median over
the seeds of:

- two objectives (ZDT1 in its standard 30 dimensions, Branin-Currin in 2): the hypervolume
  of everything evaluated, against the problems' customary reference points;
- one objective (Hartmann-6): the best value found.

Then the optimizer's own cost: one iteration (fit + a batch of 5) at 100 and 500
evaluations (Hartmann-6, ZDT1, and a membrane-like mixed space with a constraint and
failures, which adds the feasibility classifier), against Optuna's default sampler
suggesting 5 trials with the same history.
Correctness (fails the run): proposals inside the bounds, never repeating an evaluated point,
the same proposals for the same seed.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BenchResult, Row, run_cli
from materia_tui.backend.run.acquisition import hypervolume
from materia_tui.backend.run.optimizer import Observation, Optimizer, Proposal
from materia_tui.backend.run.space import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    ObjectiveSpec,
    SearchSpace,
)

Values = dict[str, float]
INITIAL = 10
BATCH = 5
TARGET = ">= Optuna's default, clearly (gap to optimum <= half) above random"


@dataclass(frozen=True)
class Problem:
    name: str
    dim: int
    objectives: tuple[str, ...]  # all minimized
    evaluate: Callable[[np.ndarray], tuple[float, ...]]
    reference: tuple[float, ...] | None = None  # two objectives: hypervolume reference (minimization)
    best_possible: float = 0.0  # the optimum: max hypervolume, or min value

    @property
    def space(self) -> SearchSpace:
        return SearchSpace(tuple(ContinuousParameter(f"x{i}", 0.0, 1.0) for i in range(self.dim)))

    def score(self, results: Sequence[Values]) -> float:
        """Hypervolume (two objectives) or best value (one) of ``results``."""
        if self.reference is None:
            return min(r[self.objectives[0]] for r in results)
        points = np.array([[-r[name] for name in self.objectives] for r in results])
        return hypervolume(points, -np.array(self.reference))

    def gap(self, score: float) -> float:
        """Distance to the optimum (>= 0): the regret, or the hypervolume still missing."""
        return abs(self.best_possible - score)


def zdt1(x: np.ndarray) -> tuple[float, ...]:
    f1 = float(x[0])
    g = 1.0 + 9.0 * float(np.mean(x[1:]))
    return f1, g * (1.0 - math.sqrt(f1 / g))


def branin_currin(x: np.ndarray) -> tuple[float, ...]:
    u, v = 15.0 * x[0] - 5.0, 15.0 * x[1]
    branin = (
        (v - 5.1 / (4 * math.pi**2) * u * u + 5 / math.pi * u - 6) ** 2
        + 10 * (1 - 1 / (8 * math.pi)) * math.cos(u)
        + 10
    )
    a, b = float(x[0]), float(x[1])
    factor = 1.0 - math.exp(-1.0 / (2.0 * b)) if b > 0 else 1.0
    currin = factor * (2300 * a**3 + 1900 * a**2 + 2092 * a + 60) / (100 * a**3 + 500 * a**2 + 4 * a + 20)
    return float(branin), float(currin)


HARTMANN_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
HARTMANN_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
HARTMANN_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def hartmann6(x: np.ndarray) -> tuple[float, ...]:
    return (-float(np.sum(HARTMANN_ALPHA * np.exp(-np.sum(HARTMANN_A * (x - HARTMANN_P) ** 2, axis=1)))),)


ZDT1 = Problem("ZDT1 (30-D, 2 objectives)", 30, ("f1", "f2"), zdt1, (11.0, 11.0), 120.0 + 2.0 / 3.0)
BRANIN_CURRIN = Problem(
    "Branin-Currin (2-D, 2 objectives)", 2, ("f1", "f2"), branin_currin, (18.0, 6.0), 59.36011874867746
)
HARTMANN6 = Problem("Hartmann-6 (1 objective, minimized)", 6, ("f",), hartmann6, None, -3.32237)


def _vector(problem: Problem, parameters: Mapping[str, Any]) -> np.ndarray:
    return np.array([float(parameters[f"x{i}"]) for i in range(problem.dim)])


def _values(problem: Problem, x: np.ndarray) -> Values:
    return dict(zip(problem.objectives, problem.evaluate(x), strict=True))


# ----- the three contestants ------------------------------------------------------------------


def run_ours(
    problem: Problem, seed: int, budget: int, result: BenchResult
) -> tuple[list[Values], list[Proposal]]:
    space = problem.space
    optimizer = Optimizer(
        space, [ObjectiveSpec(n, "minimize") for n in problem.objectives], seed=seed, initial_samples=INITIAL
    )
    observations: list[Observation] = []
    proposals: list[Proposal] = []
    iteration = 0
    while len(observations) < budget:
        iteration += 1
        model = optimizer.fit(observations, iteration)
        batch = optimizer.propose(model, observations, min(BATCH, budget - len(observations)), iteration)
        result.check(len(batch) > 0, f"{problem.name}: no proposal at iteration {iteration}")
        if not batch:
            break
        seen = {tuple(sorted(o.parameters.items())) for o in observations}
        for p in batch:
            x = _vector(problem, p.parameters)
            result.check(bool(np.all((x >= 0) & (x <= 1))), f"{problem.name}: a proposal outside the bounds")
            result.check(
                tuple(sorted(p.parameters.items())) not in seen,
                f"{problem.name}: an evaluated point proposed again",
            )
            observations.append(Observation(p.parameters, _values(problem, x), True, False))
        proposals += batch
    return [dict(o.objectives) for o in observations], proposals


def default_optuna_sampler_name() -> str:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.create_study(directions=["minimize", "minimize"]).sampler
    single = optuna.create_study(direction="minimize").sampler
    names = {type(sampler).__name__, type(single).__name__}
    return f"Optuna {optuna.__version__} {' / '.join(sorted(names))}"


def _seeded_default_sampler(seed: int) -> Any:
    """Optuna's default sampler class, built with its default arguments and a seed."""
    import optuna

    default: Any = type(optuna.create_study().sampler)  # what create_study() picks when given none
    return default(seed=seed)


def run_optuna(problem: Problem, seed: int, budget: int) -> list[Values]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        directions=["minimize"] * len(problem.objectives), sampler=_seeded_default_sampler(seed)
    )
    results: list[Values] = []

    def objective(trial: Any) -> float | tuple[float, ...]:
        x = np.array([trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(problem.dim)])
        values = problem.evaluate(x)
        results.append(dict(zip(problem.objectives, values, strict=True)))
        return values if len(values) > 1 else values[0]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(objective, n_trials=budget)
    return results


def run_random(problem: Problem, seed: int, budget: int) -> list[Values]:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x52414E44]))
    return [_values(problem, x) for x in rng.random((budget, problem.dim))]


# ----- quality -----------------------------------------------------------------------------------


def compare(
    problem: Problem,
    seeds: int,
    budgets: Sequence[int],
    result: BenchResult,
    sampler_name: str,
    verdict: bool,
) -> None:
    """Median scores at each budget. The target is judged at the full budget (the issue's N) and
    only with ``verdict`` (enough seeds); smaller budgets show the progress on the way."""
    budget = max(budgets)
    ours, theirs, rand = [], [], []
    for seed in range(seeds):
        ours.append(run_ours(problem, seed, budget, result)[0])
        theirs.append(run_optuna(problem, seed, budget))
        rand.append(run_random(problem, seed, budget))
    kind = "hypervolume" if problem.reference is not None else "best value"
    for n in budgets:
        med = {
            name: statistics.median(problem.score(r[:n]) for r in runs)
            for name, runs in (("ours", ours), ("optuna", theirs), ("random", rand))
        }
        gaps = {name: problem.gap(value) for name, value in med.items()}
        meets = gaps["ours"] <= gaps["optuna"] and gaps["ours"] <= 0.5 * gaps["random"]
        judged = verdict and n == budget
        target = (
            TARGET
            if judged
            else "(progress; judged at the full budget)"
            if verdict
            else "(judged in the full run)"
        )
        optimum = (
            f"max {problem.best_possible:.2f}"
            if problem.reference is not None
            else f"optimum {problem.best_possible}"
        )
        result.rows.append(
            Row(
                f"{problem.name}: {kind} after {n} evaluations, median of {seeds} seeds ({optimum})",
                target,
                f"ours {med['ours']:.4g}",
                f"{sampler_name} {med['optuna']:.4g}; random {med['random']:.4g}",
                f"gap to optimum: ours {_ratio(gaps['ours'], gaps['optuna'])} Optuna's, "
                f"{_ratio(gaps['ours'], gaps['random'])} random's",
                meets_target=meets if judged else None,
            )
        )
    per_seed = "; ".join(
        f"{name} {', '.join(f'{problem.score(r):.4g}' for r in runs)}"
        for name, runs in (("ours", ours), ("Optuna", theirs), ("random", rand))
    )
    result.notes.append(f"{problem.name}, {kind} per seed after {budget}: {per_seed}.")


def _ratio(ours: float, theirs: float) -> str:
    if theirs <= 0:
        return "n/a" if ours > 0 else "1.00x"
    return f"{ours / theirs:.2g}x"


def check_determinism(problem: Problem, result: BenchResult) -> None:
    first = run_ours(problem, 7, 20, result)[1]
    again = run_ours(problem, 7, 20, result)[1]
    result.check(first == again, f"{problem.name}: seed 7 proposed differently on a second run")


# ----- cost --------------------------------------------------------------------------------------


def time_iteration(problem: Problem, evaluations: int, repeat: int) -> tuple[float, float]:
    """(ours, Optuna's default) seconds for one batch of 5 given ``evaluations`` random results."""
    space = problem.space
    rng = np.random.default_rng(evaluations)
    xs = rng.random((evaluations, problem.dim))
    observations = [Observation(space.decode(x), _values(problem, x), True, False) for x in xs]
    optimizer = Optimizer(
        space, [ObjectiveSpec(n, "minimize") for n in problem.objectives], seed=0, initial_samples=INITIAL
    )
    ours = math.inf
    for _ in range(repeat):
        started = time.perf_counter()
        optimizer.propose(optimizer.fit(observations, 99), observations, BATCH, 99)
        ours = min(ours, time.perf_counter() - started)
    return ours, time_optuna(problem, xs, repeat)


def time_optuna(problem: Problem, xs: np.ndarray, repeat: int) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    distributions: dict[str, optuna.distributions.BaseDistribution] = {
        f"x{i}": optuna.distributions.FloatDistribution(0.0, 1.0) for i in range(problem.dim)
    }
    best = math.inf
    for attempt in range(repeat):
        study = optuna.create_study(
            directions=["minimize"] * len(problem.objectives), sampler=_seeded_default_sampler(attempt)
        )
        study.add_trials(
            [
                optuna.trial.create_trial(
                    params={f"x{i}": float(v) for i, v in enumerate(x)},
                    distributions=distributions,
                    values=list(problem.evaluate(x)),
                )
                for x in xs
            ]
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            started = time.perf_counter()
            for _ in range(BATCH):
                trial = study.ask()
                for name in distributions:
                    trial.suggest_float(name, 0.0, 1.0)
            best = min(best, time.perf_counter() - started)
    return best


MEMBRANE_SPACE = SearchSpace(
    (
        ContinuousParameter("pore_size_nm", 0.2, 2.0),
        ContinuousParameter("thickness_um", 0.05, 1.0, log=True),
        IntegerParameter("temperature_c", 20, 80),
        CategoricalParameter("polymer", ("PA", "PES", "PSf", "PVDF")),
    )
)
MEMBRANE_NAME = "membrane-like mixed space (4 parameters, 2 objectives, a constraint, ~20% failures)"


def membrane_outcome(p: Mapping[str, Any]) -> Observation:
    """A made-up membrane: flux up with pores and down with thickness, rejection the reverse;
    evaluations fail for big pores, and a rejection under 85 is infeasible."""
    if float(p["pore_size_nm"]) > 1.65:
        return Observation(p, {}, feasible=False, failed=True)
    pore, thickness = float(p["pore_size_nm"]), float(p["thickness_um"])
    flux = pore**2 / thickness * (1.2 if p["polymer"] == "PA" else 1.0)
    rejection = 100.0 - 9.0 * pore + float(p["temperature_c"]) / 20.0
    return Observation(p, {"water_flux": flux, "salt_rejection": rejection}, rejection > 85.0, False)


def time_mixed(evaluations: int, repeat: int) -> tuple[float, float]:
    """(ours, Optuna's default) seconds for one batch of 5 on the mixed space."""
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    observations = [membrane_outcome(p) for p in MEMBRANE_SPACE.sample(evaluations, np.random.default_rng(1))]
    objectives = [ObjectiveSpec("water_flux", "maximize"), ObjectiveSpec("salt_rejection", "maximize")]
    optimizer = Optimizer(MEMBRANE_SPACE, objectives, seed=0, initial_samples=INITIAL)
    ours = math.inf
    for _ in range(repeat):
        started = time.perf_counter()
        optimizer.propose(optimizer.fit(observations, 99), observations, BATCH, 99)
        ours = min(ours, time.perf_counter() - started)
    distributions: dict[str, optuna.distributions.BaseDistribution] = {
        "pore_size_nm": FloatDistribution(0.2, 2.0),
        "thickness_um": FloatDistribution(0.05, 1.0, log=True),
        "temperature_c": IntDistribution(20, 80),
        "polymer": CategoricalDistribution(("PA", "PES", "PSf", "PVDF")),
    }
    trials = [
        optuna.trial.create_trial(
            params=dict(o.parameters),
            distributions=distributions,
            state=optuna.trial.TrialState.FAIL if o.failed else optuna.trial.TrialState.COMPLETE,
            values=None if o.failed else [o.objectives["water_flux"], o.objectives["salt_rejection"]],
        )
        for o in observations
    ]
    theirs = math.inf
    for attempt in range(repeat):
        study = optuna.create_study(
            directions=["maximize", "maximize"], sampler=_seeded_default_sampler(attempt)
        )
        study.add_trials(trials)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            started = time.perf_counter()
            for _ in range(BATCH):
                trial = study.ask()
                trial.suggest_float("pore_size_nm", 0.2, 2.0)
                trial.suggest_float("thickness_um", 0.05, 1.0, log=True)
                trial.suggest_int("temperature_c", 20, 80)
                trial.suggest_categorical("polymer", ("PA", "PES", "PSf", "PVDF"))
            theirs = min(theirs, time.perf_counter() - started)
    return ours, theirs


def cost_rows(result: BenchResult, sizes: Sequence[int], repeat: int) -> None:
    limits = {100: 2.0, 500: 5.0}
    for name in (HARTMANN6.name, ZDT1.name, MEMBRANE_NAME):
        for n in sizes:
            if name == MEMBRANE_NAME:
                ours, optuna_seconds = time_mixed(n, repeat)
            else:
                ours, optuna_seconds = time_iteration(
                    HARTMANN6 if name == HARTMANN6.name else ZDT1, n, repeat
                )
            limit = limits.get(n, 5.0)
            result.rows.append(
                Row(
                    f"one iteration (fit + batch of {BATCH}) at {n} evaluations, {name}",
                    f"< {limit:g} s",
                    f"{ours:.2f} s",
                    f"Optuna's default sampler, {BATCH} suggestions: {optuna_seconds:.2f} s",
                    f"{ours / optuna_seconds:.1f}x" if optuna_seconds > 0 else "",
                    meets_target=ours < limit,
                )
            )


def bench(quick: bool) -> BenchResult:
    result = BenchResult("Optimizer of `materia-tui run` (quality at equal budgets, cost per iteration)")
    sampler_name = default_optuna_sampler_name()
    if quick:
        compare(BRANIN_CURRIN, 2, (40,), result, sampler_name, verdict=False)
        compare(HARTMANN6, 2, (40,), result, sampler_name, verdict=False)
        check_determinism(BRANIN_CURRIN, result)
        cost_rows(result, (100,), repeat=1)
    else:
        for problem in (ZDT1, BRANIN_CURRIN, HARTMANN6):
            compare(problem, 5, (50, 100), result, sampler_name, verdict=True)
        check_determinism(BRANIN_CURRIN, result)
        cost_rows(result, (100, 500), repeat=2)
    result.notes.append(
        f"Budgets: ours {INITIAL} Latin-hypercube points then batches of {BATCH} (kriging believer); "
        f"{sampler_name} (`optuna.create_study()` with no sampler, seeded) one trial at a time; "
        "random search uniform. Reference points: ZDT1 (11, 11), Branin-Currin (18, 6), both minimized. "
        "Gap to optimum: the hypervolume still missing, or the regret f - f*; "
        "a ratio below 1 means ours is closer."
    )
    return result


if __name__ == "__main__":
    run_cli(bench)
