"""The Optuna study -> campaign mapping, on Optuna's own trial objects (no storage, no I/O).

Studies here run in memory (``optuna.create_study()``); best values and the
Pareto front of the state the events fold into are compared with Optuna's
``best_trial`` / ``best_trials`` on the same study.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import Any

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState, create_trial

from materia_tui.protocol import Event, Rejected, dump_event, parse
from materia_tui.source import EventReceived, MetadataReceived, SourceItem
from materia_tui.source.optuna_mapping import StudyMapper
from materia_tui.source.optuna_study import (
    MAX_FLOAT,
    StudyInfo,
    campaign_id_for,
    constraints_of,
    is_feasible,
    most_at_once,
    study_info,
)
from materia_tui.state import CampaignState
from materia_tui.state.intake import apply_item

optuna.logging.set_verbosity(optuna.logging.WARNING)
T0 = datetime(2026, 3, 1, 12, 0, 0)
X = FloatDistribution(-10, 10)
NOW = T0.timestamp() + 100_000


def trial(
    number: int,
    state: TrialState = TrialState.COMPLETE,
    value: float | list[float] | None = 1.0,
    *,
    start: float | None = None,
    end: float | None = None,
    params: dict[str, Any] | None = None,
    system_attrs: dict[str, Any] | None = None,
    intermediate: dict[int, float] | None = None,
) -> FrozenTrial:
    """A FrozenTrial numbered ``number``: starts at T0 + number s, lasts 0.5 s unless told."""
    started = T0 + timedelta(seconds=number if start is None else start)
    finished = started + timedelta(seconds=0.5) if end is None else T0 + timedelta(seconds=end)
    values = value if isinstance(value, list) else None
    params = params if params is not None else {"x": float(number)}
    made = create_trial(
        state=state,
        value=None if values is not None or state not in (TrialState.COMPLETE, TrialState.PRUNED) else value,
        values=values,
        params=params,
        distributions={
            name: CategoricalDistribution([v]) if isinstance(v, str) else X for name, v in params.items()
        },
        system_attrs=system_attrs or {},
        intermediate_values=intermediate or {},
    )
    made.number = number
    made.datetime_start = started
    made.datetime_complete = finished if state.is_finished() else None
    return made


def fold(mapper: StudyMapper, *batches: list[FrozenTrial]) -> tuple[CampaignState, list[Event]]:
    state = CampaignState(mapper.campaign_id)
    events: list[Event] = []
    for batch in batches:
        for item in mapper.take(batch, NOW):
            apply_item(state, item)
            if isinstance(item, EventReceived):
                events.append(item.event)
    return state, events


def single(batch: int | None = None, n_trials: int | None = None, direction: str = "minimize") -> StudyMapper:
    return StudyMapper("s", StudyInfo("s", (direction,)), batch=batch, n_trials=n_trials)  # type: ignore[arg-type]


def kinds(events: list[Event]) -> list[str]:
    return [event.type for event in events]


def test_each_finished_trial_is_one_iteration_by_default_with_seqs_counting_up() -> None:
    state, events = fold(single(), [trial(n, value=10.0 - n) for n in range(3)])
    assert kinds(events) == [
        "iteration_started", "candidates_proposed", "candidates_evaluated", "iteration_completed",
    ] * 3
    assert [e.seq for e in events] == list(range(1, 13))
    assert state.completed_iterations == 3 and state.evaluations == 3
    assert state.best["value"].value == 8.0 and state.best["value"].candidate_id == "trial-2"
    assert state.pareto_mismatches == []


def test_every_event_survives_the_wire_format() -> None:
    mapper = single(batch=2, n_trials=3)
    _, events = fold(
        mapper,
        [trial(0, params={"x": 1.5, "c": "PVDF"}), trial(1, TrialState.PRUNED, 3.0, intermediate={4: 3.0}),
         trial(2, TrialState.FAIL, None)],
    )
    for event in events:
        parsed = parse(json.dumps(dump_event(event), allow_nan=False))
        assert not isinstance(parsed, Rejected), parsed
        assert parsed == event


def test_times_are_the_studys_own() -> None:
    mapper = single()
    items = mapper.take([trial(0, start=0, end=30)], NOW)
    events = [item for item in items if isinstance(item, EventReceived)]
    started, proposed, evaluated, completed = events
    assert started.received_at == proposed.received_at == T0.timestamp()
    assert evaluated.received_at == completed.received_at == T0.timestamp() + 30
    assert datetime.fromisoformat(evaluated.event.timestamp or "").timestamp() == T0.timestamp() + 30


def test_running_trial_is_proposed_then_evaluated_in_the_same_iteration() -> None:
    mapper = single()
    running = trial(0, TrialState.RUNNING, None)
    state, first = fold(mapper, [running])
    assert kinds(first) == ["iteration_started", "candidates_proposed"]
    assert state.candidates["trial-0"].status == "proposed"
    assert mapper.take([running], NOW) == []  # unchanged: nothing new
    _, second = fold(mapper, [trial(0)])
    assert kinds(second) == ["candidates_evaluated", "iteration_completed"]  # no second proposal


def test_a_running_trial_whose_parameters_grow_is_proposed_again() -> None:
    mapper = single()
    fold(mapper, [trial(0, TrialState.RUNNING, None, params={})])
    _, events = fold(mapper, [trial(0, TrialState.RUNNING, None, params={"x": 2.0})])
    assert kinds(events) == ["candidates_proposed"]


def test_a_trial_that_finishes_in_a_later_iteration_moves_there() -> None:
    mapper = single(batch=1)
    early = trial(0, TrialState.RUNNING, None, start=0)
    state, _ = fold(mapper, [early, trial(1, TrialState.RUNNING, None, start=1)])
    for item in mapper.take([trial(1, start=1, end=2)], NOW):  # trial 1 closes iteration 1
        apply_item(state, item)
    for item in mapper.take([trial(0, start=0, end=5)], NOW):
        apply_item(state, item)
    assert state.candidates["trial-1"].iteration == 1
    assert state.candidates["trial-0"].iteration == 2


def test_batches_group_by_completion_and_n_trials_closes_the_last_partial_one() -> None:
    mapper = single(batch=3, n_trials=7)
    finished = [trial(n, end=100 - n) for n in range(7)]  # finish in reverse order of number
    state, events = fold(mapper, finished)
    assert state.status == "completed"
    assert state.completed_iterations == 3
    assert [len(e.results) for e in events if e.type == "candidates_evaluated"] == [3, 3, 1]
    first = next(e for e in events if e.type == "candidates_evaluated")
    assert [r.candidate_id for r in first.results] == ["trial-6", "trial-5", "trial-4"]
    done = events[-1]
    assert done.type == "campaign_completed"
    assert (done.total_iterations, done.total_evaluations) == (3, 7)
    assert mapper.campaign().max_iterations == 3
    assert mapper.take([trial(8)], NOW) == []  # after completion the source is done


def test_the_default_batch_is_the_most_trials_that_ran_at_once() -> None:
    parallel = single()
    fold(parallel, [trial(n, start=0.1 * n, end=10 + n) for n in range(4)])
    assert parallel.batch == 4
    sequential = single()
    fold(sequential, [trial(n, start=2 * n, end=2 * n + 1) for n in range(4)])
    assert sequential.batch == 1
    assert most_at_once([(0, 1), (1, 2)]) == 1  # back to back is not at once


def test_the_batch_counts_running_trials_seen_before_the_first_finishes() -> None:
    mapper = single()
    fold(mapper, [trial(n, TrialState.RUNNING, None, start=n) for n in range(3)])
    fold(mapper, [trial(0, start=0, end=5)])
    assert mapper.batch == 3
    assert "3 trials/iteration" in (mapper.campaign().name or "")


def test_pruned_and_failed_trials_are_failed_candidates_with_a_reason() -> None:
    mapper = single()
    state, _ = fold(
        mapper,
        [trial(0, TrialState.PRUNED, 0.1, intermediate={1: 0.5, 7: 0.1}), trial(1, TrialState.FAIL, None),
         trial(2, value=3.0)],
    )
    assert state.candidates["trial-0"].status == "failed"
    assert state.candidates["trial-0"].error == "pruned at step 7"
    assert (state.candidates["trial-1"].error or "").startswith("failed")
    assert state.best["value"].value == 3.0  # a pruned trial's last value is not a result
    assert state.evaluations == 3


def test_waiting_trials_are_not_shown_until_they_run() -> None:
    mapper = single()
    waiting = trial(0, TrialState.WAITING, None)
    waiting.datetime_start = None
    assert mapper.take([waiting], NOW) == [MetadataReceived(mapper.campaign())]


def test_a_finished_trial_read_again_adds_nothing() -> None:
    mapper = single()
    fold(mapper, [trial(0)])
    assert mapper.take([trial(0)], NOW) == []


def test_constraints_in_both_optuna_formats() -> None:
    assert constraints_of({"constraints": [0.0, -1.0]}) == [0.0, -1.0]
    assert sorted(constraints_of({"constraints:a": 2.0, "constraints:b": -1})) == [-1.0, 2.0]
    assert is_feasible({}) and is_feasible({"constraints": [0, -3]})
    assert not is_feasible({"constraints": [0, 0.5]})
    assert not is_feasible({"constraints:a": math.nan})


def test_infinite_values_keep_their_order() -> None:
    state, events = fold(single(direction="maximize"), [trial(0, value=5.0), trial(1, value=math.inf)])
    assert state.best["value"].value == MAX_FLOAT
    assert state.best["value"].candidate_id == "trial-1"
    for event in events:
        assert not isinstance(parse(json.dumps(dump_event(event), allow_nan=False)), Rejected)


def test_objectives_names_and_units_come_from_the_study() -> None:
    info = study_info(
        "s", ["MINIMIZE", "MAXIMIZE"], {"study:metric_names": ["cost", "yield"]},
        {"units": {"cost": "$", "yield": "%"}},
    )
    campaign = StudyMapper("s", info).campaign()
    assert [(o.name, o.direction, o.unit) for o in campaign.objectives] == [
        ("cost", "minimize", "$"), ("yield", "maximize", "%"),
    ]
    plain = study_info("s", ["MINIMIZE", "MINIMIZE"], {}, {"unit": "eV"})
    assert [(o.name, o.unit) for o in StudyMapper("s", plain).campaign().objectives] == [
        ("values_0", "eV"), ("values_1", None),
    ]
    assert StudyInfo("s", ("minimize",)).objective_names == ["value"]


def test_parameter_specs_from_distributions_widen_with_the_search_space() -> None:
    mapper = single()
    first = trial(0)
    first.distributions = {
        "x": FloatDistribution(0, 1),
        "lr": FloatDistribution(1e-5, 1e-1, log=True),
        "n": IntDistribution(1, 8),
        "k": IntDistribution(1, 64, log=True),
        "c": CategoricalDistribution(["a", None, 3]),
    }
    first.params = {"x": 0.5, "lr": 1e-3, "n": 2, "k": 4, "c": None}
    later = trial(1)
    later.distributions = {"x": FloatDistribution(-1, 0.5)}
    later.params = {"x": -0.5}
    state, _ = fold(mapper, [first, later])
    specs = {p.name: p for p in mapper.campaign().parameters}
    assert (specs["x"].type, specs["x"].low, specs["x"].high) == ("float", -1.0, 1.0)
    assert specs["lr"].type == "log" and specs["n"].type == "int" and specs["k"].type == "int-log"
    assert specs["c"].type == "categorical" and specs["c"].choices == ["a", "None", 3]
    assert state.candidates["trial-0"].parameters["c"] == "None"


def test_campaign_ids_for_any_study_name() -> None:
    assert campaign_id_for("study-7.a_b") == "study-7.a_b"
    odd = campaign_id_for("my study / run 1")
    assert odd.startswith("my-study-run-1-") and odd != campaign_id_for("my study / run 2")
    assert campaign_id_for("???").startswith("study-")


def constrain(trial: optuna.Trial, name: str, value: float) -> None:
    """A constraint value, as Optuna 5 (``set_constraint``) or Optuna 4 (what its samplers'
    ``constraints_func`` stores: the ``constraints`` system attribute) records it."""
    if hasattr(trial, "set_constraint"):
        trial.set_constraint(name, value)
    else:
        trial.storage.set_trial_system_attr(trial._trial_id, "constraints", [value])


def run_study(**create: Any) -> optuna.Study:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3), **create)
    return study


def follow(study: optuna.Study, batch: int | None = None) -> CampaignState:
    mapper = StudyMapper("s", study_info(study.study_name, study.directions, {}, {}), batch=batch)
    state = CampaignState("s")
    items: list[SourceItem] = mapper.take(study.get_trials(deepcopy=False), NOW)
    for item in items:
        apply_item(state, item)
    return state


@pytest.mark.parametrize("batch", [1, 4])
def test_best_value_equals_optunas_with_constraints(batch: int) -> None:
    study = run_study(direction="maximize")

    def objective(t: optuna.Trial) -> float:
        x = t.suggest_float("x", -5, 5)
        constrain(t, "x_small", x - 1.0)  # the unconstrained best (x = 5) is infeasible
        return x

    study.optimize(objective, n_trials=60)
    state = follow(study, batch)
    assert state.best["value"].value == study.best_value
    assert state.best["value"].candidate_id == f"trial-{study.best_trial.number}"


def test_front_equals_optunas_best_trials_with_constraints() -> None:
    study = run_study(directions=["minimize", "maximize"])

    def objective(t: optuna.Trial) -> tuple[float, float]:
        x, y = t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)
        constrain(t, "budget", x + y - 1.2)
        if x > 0.97:
            raise optuna.TrialPruned()
        return round(x, 1), round(x * y, 1)  # rounding makes ties: equal points all stay on the front

    study.optimize(objective, n_trials=150)
    state = follow(study)
    assert sorted(state.front_ids()) == sorted(f"trial-{t.number}" for t in study.best_trials)
    assert state.pareto_mismatches == []
