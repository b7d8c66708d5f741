from __future__ import annotations

import json
import tracemalloc

from materia_tui.state import candidates as record
from materia_tui.state.candidates import CandidateRecord


def test_views_read_like_the_dicts_they_were_built_from() -> None:
    cand = CandidateRecord(
        "c-1", 0, 1, {"pore_size_nm": 0.5, "polymer": "PVDF"}, {"water_flux": 3.0}, {"water_flux": 0.5}, 0.2
    )
    assert cand.parameters == {"pore_size_nm": 0.5, "polymer": "PVDF"}
    assert dict(cand.predicted) == {"water_flux": 3.0} and cand.uncertainty["water_flux"] == 0.5
    assert cand.objectives == {} and cand.objectives.get("water_flux") is None
    assert cand.parameters.get("missing", 7) == 7 and "polymer" in cand.parameters
    assert list(cand.parameters.items()) == [("pore_size_nm", 0.5), ("polymer", "PVDF")]
    assert json.loads(json.dumps(dict(cand.parameters))) == {"pore_size_nm": 0.5, "polymer": "PVDF"}


def test_replacing_one_section_keeps_the_others() -> None:
    cand = CandidateRecord("c-1", 0, 1, {"a": 1.0}, {"x": 2.0}, {"x": 0.1})
    cand.objectives = {"x": 5.0, "y": 6.0}
    cand.propose({"a": 9.0, "b": "B"}, {}, {"x": 0.3})
    assert cand.parameters == {"a": 9.0, "b": "B"} and cand.predicted == {}
    assert cand.uncertainty == {"x": 0.3} and cand.objectives == {"x": 5.0, "y": 6.0}
    cand.objectives = {"y": 1.0}
    assert cand.objectives == {"y": 1.0} and cand.parameters == {"a": 9.0, "b": "B"}
    view = cand.objectives
    cand.objectives = {"y": 2.0}
    assert view == {"y": 1.0}, "a view is a snapshot: later measurements do not change it"


def test_a_stream_of_ever_new_keys_cannot_grow_the_layout_cache_without_bound() -> None:
    for k in range(record.MAX_LAYOUTS + 500):
        cand = CandidateRecord(f"c-{k}", k, 1, {f"p{k}": 1.0})
        assert cand.parameters == {f"p{k}": 1.0}
    assert len(record._layouts) <= record.MAX_LAYOUTS


def test_a_measured_candidate_costs_well_under_what_four_dicts_would() -> None:
    count = 5_000
    keep = []
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for k in range(count):
        cand = CandidateRecord(
            f"c-{k:06d}", k, 1, {"pore_size_nm": k / 7, "polymer": "PVDF"},
            {"water_flux": k / 3, "salt_rejection": k / 11}, {"water_flux": k / 13, "salt_rejection": k / 17},
        )
        cand.objectives = {"water_flux": k / 19, "salt_rejection": k / 23}
        cand.status = "evaluated"
        keep.append(cand)
    per_candidate = (tracemalloc.get_traced_memory()[0] - before) / count
    tracemalloc.stop()
    # Four 2-key dicts alone are 4 x 184 B; the record, id and 7 floats come on top.
    assert per_candidate < 600, f"{per_candidate:.0f} B per candidate"
