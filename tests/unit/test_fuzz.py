"""Fuzzing the frame parser, the reducer and the line formatter with hypothesis.

Whatever arrives (arbitrary bytes, arbitrary JSON shaped like events, valid
frames mutated), ``protocol.parse`` returns an event or a rejection, the
reducer applies any event without raising, the plain formatter prints only
inert text, and a valid frame among the garbage is still applied.
"""

from __future__ import annotations

import copy
import json
import math
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from materia_tui.output.plain import PlainFormatter
from materia_tui.protocol import EVENT_TYPES, Rejected, parse, parse_campaign, parse_object
from materia_tui.state import CampaignState
from tests.support.campaigns import campaign_events, campaign_meta

# ESC, BEL, other C0 (tab excepted), DEL, C1, bidi and invisible format characters.
UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# The two big generators draw whole streams: fewer examples keep the suite fast
# (tests/fuzz/ has the long-running atheris harness).
STREAMS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "\x1b[2J",
            "\x1b]0;pwned\x07",
            "\x1b]52;c;aGVsbG8=\x07",
            "\x1b]8;;https://x\x1b\\link\x1b]8;;\x1b\\",
            "\x9b31m",
            "\u202eevil",
            "[bold]x[/]",
            "[link=https://x]y[/link]",
            "\x07",
            "界" * 30,
        ]
    ),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    HOSTILE_TEXT,
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(HOSTILE_TEXT, children, max_size=4),
    max_leaves=20,
)
NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2**64), 2**64), JSON_VALUES)
NAMES = st.one_of(st.sampled_from(["water_flux", "salt_rejection", "cost"]), HOSTILE_TEXT)
CANDIDATE = st.fixed_dictionaries(
    {"id": st.one_of(st.sampled_from(["c-1", "c-2", "c-3"]), HOSTILE_TEXT, JSON_VALUES)},
    optional={
        "parameters": st.dictionaries(NAMES, SCALARS, max_size=3),
        "predicted": st.dictionaries(NAMES, NUMBERS, max_size=3),
        "uncertainty": st.dictionaries(NAMES, NUMBERS, max_size=3),
        "acquisition_value": NUMBERS,
    },
)
RESULT = st.fixed_dictionaries(
    {"candidate_id": st.one_of(st.sampled_from(["c-1", "c-2", "c-3"]), HOSTILE_TEXT)},
    optional={
        "objectives": st.dictionaries(NAMES, NUMBERS, max_size=3),
        "feasible": st.one_of(st.booleans(), JSON_VALUES),
        "error": st.one_of(st.none(), HOSTILE_TEXT),
    },
)
ITERATIONS = st.one_of(st.integers(min_value=-3, max_value=2**63), JSON_VALUES)
EVENT_LIKE = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(EVENT_TYPES), HOSTILE_TEXT)},
    optional={
        "seq": st.one_of(st.integers(min_value=-2, max_value=2**63), JSON_VALUES),
        "campaign_id": JSON_VALUES,
        "timestamp": st.one_of(
            st.sampled_from(["2026-01-01T00:00:00Z", "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00-23:59"]),
            HOSTILE_TEXT,
        ),
        "iteration": ITERATIONS,
        "metrics": st.one_of(st.fixed_dictionaries({"train_loss": NUMBERS, "val_loss": NUMBERS}), JSON_VALUES),
        "candidates": st.lists(CANDIDATE, max_size=4),
        "results": st.lists(RESULT, max_size=4),
        "best_value": NUMBERS,
        "pareto_size": ITERATIONS,
        "total_iterations": ITERATIONS,
        "total_evaluations": ITERATIONS,
        "error": st.one_of(HOSTILE_TEXT, JSON_VALUES),
        "fatal": st.one_of(st.booleans(), JSON_VALUES),
        "metric": NUMBERS,
        "converged": st.one_of(st.booleans(), JSON_VALUES),
    },
)
META = parse_campaign(campaign_meta("camp-fuzz", iterations=5, objectives=3))


def fresh_state() -> CampaignState:
    assert META is not None
    return CampaignState("camp-fuzz", META)


def dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=True)  # NaN/Infinity tokens, as Python publishers emit them


def assert_inert(lines: list[str]) -> None:
    for line in lines:
        assert not UNSAFE.search(line), ascii(line)


