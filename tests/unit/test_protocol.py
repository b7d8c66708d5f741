from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from materia_tui.protocol import (
    MAX_FRAME_BYTES,
    CandidatesProposed,
    IterationCompleted,
    Rejected,
    dump_event,
    dump_event_json,
    is_valid_campaign_id,
    parse,
    parse_campaign,
    parse_object,
)
from tests.support.campaigns import campaign_events, campaign_meta


def test_every_event_type_of_a_campaign_parses_and_round_trips() -> None:
    events = campaign_events(1, iterations=3, fail_at=None)
    for raw in events:
        event = parse(json.dumps(raw))
        assert not isinstance(event, Rejected), event
        assert dump_event(event)["type"] == raw["type"]
        assert parse(json.dumps(dump_event(event))) == event
    assert {e["type"] for e in events} >= {
        "iteration_started",
        "surrogate_trained",
        "candidates_proposed",
        "candidates_evaluated",
        "iteration_completed",
        "convergence_update",
        "campaign_completed",
    }


def test_the_json_text_of_an_event_is_its_dumped_object_in_ascii() -> None:
    raws = campaign_events(1, iterations=2, fail_at=2)
    raws.append({"type": "campaign_error", "seq": 99, "error": "h\u00e9 \x1b[31m\u2028 \U0001f600"})
    raws.append({"type": "convergence_update", "seq": 100, "metric": 1e-05, "converged": False})
    for raw in raws:
        event = parse(json.dumps(raw))
        assert not isinstance(event, Rejected), event
        text = dump_event_json(event)
        assert text.isascii() and "\n" not in text
        assert json.loads(text) == dump_event(event)
        assert parse(text) == event


def test_documented_example_frame() -> None:
    event = parse(
        '{"type": "iteration_completed", "iteration": 3, "best_value": 42.3, "pareto_size": 7, "seq": 17}'
    )
    assert isinstance(event, IterationCompleted)
    assert (event.iteration, event.best_value, event.pareto_size, event.seq) == (3, 42.3, 7, 17)


@pytest.mark.parametrize(
    ("frame", "kind", "needle"),
    [
        ("not json", "malformed", "not valid JSON"),
        ("[1, 2]", "malformed", "not a JSON object"),
        ('{"iteration": 1}', "malformed", "no 'type'"),
        ('{"type": "mystery_event", "seq": 4}', "unknown_type", "mystery_event"),
        (
            '{"type": "iteration_completed", "iteration": 1, "best_value": NaN, "pareto_size": 1}',
            "malformed",
            "best_value",
        ),
        (
            '{"type": "iteration_completed", "iteration": 1, "best_value": Infinity, "pareto_size": 1}',
            "malformed",
            "best_value",
        ),
        (
            '{"type": "iteration_completed", "iteration": 1, "best_value": -Infinity, "pareto_size": 1}',
            "malformed",
            "best_value",
        ),
        (
            '{"type": "iteration_completed", "iteration": 1, "best_value": "42", "pareto_size": 1}',
            "malformed",
            "best_value",
        ),
        (
            '{"type": "iteration_completed", "iteration": true, "best_value": 4, "pareto_size": 1}',
            "malformed",
            "iteration",
        ),
        ('{"type": "iteration_started", "iteration": 1}', "malformed", "timestamp"),
        ('{"type": "iteration_started", "iteration": 0, "timestamp": "x"}', "malformed", "iteration"),
        (
            '{"type": "candidates_proposed", "iteration": 1, "candidates": [{"id": 3}]}',
            "malformed",
            "candidates",
        ),
        ('{"type": "convergence_update", "metric": 1, "converged": "yes"}', "malformed", "converged"),
        (
            '{"type": "iteration_completed", "iteration": 1, "best_value": 1, "pareto_size": 1, "seq": 0}',
            "malformed",
            "seq",
        ),
        ("[" * 100_000 + "]" * 100_000, "malformed", ""),
    ],
)
def test_bad_frames_are_rejected_with_a_reason(frame: str, kind: str, needle: str) -> None:
    result = parse(frame)
    assert isinstance(result, Rejected)
    assert result.kind == kind
    assert needle in result.reason


def test_rejection_keeps_the_seq_so_gaps_can_be_explained() -> None:
    result = parse('{"type": "iteration_completed", "seq": 9, "iteration": "x"}')
    assert isinstance(result, Rejected) and result.seq == 9


