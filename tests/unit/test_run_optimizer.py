"""The optimizer of `materia-tui run`: design, determinism, directions, failures, and that it optimizes."""

from __future__ import annotations

import json
import math
import random
import statistics
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest

from materia_tui.backend.run.acquisition import hypervolume
from materia_tui.backend.run.optimizer import Observation, Optimizer, Proposal
from materia_tui.backend.run.space import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    ObjectiveSpec,
    SearchSpace,
)

UNIT_SQUARE = SearchSpace((ContinuousParameter("x", 0.0, 1.0), ContinuousParameter("y", 0.0, 1.0)))
Evaluate = Callable[[Mapping[str, Any]], Observation]


def branin(p: Mapping[str, Any]) -> float:
    u, v = 15 * p["x"] - 5, 15 * p["y"]
    return float(
        (v - 5.1 / (4 * math.pi**2) * u * u + 5 / math.pi * u - 6) ** 2
        + 10 * (1 - 1 / (8 * math.pi)) * math.cos(u)
        + 10
    )


def currin(p: Mapping[str, Any]) -> float:
    x, y = p["x"], p["y"]
    factor = 1 - math.exp(-1 / (2 * y)) if y > 0 else 1.0
    return float(
        factor * (2300 * x**3 + 1900 * x**2 + 2092 * x + 60) / (100 * x**3 + 500 * x**2 + 4 * x + 20)
    )


def single(f: Callable[[Mapping[str, Any]], float], name: str = "f") -> Evaluate:
    return lambda p: Observation(dict(p), {name: f(p)}, feasible=True, failed=False)


def campaign(optimizer: Optimizer, evaluate: Evaluate, *, budget: int, batch: int = 5) -> list[Observation]:
    """Run the fit/propose loop the runner runs, until ``budget`` evaluations."""
    observations: list[Observation] = []
    iteration = 0
    while len(observations) < budget:
        iteration += 1
        model = optimizer.fit(observations, iteration)
        proposals = optimizer.propose(model, observations, min(batch, budget - len(observations)), iteration)
        assert proposals
        observations += [evaluate(p.parameters) for p in proposals]
    return observations


def optimizer(
    space: SearchSpace = UNIT_SQUARE, *directions: str, seed: int = 0, initial: int = 6
) -> Optimizer:
    names = ["f", "g", "h"]
    specs = [ObjectiveSpec(names[i], d) for i, d in enumerate(directions or ("minimize",))]  # type: ignore[arg-type]
    return Optimizer(space, specs, seed=seed, initial_samples=initial)


# ----- the initial design ------------------------------------------------------------------------


def test_no_model_until_the_initial_design_is_measured_and_the_design_never_repeats() -> None:
    opt = optimizer(initial=10)
    observations: list[Observation] = []
    seen: list[tuple[float, float]] = []
    for iteration in (1, 2):
        assert opt.fit(observations, iteration) is None
        proposals = opt.propose(None, observations, 5, iteration)
        assert len(proposals) == 5
        assert all(
            p.predicted == {} and p.uncertainty == {} and p.acquisition_value is None for p in proposals
        )
        seen += [(float(p.parameters["x"]), float(p.parameters["y"])) for p in proposals]
        observations += [single(branin)(p.parameters) for p in proposals]
    assert len(set(seen)) == 10
    # The ten points are the seed's Latin hypercube: one in each tenth of each range.
    assert {int(x * 10) for x, _ in seen} == {int(y * 10) for _, y in seen} == set(range(10))
    assert opt.fit(observations, 3) is not None


def test_design_proposals_skip_points_already_evaluated() -> None:
    opt = optimizer(initial=10)
    first = opt.propose(None, [], 5, 1)
    # Two of them were evaluated (say, by hand), in another order: the next batch is the rest of the design.
    done = [single(branin)(p.parameters) for p in (first[3], first[1])]
    again = opt.propose(None, done, 5, 2)
    assert [p.parameters for p in again[:3]] == [first[i].parameters for i in (0, 2, 4)]
    assert all(p.parameters not in [o.parameters for o in done] for p in again)


def test_a_small_discrete_space_is_exhausted_without_repeats() -> None:
    space = SearchSpace((IntegerParameter("n", 1, 3), CategoricalParameter("c", ("a", "b"))))
    opt = optimizer(space, "maximize", initial=2)
    observations = campaign_until_empty(
        opt, lambda p: Observation(dict(p), {"f": p["n"] + (p["c"] == "b")}, True, False)
    )
    assert sorted((o.parameters["n"], o.parameters["c"]) for o in observations) == [
        (n, c) for n in (1, 2, 3) for c in ("a", "b")
    ]


def campaign_until_empty(opt: Optimizer, evaluate: Evaluate) -> list[Observation]:
    observations: list[Observation] = []
    for iteration in range(1, 20):
        proposals = opt.propose(opt.fit(observations, iteration), observations, 4, iteration)
        if not proposals:
            return observations
        observations += [evaluate(p.parameters) for p in proposals]
    raise AssertionError("the optimizer kept proposing in a space it had exhausted")


