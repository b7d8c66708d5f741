"""The reducer's fast paths for proposals give what the general paths give.

New candidates are checked against the previous candidate's key layout with
one flat list (sections split by 0), and in-order seqs skip the gap/duplicate
bookkeeping. These tests build the cases those shortcuts could get wrong:
the same keys in another order or split differently between sections, a
previous layout that carries measurements, and seqs out of order after an
in-order run.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from materia_tui.protocol import CandidatesEvaluated, CandidatesProposed, parse
from materia_tui.state import CampaignState


def proposed(seq: int, candidates: list[dict[str, Any]], iteration: int = 1) -> CandidatesProposed:
    frame = {"type": "candidates_proposed", "seq": seq, "iteration": iteration, "candidates": candidates}
    event = parse(json.dumps(frame))
    assert isinstance(event, CandidatesProposed), event
    return event


def test_same_keys_in_another_order_or_another_section_keep_their_own_order() -> None:
    state = CampaignState("c")
    state.apply(
        proposed(
            1,
            [
                {"id": "a", "parameters": {"x": 1.0, "y": "Y"}, "predicted": {"f": 2.0}},
                {"id": "b", "parameters": {"y": "Z", "x": 3.0}, "predicted": {"f": 4.0}},
                {"id": "c", "parameters": {"x": 5.0}, "predicted": {"y": 6.0, "f": 7.0}},
                {"id": "d", "parameters": {"x": 5.0, "y": 6.0}, "uncertainty": {"f": 0.5}},
                {"id": "e", "parameters": {"x": 1.5, "y": "Q"}, "predicted": {"f": 2.5}},
            ],
        ),
        0.0,
    )
    cands = state.candidates
    assert list(cands["a"].parameters.items()) == [("x", 1.0), ("y", "Y")]
    assert list(cands["b"].parameters.items()) == [("y", "Z"), ("x", 3.0)]
    assert dict(cands["c"].parameters) == {"x": 5.0} and list(cands["c"].predicted) == ["y", "f"]
    assert cands["d"].predicted == {} and cands["d"].uncertainty == {"f": 0.5}
    assert cands["e"].parameters == {"x": 1.5, "y": "Q"} and cands["e"].predicted == {"f": 2.5}
    assert cands["a"].parameter_names is cands["e"].parameter_names  # one shared layout


def evaluated(seq: int, results: list[dict[str, Any]], iteration: int = 1) -> CandidatesEvaluated:
    frame = {"type": "candidates_evaluated", "seq": seq, "iteration": iteration, "results": results}
    event = parse(json.dumps(frame))
    assert isinstance(event, CandidatesEvaluated), event
    return event


def test_a_new_proposal_after_a_measured_layout_has_no_measurement() -> None:
    state = CampaignState("c")
    state.apply(proposed(1, [{"id": "m", "parameters": {"x": 1.0}, "predicted": {"f": 1.0}}]), 1.0)
    state.apply(evaluated(2, [{"candidate_id": "m", "objectives": {"f": 9.0}}]), 2.0)
    state.apply(proposed(3, [{"id": "n", "parameters": {"x": 2.0}, "predicted": {"f": 2.0}}], 2), 3.0)
    assert state.candidates["m"].objectives == {"f": 9.0}
    fresh = state.candidates["n"]
    assert fresh.objectives == {} and fresh.measured("f") is None
    assert fresh.parameters == {"x": 2.0} and fresh.predicted == {"f": 2.0}


def test_a_re_proposal_keeps_the_measurement_and_takes_new_keys() -> None:
    state = CampaignState("c")
    first = {"id": "c", "parameters": {"x": 1.0}, "predicted": {"f": 1.0}, "uncertainty": {"f": 0.1}}
    state.apply(proposed(1, [first]), 1.0)
    state.apply(evaluated(2, [{"candidate_id": "c", "objectives": {"f": 5.0}}]), 2.0)
    same_keys = {"id": "c", "parameters": {"x": 2.0}, "predicted": {"f": 3.0}, "uncertainty": {"f": 0.2}}
    state.apply(proposed(3, [same_keys], 2), 3.0)
    cand = state.candidates["c"]
    assert cand.parameters == {"x": 2.0} and cand.objectives == {"f": 5.0}
    moved = {"id": "c", "parameters": {"x": 2.0}, "uncertainty": {"x": 3.0, "f": 0.2}}  # "x" in another section
    state.apply(proposed(4, [moved], 3), 4.0)
    assert cand.predicted == {} and list(cand.uncertainty.items()) == [("x", 3.0), ("f", 0.2)]
    assert cand.objectives == {"f": 5.0} and cand.measured("f") == 5.0


keys = st.sampled_from(["x", "y", "f"])
section = st.dictionaries(keys, st.floats(-10, 10, allow_nan=False), max_size=3)
candidate = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["a", "b", "c", "d"]),
        "parameters": section,
        "predicted": section,
        "uncertainty": section,
    }
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(candidate, min_size=1, max_size=4), min_size=1, max_size=6))
def test_folded_proposals_read_back_as_the_last_proposal_of_each_candidate(
    frames: list[list[dict[str, Any]]],
) -> None:
    state = CampaignState("c")
    last: dict[str, dict[str, Any]] = {}
    for seq, batch in enumerate(frames, start=1):
        assert state.apply(proposed(seq, batch), float(seq)) == "applied"
        for cand in batch:
            last[cand["id"]] = cand
    assert list(state.candidates) == [c.id for c in state.candidate_list]
    for cid, cand in last.items():
        record = state.candidates[cid]
        for name in ("parameters", "predicted", "uncertainty"):
            # Same items in the same order as the wire's object.
            assert list(getattr(record, name).items()) == list(cand[name].items()), (cid, name)
        assert record.objectives == {}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 12), max_size=30))
def test_seq_bookkeeping_matches_a_set_of_seen_seqs(seqs: list[int]) -> None:
    state = CampaignState("c")
    seen: set[int] = set()
    newest = gaps = 0
    for seq in seqs:
        event = proposed(seq, [{"id": f"c{seq}"}])
        result = state.apply(event, 0.0)
        assert result == ("duplicate" if seq in seen else "applied")
        if seq not in seen:
            gaps += seq > newest + 1
            newest = max(newest, seq)
            seen.add(seq)
    assert state.last_seq == newest and state.counters.gaps == gaps
    assert state.counters.duplicates == len(seqs) - len(seen)
