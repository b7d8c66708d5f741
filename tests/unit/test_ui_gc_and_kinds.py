"""The key press's field kinds read from the store's headers, and the collector's freeze on growth."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from materia_tui.protocol import Candidate, CandidatesProposed
from materia_tui.source import EventReceived
from materia_tui.state import CampaignState
from materia_tui.state.columns import candidate_columns
from materia_tui.state.intake import apply_item
from materia_tui.ui.active_filter import ActiveFilter, field_kinds_of
from materia_tui.ui.gc_freeze import MINIMUM, GcFreezer
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


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """No freeze left over, and no automatic collection in between (only the freezer's own)."""
    gc.unfreeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def test_the_freezer_freezes_only_when_the_campaign_grew_enough(unfrozen: None) -> None:
    freezer = GcFreezer()
    assert not freezer.note(MINIMUM - 1)
    assert gc.get_freeze_count() == 0
    kept = [[i] for i in range(1000)]  # long-lived, tracked
    assert freezer.note(MINIMUM)
    assert gc.get_freeze_count() >= len(kept)
    gc.unfreeze()
    assert not freezer.note(MINIMUM * 2 - 1)  # grew less than MINIMUM since
    assert freezer.note(200_000)
    assert not freezer.note(200_000 + 19_999)  # a tenth of 200k: 20k
    assert freezer.note(220_000)
    assert freezer.freezes == 3 and freezer.frozen_at == 220_000


def test_a_cycle_dropped_before_the_freeze_is_collected_not_frozen(unfrozen: None) -> None:
    import weakref

    class Node:
        pass

    node = Node()
    node.self = node  # type: ignore[attr-defined]
    alive = weakref.ref(node)
    del node
    GcFreezer().note(MINIMUM)
    assert alive() is None
