"""Parameter importance on synthetic campaigns whose truth is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from materia_tui.insight.importance import (
    MIN_ROWS,
    importance_by_objective,
    parameter_importance,
)

ROWS = 600


def synthetic(seed: int = 0, rows: int = ROWS) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    return {
        "x1": rng.uniform(-1, 1, rows),
        "x2": rng.uniform(-1, 1, rows),
        "noise_a": rng.uniform(-1, 1, rows),
        "noise_b": list(rng.uniform(0, 5, rows)),  # a plain list works too
        "polymer": [str(v) for v in rng.choice(["PA", "PVDF", "PES", "PAN"], rows)],
        "layers": [int(v) for v in rng.integers(1, 6, rows)],
    }


def check_scores(scores: dict[str, float]) -> None:
    assert all(v >= 0 for v in scores.values())
    assert math.isclose(sum(scores.values()), 1.0, rel_tol=1e-9)


def test_known_drivers_rank_first_and_irrelevant_parameters_score_near_zero() -> None:
    params = synthetic()
    x1, x2 = np.asarray(params["x1"]), np.asarray(params["x2"])
    y = 2.0 * x1 + np.sin(3 * x2) + 0.05 * np.random.default_rng(1).normal(size=ROWS)
    result = parameter_importance(params, y, seed=3)
    check_scores(result.scores)
    assert result.informative and result.r2 is not None and result.r2 > 0.8
    assert {name for name, _ in result.ranking()[:2]} == {"x1", "x2"}
    for name in ("noise_a", "noise_b", "polymer", "layers"):
        assert result.scores[name] < 0.03, (name, result.scores)
    assert result.rows == result.measured == ROWS
    assert result.kinds == {
        "x1": "continuous",
        "x2": "continuous",
        "noise_a": "continuous",
        "noise_b": "continuous",
        "polymer": "categorical",
        "layers": "integer",
    }


def test_a_categorical_driver_ranks_first() -> None:
    params = synthetic(seed=2)
    effect = {"PA": 3.0, "PVDF": 0.0, "PES": 1.0, "PAN": 2.0}  # not monotone in the codes' order
    y = np.array([effect[p] for p in params["polymer"]]) + 0.2 * np.asarray(params["x1"])  # type: ignore[attr-defined]
    result = parameter_importance(params, y, seed=0)
    check_scores(result.scores)
    ranking = result.ranking()
    assert ranking[0][0] == "polymer" and ranking[0][1] > 0.8
    assert ranking[1][0] == "x1"
    assert max(result.scores[n] for n in ("x2", "noise_a", "noise_b", "layers")) < 0.03


def test_a_pure_interaction_credits_both_of_its_parameters() -> None:
    params = synthetic(seed=4, rows=900)
    y = np.sign(np.asarray(params["x1"]) * np.asarray(params["x2"]))
    result = parameter_importance(params, y, seed=1)
    check_scores(result.scores)
    assert result.scores["x1"] > 0.3 and result.scores["x2"] > 0.3
    assert result.scores["x1"] + result.scores["x2"] > 0.9


def test_deterministic_for_a_seed() -> None:
    params = synthetic(seed=5)
    y = np.asarray(params["x1"]) ** 2 + 0.3 * np.random.default_rng(2).normal(size=ROWS)
    first = parameter_importance(params, y, seed=11)
    assert parameter_importance(params, y, seed=11) == first


def test_pure_noise_is_uninformative_and_uniform() -> None:
    params = synthetic(seed=6)
    y = np.random.default_rng(9).normal(size=ROWS)
    result = parameter_importance(params, y, seed=0)
    assert not result.informative and "explain none" in result.reason
    assert list(result.scores.values()) == [pytest.approx(1 / 6)] * 6
    check_scores(result.scores)


def test_too_few_measurements_or_a_constant_objective_are_uninformative() -> None:
    params = synthetic(seed=7, rows=40)
    y: list[float | None] = [None] * 40
    for row in range(MIN_ROWS - 1):
        y[row] = float(row)
    few = parameter_importance(params, y)
    assert not few.informative and few.rows == MIN_ROWS - 1 and few.r2 is None
    check_scores(few.scores)
    flat = parameter_importance(params, [2.0] * 40)
    assert not flat.informative and flat.reason == "the measured values do not vary"


def test_unmeasured_rows_are_left_out_and_the_sample_is_capped() -> None:
    params = synthetic(seed=8, rows=3000)
    x1 = np.asarray(params["x1"])
    y = 3 * x1 + 0.05 * np.random.default_rng(3).normal(size=3000)
    y[::3] = np.nan  # a third not measured
    result = parameter_importance(params, y, max_rows=500, seed=2)
    assert result.measured == 2000 and result.rows == 500
    assert result.ranking()[0][0] == "x1" and result.scores["x1"] > 0.9


def test_declared_kinds_override_detection_and_missing_values_are_tolerated() -> None:
    rng = np.random.default_rng(10)
    layers = [int(v) for v in rng.integers(0, 4, ROWS)]
    odd = {0: 1.0, 1: -2.0, 2: 3.0, 3: 0.0}
    y = np.array([odd[v] for v in layers]) + 0.05 * rng.normal(size=ROWS)
    pore: list[float | None] = list(rng.uniform(0, 1, ROWS))
    for row in range(0, ROWS, 7):
        pore[row] = None
    labels: list[str | None] = [str(v) for v in rng.choice(["a", "b"], ROWS)]
    labels[3] = None
    result = parameter_importance(
        {"layers": layers, "pore": pore, "label": labels}, y, kinds={"layers": "categorical"}, seed=0
    )
    assert result.kinds == {"layers": "categorical", "pore": "continuous", "label": "categorical"}
    assert result.ranking()[0][0] == "layers" and result.scores["layers"] > 0.9


def test_by_objective_and_bad_columns() -> None:
    params = synthetic(seed=12)
    x1, x2 = np.asarray(params["x1"]), np.asarray(params["x2"])
    results = importance_by_objective(params, {"flux": 4 * x1, "rejection": -3 * x2})
    assert results["flux"].ranking()[0][0] == "x1"
    assert results["rejection"].ranking()[0][0] == "x2"
    with pytest.raises(ValueError):
        parameter_importance({"x": [1.0, 2.0]}, [1.0, 2.0, 3.0])
    empty = parameter_importance({}, x1)
    assert empty.scores == {} and not empty.informative
    odd = parameter_importance(
        {"x1": x1, "nothing": [None] * ROWS, "one": ["A"] * ROWS},
        [float(v) if i % 5 else "oops" for i, v in enumerate(3 * x1)],  # text is not a measurement
    )
    assert odd.kinds == {"x1": "continuous", "nothing": "continuous", "one": "categorical"}
    assert odd.measured == ROWS - ROWS // 5 and odd.scores["x1"] > 0.99