def fold(state: CampaignState, frame: str | bytes) -> bool:
    """Parse one frame and fold it in, as the client does; True if it was applied."""
    parsed = parse(frame)
    if isinstance(parsed, Rejected):
        state.apply_rejected(parsed, 0.0)
        assert_inert([PlainFormatter.rejected_notice(parsed)])
        return False
    applied = state.apply(parsed, 1.0) == "applied"
    assert_inert(PlainFormatter(state).event_lines(parsed))
    state.eta(2.0), state.elapsed(2.0), state.front_ids()  # queries never raise either
    return applied


@FUZZ
@given(st.binary(max_size=512))
def test_arbitrary_bytes_never_raise(frame: bytes) -> None:
    fold(fresh_state(), frame)


@FUZZ
@given(st.text(max_size=512))
def test_arbitrary_text_never_raises(frame: str) -> None:
    fold(fresh_state(), frame)


@STREAMS
@given(st.lists(EVENT_LIKE, min_size=1, max_size=12))
def test_event_shaped_json_never_breaks_parser_reducer_or_formatter(events: list[dict[str, Any]]) -> None:
    state = fresh_state()
    for event in events:
        fold(state, dumps(event))
        # REST history items go through parse_object: same tolerance.
        assert parse_object(copy.deepcopy(event)) is not None
    assert state.counters.received == len(events)
    for cand in state.candidate_list:
        for value in cand.objectives.values():
            assert math.isfinite(value)  # NaN/Infinity are rejected, never stored


VALID = [dumps(e) for e in campaign_events(5, iterations=4, batch=3, objectives=3, campaign_id="camp-fuzz")]


def mutate(frame: str, data: st.DataObject) -> str:
    """One random corruption of a valid frame; the corrupt frame never keeps a seq."""
    choice = data.draw(st.sampled_from(["drop", "replace", "retype", "truncate", "splice", "nest", "nan"]))
    obj = json.loads(frame)
    obj.pop("seq")
    keys = sorted(obj)
    if choice == "drop":
        obj.pop(data.draw(st.sampled_from(keys)))
    elif choice == "replace":
        obj[data.draw(st.sampled_from(keys))] = data.draw(JSON_VALUES)
    elif choice == "retype":
        obj["type"] = data.draw(st.one_of(st.sampled_from(EVENT_TYPES), HOSTILE_TEXT))
    elif choice == "nest":
        obj[data.draw(st.sampled_from(keys))] = json.loads("[" * 200 + "]" * 200)
    elif choice == "nan":
        return dumps(obj).replace("1", "NaN", 1)
    text = dumps(obj)
    if choice == "truncate":
        return text[: data.draw(st.integers(0, max(0, len(text) - 1)))]
    if choice == "splice":
        at = data.draw(st.integers(0, len(text)))
        return text[:at] + data.draw(st.text(max_size=8)) + text[at:]
    return text


@STREAMS
@given(st.data())
def test_every_valid_frame_is_applied_amid_mutated_garbage(data: st.DataObject) -> None:
    state = fresh_state()
    garbage_applied = 0
    for frame in VALID:
        for _ in range(data.draw(st.integers(0, 2))):
            garbage_applied += fold(state, mutate(data.draw(st.sampled_from(VALID)), data))
        assert fold(state, frame), frame[:200]  # the valid frame itself is always applied
    assert state.last_seq == len(VALID)
    assert state.counters.applied == len(VALID) + garbage_applied
    assert state.status == "completed"


def test_deep_nesting_and_huge_numbers_are_rejected_not_raised() -> None:
    state = fresh_state()
    frames = [
        '{"type": "convergence_update", "metric": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"type": "iteration_started", "iteration": 1' + "0" * 5000 + ', "timestamp": "x"}',
        '{"type": "convergence_update", "metric": 1e999, "converged": false}',
        '{"type": "iteration_completed", "iteration": 1, "best_value": -Infinity, "pareto_size": 0}',
        '{"type": "candidates_proposed", "iteration": 1, "candidates": [{"id": "a", "parameters": {"p": 1e400}}]}',
    ]
    for frame in frames:
        assert not fold(state, frame)
    assert state.counters.rejected == len(frames)


@FUZZ
@given(st.characters(categories=["Cc", "Cf", "Zl", "Zp"]))
def test_clean_escapes_every_control_and_invisible_format_character(char: str) -> None:
    from materia_tui.sanitize import clean

    shown = clean(f"a{char}b")
    assert char not in shown and shown.startswith("a\\") and shown.endswith("b")


@FUZZ
@given(st.text(st.characters(categories=["L", "M", "N", "P", "S", "Zs"]), max_size=40))
def test_clean_leaves_visible_text_alone(text: str) -> None:
    from materia_tui.sanitize import clean

    assert clean(text) == text