def test_oversized_frame_is_rejected_without_parsing() -> None:
    result = parse(b" " * (MAX_FRAME_BYTES + 1))
    assert isinstance(result, Rejected) and result.kind == "too_large"


def test_a_frame_just_under_the_limit_is_accepted() -> None:
    pad = "x" * (MAX_FRAME_BYTES - 200)
    frame = json.dumps({"type": "campaign_error", "error": pad, "iteration": 1})
    assert len(frame) <= MAX_FRAME_BYTES
    assert not isinstance(parse(frame), Rejected)


def test_unknown_fields_are_ignored_and_bytes_accepted() -> None:
    frame = b'{"type": "convergence_update", "metric": 0.5, "converged": false, "extra": {"a": [1]}}'
    assert not isinstance(parse(frame), Rejected)
    assert not isinstance(parse(memoryview(frame)), Rejected)


def test_duplicate_type_keys_follow_json_last_wins() -> None:
    result = parse(
        '{"type": "iteration_completed", "iteration": 1, "best_value": 1, "pareto_size": 0, "type": "bogus"}'
    )
    assert isinstance(result, Rejected) and result.kind == "unknown_type"


def test_parameter_values_keep_their_json_types() -> None:
    event = parse(
        json.dumps(
            {
                "type": "candidates_proposed",
                "iteration": 1,
                "candidates": [{"id": "c", "parameters": {"f": 0.5, "i": 3, "s": "PVDF", "b": True}}],
            }
        )
    )
    assert isinstance(event, CandidatesProposed)
    assert event.candidates[0].parameters == {"f": 0.5, "i": 3, "s": "PVDF", "b": True}
    assert type(event.candidates[0].parameters["b"]) is bool
    assert type(event.candidates[0].parameters["i"]) is int


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_parse_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    parse(data)


@settings(max_examples=300, deadline=None)
@given(
    json_values,
    st.sampled_from(
        [
            "iteration_started",
            "candidates_proposed",
            "candidates_evaluated",
            "iteration_completed",
            "campaign_error",
            "zzz",
        ]
    ),
)
def test_parse_never_raises_on_arbitrary_json(value: object, event_type: str) -> None:
    frame = {"type": event_type, "iteration": value, "candidates": value, "results": value, "error": value}
    text = json.dumps(frame)
    from_text = parse(text)
    # The text and the decoded object must get the same verdict, and an unknown
    # type must be told apart from a malformed known one.
    from_object = parse_object(json.loads(text))
    assert type(from_text) is type(from_object)
    if isinstance(from_text, Rejected) and isinstance(from_object, Rejected):
        assert (from_text.kind, from_text.event_type) == (from_object.kind, from_object.event_type)
    else:
        assert from_text == from_object
    if event_type == "zzz":
        assert isinstance(from_text, Rejected) and from_text.kind == "unknown_type"
    elif isinstance(from_text, Rejected):
        assert from_text.kind == "malformed" and from_text.event_type == event_type
    parse_object(value)


def test_campaign_id_rules() -> None:
    assert is_valid_campaign_id("camp-123")
    assert is_valid_campaign_id("a" * 128)
    for bad in ["", "-x", "a" * 129, "camp/1", "camp 1", "câmp", "../etc"]:
        assert not is_valid_campaign_id(bad), bad


def test_campaign_metadata_tolerates_bad_fields() -> None:
    meta = campaign_meta()
    assert parse_campaign(meta) is not None
    broken = dict(meta, max_iterations="lots", objectives="none")
    campaign = parse_campaign(broken)
    assert campaign is not None and campaign.max_iterations is None and campaign.objectives == []
    assert parse_campaign({"name": "no id"}) is None
    assert parse_campaign([1]) is None


@pytest.mark.parametrize("event_type", ["candidates_proposed", "candidates_evaluated", "iteration_completed"])
def test_an_iteration_past_32_bits_is_a_malformed_frame_not_an_overflow(event_type: str) -> None:
    bodies = {
        "candidates_proposed": {"candidates": []},
        "candidates_evaluated": {"results": []},
        "iteration_completed": {"best_value": 1.0, "pareto_size": 0},
    }
    for iteration, accepted in ((2**31 - 1, True), (2**31, False)):
        frame = json.dumps({"type": event_type, "iteration": iteration, **bodies[event_type]})
        assert isinstance(parse(frame), Rejected) is not accepted, iteration