# ----- determinism -------------------------------------------------------------------------------


def _proposals(opt: Optimizer, observations: list[Observation], iteration: int) -> list[Proposal]:
    return opt.propose(opt.fit(observations, iteration), observations, 4, iteration)


def test_same_seed_and_observations_give_the_same_proposals_in_any_order() -> None:
    observations = campaign(optimizer(seed=1), single(branin), budget=14)
    first = _proposals(optimizer(seed=1), observations, 4)
    shuffled = observations[:]
    random.Random(5).shuffle(shuffled)
    # A fresh optimizer (a resumed campaign) with the observations in another order.
    assert _proposals(optimizer(seed=1), shuffled, 4) == first
    assert _proposals(optimizer(seed=2), observations, 4) != first
    assert _proposals(optimizer(seed=1), observations, 5) != first


def test_a_whole_campaign_is_reproducible() -> None:
    a = campaign(optimizer(seed=3), single(branin), budget=16)
    b = campaign(optimizer(seed=3), single(branin), budget=16)
    assert [o.parameters for o in a] == [o.parameters for o in b]


# ----- proposals ---------------------------------------------------------------------------------


def test_proposals_carry_predictions_in_the_objectives_units() -> None:
    opt = optimizer(UNIT_SQUARE, "minimize", "maximize")
    observations = campaign(
        opt, lambda p: Observation(dict(p), {"f": branin(p), "g": -currin(p)}, True, False), budget=12
    )
    proposals = _proposals(opt, observations, 4)
    assert len(proposals) == 4
    assert len({(p.parameters["x"], p.parameters["y"]) for p in proposals}) == 4
    for p in proposals:
        assert set(p.predicted) == set(p.uncertainty) == {"f", "g"}
        assert all(u > 0 for u in p.uncertainty.values())
        assert p.acquisition_value is not None and p.acquisition_value >= 0
        assert -20 < p.predicted["f"] < 400 and -15 < p.predicted["g"] < 1  # branin, -currin ranges
        json.dumps([p.parameters, p.predicted, p.uncertainty, p.acquisition_value])
    metrics = opt.fit(observations, 4).metrics  # type: ignore[union-attr]
    assert 0 <= metrics.train_loss <= metrics.val_loss < 2


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_direction_decides_which_end_is_sought(direction: str) -> None:
    # (x - 0.3)^2: its minimum is at x = 0.3, its maximum at x = 1.
    space = SearchSpace((ContinuousParameter("x", 0.0, 1.0),))
    opt = optimizer(space, direction, seed=4, initial=4)
    observations = campaign(opt, single(lambda p: (p["x"] - 0.3) ** 2), budget=16, batch=3)
    last = [o.parameters["x"] for o in observations[-6:]]
    target = 0.3 if direction == "minimize" else 1.0
    assert statistics.median(abs(x - target) for x in last) < 0.05


# ----- it optimizes ------------------------------------------------------------------------------


def _random_search(evaluate: Evaluate, budget: int, seed: int) -> list[Observation]:
    rng = np.random.default_rng(seed + 1000)
    return [evaluate({"x": float(x), "y": float(y)}) for x, y in rng.random((budget, 2))]


def test_beats_random_search_on_branin() -> None:
    # Branin's minimum is 0.397887; 25 evaluations: 6 design points, then batches of 5.
    seeds = range(5)
    ours = [
        min(o.objectives["f"] for o in campaign(optimizer(seed=s), single(branin), budget=26)) for s in seeds
    ]
    rand = [min(o.objectives["f"] for o in _random_search(single(branin), 26, s)) for s in seeds]
    regret_ours = statistics.median(ours) - 0.397887
    regret_random = statistics.median(rand) - 0.397887
    assert regret_ours < 0.05
    assert regret_ours < 0.2 * regret_random


def test_beats_random_search_on_branin_currin_hypervolume() -> None:
    def evaluate(p: Mapping[str, Any]) -> Observation:
        return Observation(dict(p), {"f": branin(p), "g": currin(p)}, True, False)

    def area(observations: list[Observation]) -> float:
        points = np.array([[-o.objectives["f"], -o.objectives["g"]] for o in observations])
        return hypervolume(points, np.array([-18.0, -6.0]))  # BoTorch's reference; at most 59.36

    seeds = range(5)
    ours = [
        area(campaign(optimizer(UNIT_SQUARE, "minimize", "minimize", seed=s), evaluate, budget=26))
        for s in seeds
    ]
    rand = [area(_random_search(evaluate, 26, s)) for s in seeds]
    assert statistics.median(ours) > 40.0  # random search: about 10
    assert 59.36 - statistics.median(ours) < 0.5 * (59.36 - statistics.median(rand))


