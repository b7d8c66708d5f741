"""The protocol's discriminated union is built on first need (start-up): valid events of
every type parse without it, and ``parse_object`` answers exactly as the union alone
did, for valid and invalid objects alike."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from typing import Any

import pytest
from pydantic import ValidationError

from materia_tui.protocol import (
    EVENT_TYPES,
    Event,
    Rejected,
    _event_union,
    _rejection_from_value,
    parse_object,
)
from tests.support import campaign_events

VALID: list[dict[str, Any]] = [
    *campaign_events(iterations=2),
    {"type": "campaign_error", "error": "boom", "iteration": 2, "fatal": False},
    {"type": "convergence_update", "metric": 0.1, "converged": True, "seq": 3},
]
INVALID: list[Any] = [
    {"type": "iteration_started", "iteration": "one", "timestamp": "t"},
    {"type": "iteration_started", "iteration": 0, "timestamp": "t", "seq": 4},
    {"type": "candidates_proposed", "iteration": 1, "candidates": [{"id": 3}]},
    {
        "type": "candidates_evaluated",
        "iteration": 1,
        "results": [{"candidate_id": "c", "objectives": {"y": "1"}}],
    },
    {"type": "iteration_completed", "iteration": 1, "best_value": True, "pareto_size": 1},
    {"type": "no_such_event", "seq": 9},
    {"type": 7},
    {"iteration": 1},
    [1, 2],
    "text",
    None,
]


def union_alone(obj: Any) -> Event | Rejected:
    """parse_object as it was: the union validates everything."""
    try:
        event: Event = _event_union().validator.validate_python(obj)
        return event
    except ValidationError as exc:
        return _rejection_from_value(obj, exc)


@pytest.mark.parametrize("obj", VALID + INVALID)
def test_parse_object_answers_as_the_union_did(obj: Any) -> None:
    assert parse_object(copy.deepcopy(obj)) == union_alone(copy.deepcopy(obj))


def test_valid_events_of_every_type_need_no_union() -> None:
    code = (
        "import json, sys\n"
        "from materia_tui.protocol import _event_union, parse, parse_object\n"
        "for obj in json.loads(sys.argv[1]):\n"
        "    assert type(parse_object(obj)).__name__ != 'Rejected'\n"
        "    assert type(parse(json.dumps(obj))).__name__ != 'Rejected'\n"
        "print(_event_union.cache_info().currsize)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(VALID)], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "0"
    assert {obj["type"] for obj in VALID} == set(EVENT_TYPES)
