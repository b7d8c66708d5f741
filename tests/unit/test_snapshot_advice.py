"""snapshot_advice (output/snapshot_advice.py): the stop advisor's trace, coverage and advice read
from a column snapshot one iteration at a time equal output.analysis's over the same rows."""

from __future__ import annotations

import numpy as np
import pytest

from materia_tui.output.analysis import advice_for, campaign_trace, coverage_of
from materia_tui.output.snapshot_advice import _coverage, snapshot_advice
from materia_tui.protocol import (
    Candidate,
    CandidatesEvaluated,
    CandidatesProposed,
    EvaluationResult,
)
from materia_tui.source import EventReceived
from materia_tui.state import CampaignState
from materia_tui.state.columns import EVALUATED, INFEASIBLE, RowChoice, snapshot_columns
from materia_tui.state.intake import apply_item
from tests.support.fake_source import campaign_items


def campaign(iterations: int, partial_last: bool = True) -> CampaignState:
    state = CampaignState("camp-123")
    for item in campaign_items(iterations, partial_last=partial_last):
        apply_item(state, item)
    return state


def late_results(state: CampaignState) -> None:
    """An earlier iteration measured after a later one (rows out of iteration order) and an
    infeasible result: the trace must sort and mask them as ``hypervolume_trace`` does."""
    late = [
        Candidate(id=f"late-{k}", parameters={"pore_size_nm": 0.4 + k / 10, "polymer": "PA"})
        for k in range(3)
    ]
    apply_item(state, EventReceived(CandidatesProposed(iteration=2, candidates=late), 0.0))
    results = [
        EvaluationResult(
            candidate_id=c.id, feasible=k != 1, objectives={"water_flux": 90.0 + k, "salt_rejection": 99.5}
        )
        for k, c in enumerate(late)
    ]
    apply_item(state, EventReceived(CandidatesEvaluated(iteration=2, results=results), 0.0))


@pytest.mark.parametrize("window", [False, True], ids=["every row", "recent rows + earlier front"])
@pytest.mark.parametrize("late", [False, True], ids=["in order", "late results"])
def test_the_snapshot_advice_is_the_analysis_of_the_same_rows(window: bool, late: bool) -> None:
    state = campaign(16)
    if late:
        late_results(state)
    rows = None
    if window:
        on_front = [row for row in range(30) if state.store.on_front[row]]
        rows = RowChoice(30, tuple(on_front))
    snapshot = snapshot_columns(state, parameters=False, ids=False, rows=rows)
    columns = snapshot.columns()
    expected_trace = campaign_trace(columns)
    assert expected_trace is not None
    expected_coverage = coverage_of(columns)
    assert expected_coverage  # the campaign has predictions and uncertainties: coverage is compared
    trace, advice = snapshot_advice(snapshot)
    assert trace == expected_trace
    assert advice == advice_for(expected_trace, columns, expected_coverage)
    codes = np.frombuffer(snapshot.status, dtype=np.int8)
    measured = (codes == EVALUATED) | (codes == INFEASIBLE)
    objectives = [
        np.frombuffer(snapshot.objectives[name] or b"", dtype=np.float64) for name in columns.objectives
    ]
    assert _coverage(snapshot, list(columns.objectives), objectives, measured) == expected_coverage


def test_no_objectives_and_no_rows_give_no_advice() -> None:
    empty = CampaignState("camp-123")
    assert snapshot_advice(snapshot_columns(empty, parameters=False, ids=False)) == (None, None)
    state = campaign(3)
    nothing = snapshot_columns(state, parameters=False, ids=False, rows=RowChoice(len(state.store)))
    assert snapshot_advice(nothing) == (None, None)