def test_mixed_space_with_categorical_integer_and_log_parameters() -> None:
    space = SearchSpace(
        (
            ContinuousParameter("pore_size_nm", 0.2, 2.0),
            ContinuousParameter("thickness_um", 0.05, 1.0, log=True),
            IntegerParameter("temperature_c", 20, 80),
            CategoricalParameter("polymer", ("PA", "PES", "PSf", "PVDF")),
        )
    )
    bonus = {"PA": 0.0, "PES": 0.3, "PSf": -0.2, "PVDF": 0.1}

    def score(p: Mapping[str, Any]) -> float:
        return float(
            -((p["pore_size_nm"] - 1.3) ** 2)
            - (math.log10(p["thickness_um"]) + 1) ** 2  # best at 0.1 um: a log scale matters
            - ((p["temperature_c"] - 57) / 30) ** 2
            + bonus[p["polymer"]]
        )

    opt = Optimizer(space, [ObjectiveSpec("score", "maximize")], seed=2, initial_samples=10)
    observations = campaign(opt, single(score, "score"), budget=35)
    best = max(observations, key=lambda o: o.objectives["score"])
    assert best.parameters["polymer"] == "PES"
    assert abs(best.parameters["temperature_c"] - 57) <= 3
    assert 0.08 < best.parameters["thickness_um"] < 0.125
    assert best.objectives["score"] > 0.28
    for o in observations:
        assert type(o.parameters["temperature_c"]) is int and 20 <= o.parameters["temperature_c"] <= 80
        assert 0.05 <= o.parameters["thickness_um"] <= 1.0
    json.dumps([o.parameters for o in observations])


# ----- failures and constraints ------------------------------------------------------------------


def _fails_right_of_half(p: Mapping[str, Any]) -> Observation:
    # The objective grows to the right, into the region where every evaluation fails.
    if p["x"] > 0.5:
        return Observation(dict(p), {}, feasible=False, failed=True)
    return Observation(dict(p), {"f": p["x"] + 0.5 * p["y"]}, feasible=True, failed=False)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_it_stops_proposing_where_evaluations_fail(seed: int) -> None:
    opt = optimizer(UNIT_SQUARE, "maximize", seed=seed, initial=8)
    observations = campaign(opt, _fails_right_of_half, budget=48, batch=4)
    later = observations[-20:]
    assert sum(o.failed for o in later) <= 4
    # ...and still climbs towards the best it can reach, next to the edge.
    best = max((o for o in observations if not o.failed), key=lambda o: o.objectives["f"])
    assert best.objectives["f"] > 0.85


def test_infeasible_outcomes_keep_the_search_at_the_constraint() -> None:
    # Unconstrained, the best is at x = 0.8; feasible only for x < 0.6: the answer is on the edge.
    def evaluate(p: Mapping[str, Any]) -> Observation:
        value = -((p["x"] - 0.8) ** 2) - (p["y"] - 0.5) ** 2
        return Observation(dict(p), {"f": value}, feasible=p["x"] < 0.6, failed=False)

    opt = optimizer(UNIT_SQUARE, "maximize", seed=1, initial=8)
    observations = campaign(opt, evaluate, budget=40, batch=4)
    later = [o.parameters["x"] for o in observations[-16:]]
    assert statistics.median(abs(x - 0.6) for x in later) < 0.03
    best = max((o for o in observations if o.feasible), key=lambda o: o.objectives["f"])
    assert 0.55 < best.parameters["x"] < 0.6


def test_only_failures_keep_the_design_going() -> None:
    opt = optimizer(initial=4)
    failing = [Observation(p.parameters, {}, False, True) for p in opt.propose(None, [], 4, 1)]
    assert opt.fit(failing, 2) is None
    proposals = opt.propose(None, failing, 4, 2)
    assert len(proposals) == 4
    assert not {tuple(p.parameters.values()) for p in proposals} & {
        tuple(o.parameters.values()) for o in failing
    }


def test_a_measurement_without_every_objective_counts_as_failed() -> None:
    opt = optimizer(UNIT_SQUARE, "minimize", "minimize", initial=4)
    design = opt.propose(None, [], 6, 1)
    observations = [
        Observation(p.parameters, {"f": branin(p.parameters)} if i % 2 else {"f": 1.0, "g": 2.0}, True, False)
        for i, p in enumerate(design)
    ]
    model = opt.fit(observations, 2)
    assert model is not None and model.training_points == 3
    assert len(opt.propose(model, observations, 3, 2)) == 3


def test_three_objectives() -> None:
    space = SearchSpace(tuple(ContinuousParameter(f"x{i}", 0.0, 1.0) for i in range(3)))

    def evaluate(p: Mapping[str, Any]) -> Observation:
        x = np.array([p["x0"], p["x1"], p["x2"]])
        values = {
            name: float(np.sum((x - centre) ** 2)) for name, centre in zip("fgh", np.eye(3), strict=True)
        }
        return Observation(dict(p), values, True, False)

    opt = optimizer(space, "minimize", "minimize", "minimize", initial=8)
    observations = campaign(opt, evaluate, budget=24, batch=4)
    assert len(observations) == 24
