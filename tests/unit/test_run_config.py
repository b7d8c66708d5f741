"""The campaign config: the issue's example works as written; every kind of mistake is one
sentence naming the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from materia_tui.backend.run.config import ConfigError, load_config, parse_config
from materia_tui.backend.run.evaluation import EvaluationOutcome
from materia_tui.backend.run.ledger import Ledger
from materia_tui.cli.init import EXAMPLE_CONFIG

ISSUE_EXAMPLE = """\
name: RO membrane screen
iterations: 20
batch_size: 5
seed: 0
initial_samples: 10            # space-filling design before the surrogate takes over
parameters:
  pore_size_nm:   {type: continuous, low: 0.2, high: 2.0}
  thickness_um:   {type: continuous, low: 0.05, high: 1.0, log: true}
  temperature_c:  {type: integer, low: 20, high: 80}
  polymer:        {type: categorical, choices: [PA, PES, PSf, PVDF]}
objectives:
  water_flux:     {direction: maximize, unit: L/m2/h}
  salt_rejection: {direction: maximize, unit: "%"}
constraints:                   # a measurement outside a bound makes the candidate infeasible
  salt_rejection: {min: 90}
evaluator:
  command: [python3, simulate.py]   # or  python: "mymodule:evaluate"
  timeout: 60                       # seconds per evaluation
stop:
  convergence: 0.01            # optional early stop on the convergence metric
