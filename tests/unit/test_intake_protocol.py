"""A parameter value keeps its JSON type, whatever the order of the union tried.

``ParameterValue`` tries int, float, str, then bool (the cheapest order for
typical proposals). These tests pin what that order must not change: an int
stays an int (StrictFloat would also take it), a bool stays a bool (never 1),
and anything else (null, lists, objects, NaN, Infinity) rejects the frame.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from materia_tui.protocol import CandidatesProposed, Rejected, parse, parse_object

scalars = (
    st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=5)
    | st.none()
    | st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=2), st.integers(), max_size=1)
)


def expected(value: Any) -> tuple[type, Any] | None:
    """The reference rule (docs/PROTOCOL.md section 4): the value and its type, or None to reject."""
    if isinstance(value, bool):
        return bool, value
    if isinstance(value, int):
        return int, value
    if isinstance(value, float):
        return (float, value) if math.isfinite(value) else None
    if isinstance(value, str):
        return str, value
    return None


def frame(value: Any) -> dict[str, Any]:
    return {
        "type": "candidates_proposed",
        "seq": 1,
        "iteration": 1,
        "candidates": [{"id": "c", "parameters": {"p": value}}],
    }


@settings(max_examples=300, deadline=None)
@given(scalars)
def test_a_parameter_value_keeps_its_json_type_or_rejects_the_frame(value: Any) -> None:
    want = expected(value)
    for event in (parse(json.dumps(frame(value))), parse_object(json.loads(json.dumps(frame(value))))):
        if want is None:
            assert isinstance(event, Rejected) and event.kind == "malformed", event
            continue
        assert isinstance(event, CandidatesProposed), event
        got = event.candidates[0].parameters["p"]
        assert type(got) is want[0] and got == want[1]


def test_the_usual_parameter_values() -> None:
    text = '{"type":"candidates_proposed","iteration":1,"candidates":[{"id":"c","parameters":'
    text += '{"i":3,"f":3.0,"e":1e3,"s":"PVDF","n":"3","b":true,"z":false,"neg":-0.0}}]}'
    event = parse(text)
    assert isinstance(event, CandidatesProposed)
    values = dict(event.candidates[0].parameters)
    assert [type(v) for v in values.values()] == [int, float, float, str, str, bool, bool, float]
    assert values == {"i": 3, "f": 3.0, "e": 1000.0, "s": "PVDF", "n": "3", "b": True, "z": False, "neg": 0.0}
    for bad in ("NaN", "Infinity", "-Infinity", "1e400", "null", "[1]", '{"a":1}'):
        assert isinstance(parse(text.replace('"i":3', f'"i":{bad}')), Rejected), bad
