"""examples/: each config validates, and its evaluator (a real process) answers one candidate."""

from __future__ import annotations

from pathlib import Path

import pytest

from materia_tui.backend.run.config import load_config
from materia_tui.backend.run.evaluation import EvaluationTask, evaluate

EXAMPLES = Path(__file__).parents[2] / "examples"
BUNDLED = Path(__file__).parents[2] / "materia_tui" / "backend" / "demo" / "membrane.yaml"

CANDIDATES = {
    "membrane.yaml": {"pore_size_nm": 0.8, "active_layer_thickness_nm": 200.0, "surface_charge_mC_m2": -20.0,
                      "operating_pressure_bar": 15.0, "polymer": "PA"},
    "shell-command/campaign.yaml": {"temperature_c": 760.0, "hours": 4.0, "atmosphere": "oxygen"},
    "python-function/campaign.yaml": {"chromium_pct": 12.0, "carbon_pct": 0.4, "quench_steps": 3,
                                      "quench_medium": "oil"},
}


def test_the_membrane_example_is_the_demos_bundled_config() -> None:
    assert (EXAMPLES / "membrane.yaml").read_text() == BUNDLED.read_text()


@pytest.mark.parametrize("name", sorted(CANDIDATES))
def test_each_example_validates_and_its_evaluator_measures_a_candidate(name: str) -> None:
    loaded = load_config(EXAMPLES / name)
    candidate = CANDIDATES[name]
    assert set(candidate) == set(loaded.config.parameters)
    outcome = evaluate(EvaluationTask("example", "c-0002", 1, candidate, loaded.evaluator_spec()))
    assert outcome.error is None, outcome.error
    assert set(outcome.objectives) >= set(loaded.config.objectives)


def test_the_examples_evaluators_fail_where_they_say() -> None:
    shell = load_config(EXAMPLES / "shell-command/campaign.yaml")
    hot_argon = {"temperature_c": 880.0, "hours": 2.0, "atmosphere": "argon"}
    outcome = evaluate(EvaluationTask("example", "c-0001", 1, hot_argon, shell.evaluator_spec()))
    assert outcome.error == "exited with status 1: furnace interlock: argon above 850 C"
    alloy = load_config(EXAMPLES / "python-function/campaign.yaml")
    cracked = {"chromium_pct": 5.0, "carbon_pct": 1.0, "quench_steps": 2, "quench_medium": "water"}
    outcome = evaluate(EvaluationTask("example", "c-0001", 1, cracked, alloy.evaluator_spec()))
    assert outcome.error == "RuntimeError: quench cracks: high-carbon steel in water"
