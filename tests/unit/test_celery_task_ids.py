"""The Celery executor's pure parts: task ids, messages, and how a stored task state reads."""

from __future__ import annotations

import pytest

pytest.importorskip("celery")

from materia_tui.backend.run.celery_app import (
    hard_time_limit,
    outcome_from_message,
    outcome_to_message,
    task_from_message,
    task_id_for,
    task_to_message,
)
from materia_tui.backend.run.celery_executor import (
    _is_cancelled,
    _lost_to_the_broker,
    _outcome,
    display_url,
    visibility_timeout_for,
)
from materia_tui.backend.run.evaluation import EvaluationOutcome, EvaluationTask, EvaluatorSpec

SPEC = EvaluatorSpec(command=("python3", "sim.py"), python=None, timeout=60.0, workdir="/srv/ro")
TASK = EvaluationTask("camp-1", "c-0007", 2, {"pore": 0.5, "polymer": "PA", "layers": 3, "wet": True}, SPEC)


def test_a_task_id_names_campaign_and_candidate_and_is_the_same_each_time() -> None:
    task_id = task_id_for(TASK, "2026-12-04T20:00:00Z")
    assert task_id.startswith("materia:camp-1:c-0007:")
    assert task_id == task_id_for(TASK, "2026-12-04T20:00:00Z")
    other = EvaluationTask("camp-1", "c-0007", 2, {**TASK.parameters, "pore": 0.6}, SPEC)
    assert task_id_for(other, "2026-12-04T20:00:00Z") != task_id  # different parameters: not the same task
    assert task_id_for(TASK, "2026-12-05T09:00:00Z") != task_id  # a fresh run of the same campaign id


def test_messages_round_trip() -> None:
    assert task_from_message(task_to_message(TASK)) == TASK
    shell = EvaluationTask("c", "x", 1, {"a": 1}, EvaluatorSpec("echo '{}'", None, 5.0, "/tmp"))
    assert task_from_message(task_to_message(shell)) == shell
    outcome = EvaluationOutcome("c-0007", {"flux": 41.5}, True, None, 1.25, "w1@host")
    assert outcome_from_message(outcome_to_message(outcome)) == outcome


def test_bounds() -> None:
    assert visibility_timeout_for(5) == 60
    assert visibility_timeout_for(600) == 1200
    assert hard_time_limit(60) == 66 and hard_time_limit(600) == 660
    assert visibility_timeout_for(600) > hard_time_limit(600)  # a live worker's task is never handed on


def test_stored_states_read_as_outcomes() -> None:
    done = {"status": "SUCCESS", "result": outcome_to_message(EvaluationOutcome("c-0007", {"y": 1.0}, True, None, 0.5))}
    assert _outcome(TASK, done) == EvaluationOutcome("c-0007", {"y": 1.0}, True, None, 0.5)
    limit = {"status": "FAILURE", "result": {"exc_type": "TimeLimitExceeded", "exc_message": ["66"]}}
    assert _outcome(TASK, limit) == EvaluationOutcome(
        "c-0007", {}, False, "timed out after 60 s (the worker's hard limit)", 0.0
    )
    broken = {"status": "FAILURE", "result": {"exc_type": "ValueError", "exc_message": ["bad <b>"]}}
    reason = _outcome(TASK, broken)
    assert reason is not None and reason.error == "the evaluation task failed: ValueError: bad <b>"
    lost = {"status": "FAILURE", "result": {"exc_type": "ConnectionError", "exc_message": ["refused"]}}
    assert _lost_to_the_broker(lost) and not _lost_to_the_broker(broken)
    cancelled = {"status": "SUCCESS", "result": outcome_to_message(EvaluationOutcome("c-0007", {}, False, "cancelled", 0))}
    assert _is_cancelled(cancelled) and not _is_cancelled(done)
    wrong = {"status": "SUCCESS", "result": {"candidate_id": "c-9999", "objectives": {}, "feasible": True}}
    assert _outcome(TASK, wrong) == EvaluationOutcome("c-0007", {}, False, "the worker returned no outcome", 0.0)


def test_the_broker_url_is_shown_without_its_password() -> None:
    assert display_url("redis://:s3cret@broker:6379/1") == "redis://:**@broker:6379/1"
