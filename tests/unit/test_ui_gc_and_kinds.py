"""The key press's field kinds read from the store's headers."""

from __future__ import annotations

from materia_tui.protocol import Candidate, CandidatesProposed
from materia_tui.source import EventReceived
from materia_tui.state import CampaignState
from materia_tui.state.columns import candidate_columns
from materia_tui.state.intake import apply_item
from materia_tui.ui.active_filter import ActiveFilter, field_kinds_of
from tests.support.fake_source import campaign_items


def campaign_with_odd_parameters() -> CampaignState:
    """The demo campaign plus a batch whose parameters are a bool, a huge int, text and a
    parameter the metadata does not name."""
    state = CampaignState("camp-123")
    for item in campaign_items(3):
        apply_item(state, item)
    odd = [
        Candidate(id=f"odd-{i}", parameters={"pore_size_nm": 0.5, "polymer": "PA", "coated": i % 2 == 0,
                                            "huge": 2**70 + i, "grade": "x" if i else 3, "extra": 1.5 * i})
        for i in range(3)
    ]  # fmt: skip
    event = CandidatesProposed(candidates=odd, iteration=4, seq=10_000, timestamp="2026-01-01T00:00:00Z")
    apply_item(state, EventReceived(event, 0.0))
    return state


def test_the_kinds_agree_with_the_copied_columns() -> None:
    state = campaign_with_odd_parameters()
    kinds = field_kinds_of(state)
    assert kinds == candidate_columns(state).field_kinds()
    assert kinds["coated"] == "category" and kinds["grade"] == "category"
    assert kinds["huge"] == "number" and kinds["extra"] == "number" and kinds["pore_size_nm"] == "number"


def test_a_filter_compiled_from_the_state_masks_as_one_compiled_from_the_columns() -> None:
    state = campaign_with_odd_parameters()
    columns = candidate_columns(state)
    selection = ActiveFilter()
    selection.set(selection.compile(state, "polymer=PA and huge>5 or grade=x"))
    expected = selection.compiled
    assert expected is not None
    mask = selection.mask(state)
    assert mask.tolist() == expected.mask(columns.filter_columns(), len(columns)).tolist()
    assert 0 < int(mask.sum()) < len(columns)
