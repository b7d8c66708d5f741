"""candidate_columns: every candidate as columns, in row order, agreeing with the records."""

from __future__ import annotations

import math

import numpy as np

from materia_tui.insight.filter import compile_filter
from materia_tui.state import CampaignState
from materia_tui.state.columns import CategoryValues, candidate_columns, snapshot_columns
from materia_tui.state.intake import apply_item
from tests.support.fake_source import campaign_items


def campaign(iterations: int = 6, partial_last: bool = True) -> CampaignState:
    state = CampaignState("camp-123")
    for item in campaign_items(iterations, partial_last=partial_last):
        apply_item(state, item)
    return state


def test_columns_follow_the_records_row_by_row() -> None:
    state = campaign()
    columns = candidate_columns(state)
    rows = state.candidate_list
    assert len(columns) == len(rows) == 30
    assert columns.ids == [c.id for c in rows]
    assert columns.status == [c.status for c in rows]
    assert isinstance(columns.parameters["pore_size_nm"], np.ndarray)  # numbers: a float array
    assert isinstance(columns.parameters["polymer"], CategoryValues)  # text: codes, no str per row
    assert columns.field_kinds() == {
        "pore_size_nm": "number", "polymer": "category", "water_flux": "number", "salt_rejection": "number",
    }  # fmt: skip
    for i, cand in enumerate(rows):
        assert columns.iteration[i] == cand.iteration
        assert columns.front[i] == cand.on_front
        assert columns.feasible[i] == (cand.status == "evaluated" and cand.feasible)
        assert columns.parameters["polymer"][i] == cand.parameters["polymer"]
        for name in state.objectives:
            measured = cand.objectives.get(name) if cand.status in ("evaluated", "infeasible") else None
            value = columns.objectives[name][i]
            assert (math.isnan(value) and measured is None) or value == measured
            assert columns.predicted[name][i] == cand.predicted[name]
    # the partial last iteration: proposed, nothing measured
    assert not columns.measured[-5:].any()
    assert columns.measured[:-5].sum() == 25 - 1  # iteration 4 had one failed evaluation


def test_a_filter_on_the_columns_agrees_with_the_same_predicate_in_python() -> None:
    state = campaign(8, partial_last=False)
    columns = candidate_columns(state)
    text = "(polymer=PA or front) and water_flux>40 and not status:failed and it>=2"
    mask = compile_filter(text, columns.field_kinds()).mask(columns.filter_columns(), len(columns))
    expected = [
        (c.parameters["polymer"] == "PA" or c.on_front)
        and c.status != "failed"
        and c.status in ("evaluated", "infeasible")
        and c.objectives.get("water_flux", -1.0) > 40
        and (c.iteration or 0) >= 2
        for c in state.candidate_list
    ]
    assert mask.tolist() == expected
    assert any(expected) and not all(expected)


def test_an_empty_campaign_has_empty_columns() -> None:
    columns = candidate_columns(CampaignState("empty"))
    assert len(columns) == 0 and columns.objectives == {} and columns.measured.size == 0


def test_columns_view_their_snapshot_once_and_leave_the_store_alone() -> None:
    state = campaign()
    store_flux = np.array(state.store.float_column("obj:water_flux"))
    snapshot = snapshot_columns(state)
    columns = snapshot.columns()
    for name, values in snapshot.predicted.items():  # a view of the snapshot's copy, not another copy
        assert np.shares_memory(columns.predicted[name], np.frombuffer(values, dtype=np.float64))
    flux = snapshot.objectives["water_flux"]
    assert flux is not None and np.shares_memory(columns.objectives["water_flux"], np.frombuffer(flux))
    assert not columns.measured[-5:].any()  # the unmeasured rows masked in the snapshot's copy,
    stored = np.array(state.store.float_column("obj:water_flux"))
    np.testing.assert_array_equal(stored, store_flux)  # never in the store
    again = snapshot.columns()  # a second reading of the same snapshot reads the same
    for name in columns.objectives:
        np.testing.assert_array_equal(again.objectives[name], columns.objectives[name])
    reference = candidate_columns(state)
    for section in ("objectives", "predicted", "uncertainty"):
        for name, column in getattr(reference, section).items():
            np.testing.assert_array_equal(getattr(columns, section)[name], column)
