"""A candidate as the columnar store keeps it: views read back the mappings the
wire gave, a re-proposal or a new measurement replaces one section and keeps the
others, the shared layout table stays bounded, and a candidate costs well under
four dicts."""

from __future__ import annotations

import json
import tracemalloc

from materia_tui.protocol import Candidate, EvaluationResult
from materia_tui.state import candidates as layouts
from materia_tui.state.store import CandidateStore
from materia_tui.state.views import CandidateView


def proposal(id: str, parameters: dict[str, float | str], predicted: dict[str, float] | None = None,
             uncertainty: dict[str, float] | None = None, acquisition: float | None = None) -> Candidate:
    return Candidate(id=id, parameters=parameters, predicted=predicted or {}, uncertainty=uncertainty or {},
                     acquisition_value=acquisition)  # fmt: skip


def test_views_read_like_the_dicts_they_were_built_from() -> None:
    store = CandidateStore()
    store.propose(
        [proposal("c-1", {"pore_size_nm": 0.5, "polymer": "PVDF"}, {"water_flux": 3.0}, {"water_flux": 0.5}, 0.2)],
        1, 0,
    )  # fmt: skip
    cand = CandidateView(store, 0)
    assert cand.parameters == {"pore_size_nm": 0.5, "polymer": "PVDF"} and cand.acquisition_value == 0.2
    assert dict(cand.predicted) == {"water_flux": 3.0} and cand.uncertainty["water_flux"] == 0.5
    assert cand.objectives == {} and cand.objectives.get("water_flux") is None
    assert cand.measured("water_flux") is None and "polymer" in cand.parameters
    assert list(cand.parameters.items()) == [("pore_size_nm", 0.5), ("polymer", "PVDF")]
    assert json.loads(json.dumps(dict(cand.parameters))) == {"pore_size_nm": 0.5, "polymer": "PVDF"}


def test_replacing_one_section_keeps_the_others() -> None:
    store = CandidateStore()
    store.propose([proposal("c-1", {"a": 1.0}, {"x": 2.0}, {"x": 0.1})], 1, 0)
    store.measure(0, {"x": 5.0, "y": 6.0}, True, None, 1)
    store.propose([proposal("c-1", {"a": 9.0, "b": "B"}, {}, {"x": 0.3})], 2, 2)
    cand = CandidateView(store, 0)
    assert cand.parameters == {"a": 9.0, "b": "B"} and cand.predicted == {}
    assert cand.uncertainty == {"x": 0.3} and cand.objectives == {"x": 5.0, "y": 6.0}
    store.measure(0, {"y": 1.0}, True, None, 3)
    assert cand.objectives == {"y": 1.0} and cand.parameters == {"a": 9.0, "b": "B"}
    assert cand.measured("x") is None and cand.measured("y") == 1.0
    view = cand.objectives
    store.measure(0, {"y": 2.0}, True, None, 4)
    assert view == {"y": 1.0}, "a section read is a snapshot: later measurements do not change it"


def test_a_stream_of_ever_new_keys_cannot_grow_the_layout_cache_without_bound() -> None:
    for k in range(layouts.MAX_LAYOUTS + 500):
        layout = layouts.layout_for(((f"p{k}",), (), (), ()))
        assert layout.keys[0] == (f"p{k}",)
    assert len(layouts._layouts) <= layouts.MAX_LAYOUTS
    assert layouts.layout_for((("a",), ("f",), (), ())) is layouts.layout_for((("a",), ("f",), (), ()))


def test_a_measured_candidate_costs_well_under_what_four_dicts_would() -> None:
    count = 5_000
    batch = [
        proposal(f"c-{k:06d}", {"pore_size_nm": k / 7, "polymer": "PVDF"},
                 {"water_flux": k / 3, "salt_rejection": k / 11}, {"water_flux": k / 13, "salt_rejection": k / 17})
        for k in range(count)
    ]  # fmt: skip
    results = [
        EvaluationResult(candidate_id=f"c-{k:06d}", objectives={"water_flux": k / 19, "salt_rejection": k / 23})
        for k in range(count)
    ]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    store = CandidateStore()
    store.propose(batch, 1, 0)
    store.measure_fresh(list(range(count)), results, 1)
    per_candidate = (tracemalloc.get_traced_memory()[0] - before) / count
    tracemalloc.stop()
    assert CandidateView(store, count - 1).objectives == {"water_flux": (count - 1) / 19,
                                                          "salt_rejection": (count - 1) / 23}  # fmt: skip
    # Four 2-key dicts alone would be 4 x 184 B; the store's columns hold the same in ~150 B
    # (the id strings are the wire's, allocated before the count starts).
    assert per_candidate < 300, f"{per_candidate:.0f} B per candidate"