"""


def error_for(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "campaign.yaml")
    assert caught.value.exit_code == 2
    message = caught.value.message
    assert "\n" not in message and "Traceback" not in message
    return message


def test_the_issue_example_works_as_written(tmp_path: Path) -> None:
    path = tmp_path / "campaign.yaml"
    path.write_text(ISSUE_EXAMPLE)
    loaded = load_config(path)
    config = loaded.config
    assert (config.iterations, config.batch_size, config.seed, config.initial_design_size()) == (20, 5, 0, 10)
    assert list(config.parameters) == ["pore_size_nm", "thickness_um", "temperature_c", "polymer"]
    assert config.parameters["thickness_um"].log is True  # type: ignore[union-attr]
    assert config.parameters["polymer"].choices == ["PA", "PES", "PSf", "PVDF"]  # type: ignore[union-attr]
    assert config.objectives["salt_rejection"].unit == "%"
    assert config.stop.convergence == 0.01
    spec = loaded.evaluator_spec()
    assert spec.command == ("python3", "simulate.py") and spec.timeout == 60 and spec.workdir == str(tmp_path)
    assert loaded.default_campaign_id() == "RO-membrane-screen"


def test_init_writes_a_config_that_validates() -> None:
    assert parse_config(EXAMPLE_CONFIG).iterations == 20


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # the issue's own example sentence
        ("low: 0.2, high: 2.0", "low: 2.0, high: 0.2",
         "campaign.yaml:7: parameters.pore_size_nm: low (2.0) must be below high (0.2)"),
        ("batch_size: 5", "batch_sise: 5", "campaign.yaml:3: batch_sise: unknown key (did you mean batch_size?)"),
        ("timeout: 60 ", "timout: 60 ", "campaign.yaml:18: evaluator.timout: unknown key (did you mean timeout?)"),
        ("{type: integer, low: 20, high: 80}", "{type: integer, low: 20, high: 80, step: 2}",
         "campaign.yaml:9: parameters.temperature_c.step: unknown key"),
        ("type: integer", "type: int",
         "campaign.yaml:9: parameters.temperature_c: type must be one of continuous, integer, categorical"),
        ("low: 20, high: 80", "low: 20.5, high: 80", "campaign.yaml:9: parameters.temperature_c.low: input should be a valid integer"),
        ("low: 0.05, high: 1.0, log: true", "low: 0, high: 1.0, log: true",
         "campaign.yaml:8: parameters.thickness_um: a log-scaled range must be positive, low is 0.0"),
        ("choices: [PA, PES, PSf, PVDF]", "choices: []", "campaign.yaml:10: parameters.polymer.choices: list should have at least 1 item"),
        ("choices: [PA, PES, PSf, PVDF]", "choices: [PA, PES, PA]", "campaign.yaml:10: parameters.polymer.choices: choice 'PA' is listed twice"),
        ("direction: maximize, unit: L", "direction: up, unit: L",
         "campaign.yaml:12: objectives.water_flux.direction: input should be 'maximize' or 'minimize'"),
        ("iterations: 20", "iterations: 0", "campaign.yaml:2: iterations: input should be greater than or equal to 1"),
        ("iterations: 20", "iterations: lots", "campaign.yaml:2: iterations: input should be a valid integer"),
        ("salt_rejection: {min: 90}", "salt: {min: 90}",
         "campaign.yaml:15: constraints.salt: not an objective (constraints bound objectives)"),
        ("salt_rejection: {min: 90}", "salt_rejection: {}", "campaign.yaml:15: constraints.salt_rejection: give min, max or both"),
        ("salt_rejection: {min: 90}", "salt_rejection: {min: 90, max: 80}",
         "campaign.yaml:15: constraints.salt_rejection: min (90) must not be above max (80)"),
        ("command: [python3, simulate.py]", "command: []", "campaign.yaml:17: evaluator.command: the command is empty"),
        ("  command: [python3, simulate.py]", '  command: [python3, simulate.py]\n  python: "m:f"',
         "campaign.yaml:16: evaluator: give exactly one of command or python"),
        ("command: [python3, simulate.py]", 'python: "simulate.py"',
         'campaign.yaml:17: evaluator.python: "simulate.py" is not of the form "module:function"'),
        ("timeout: 60 ", "timeout: 0 ", "campaign.yaml:18: evaluator.timeout: input should be greater than 0"),
        ("convergence: 0.01", "convergence: -1", "campaign.yaml:20: stop.convergence: input should be greater than 0"),
        ("iterations: 20\n", "", "campaign.yaml:1: iterations: is required"),
        ("seed: 0", "seed: 0\nseed: 1", "campaign.yaml:5: seed: the key is given twice"),
        ("  water_flux:     {direction: maximize, unit: L/m2/h}\n  salt_rejection: {direction: maximize, unit: \"%\"}\n",
         "", "campaign.yaml:11: objectives: is empty"),
        ("  water_flux:     {direction: maximize, unit: L/m2/h}\n", "  water_flux:     {direction: maximize, unit: L/m2/h}\n  salt_rejection: {direction: maximize, unit: \"%\"}\n",
         "campaign.yaml:14: objectives.salt_rejection: the key is given twice"),
    ],
)
def test_each_kind_of_mistake_is_one_sentence_with_file_line_and_key(old: str, new: str, expected: str) -> None:
    assert old in ISSUE_EXAMPLE
    message = error_for(ISSUE_EXAMPLE.replace(old, new, 1))
    assert message.startswith(expected), message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: [unclosed\n", "campaign.yaml:2: not valid YAML"),
        ("- a list\n- not a mapping\n", "campaign.yaml: the config must be a mapping"),
        ("", "campaign.yaml: the config must be a mapping"),
        ("a: 1\n\tb: 2\n", "campaign.yaml:2: not valid YAML"),
    ],
)
def test_yaml_that_is_not_a_config(text: str, expected: str) -> None:
    assert error_for(text).startswith(expected)


def test_unreadable_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Cannot read the config"):
        load_config(tmp_path / "missing.yaml")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ConfigError, match=r"binary\.yaml: the config is not UTF-8 text"):
        load_config(binary)


def test_constraints_and_missing_objectives_decide_a_result(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(ISSUE_EXAMPLE)
    ledger = Ledger(load_config(path))

    def judged(objectives: dict[str, float], feasible: bool = True) -> tuple[bool, str | None]:
        result = ledger.to_result(EvaluationOutcome("c-1", objectives, feasible, None, 0.1))
        return result.feasible, result.error

    assert judged({"water_flux": 40, "salt_rejection": 95}) == (True, None)
    assert judged({"water_flux": 40, "salt_rejection": 85}) == (False, None)  # below min: infeasible
    assert judged({"water_flux": 40, "salt_rejection": 95}, feasible=False) == (False, None)
    feasible, error = judged({"water_flux": 40})
    assert not feasible and error is not None and "lacks salt_rejection" in error
