"""The analysis views copy only what they read, and compute exactly what they computed from every column.

Each view's ``snapshot`` (UI thread) and ``compute_snapshot`` (worker) must give
the result the view's ``compute`` gives on ``candidate_columns`` (every column,
the filter applied with ``subset``), while the snapshot leaves out the columns
the view does not read: at a million candidates those are over 100 MB.
(``compute_filtered``: ``compute`` of the kept rows; parallel coordinates scale
their axes to every row.)
The reference implementations of the old parallel-coordinates and trace code
are kept here, so a change of result shows as a difference.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from materia_tui.insight.filter import compile_filter
from materia_tui.insight.hypervolume import hypervolume_trace
from materia_tui.insight.importance import importance_by_objective
from materia_tui.output.analysis import campaign_trace, coverage_of
from materia_tui.protocol import Campaign
from materia_tui.state import CampaignState
from materia_tui.state.columns import (
    BlankIds,
    CandidateColumns,
    CategoryValues,
    StatusNames,
    candidate_columns,
    parameter_names,
    snapshot_columns,
)
from materia_tui.ui.active_filter import ActiveFilter, field_kinds_of
from materia_tui.ui.widgets.analysis_view import AnalysisView, subset
from materia_tui.ui.widgets.hypervolume_view import HypervolumeView
from materia_tui.ui.widgets.importance_view import ImportanceView
from materia_tui.ui.widgets.parallel_view import ParallelView
from materia_tui.ui.widgets.slice_view import SliceTiles, SliceView, live_slices, slice_of
from tests.support.campaigns import campaign_events, campaign_meta
from tests.support.wire_frames import fold

FILTERS = (None, "polymer=PA or polymer=PES", "pore_size_nm>0.9 and not status:failed")


def campaign(iterations: int = 30, batch: int = 20) -> CampaignState:
    """Measured iterations, infeasible and failed candidates, then one iteration only proposed."""
    state = CampaignState("camp-test", Campaign.model_validate(campaign_meta(iterations=iterations)))
    events = [
        e for e in campaign_events(3, iterations=iterations, batch=batch) if e["type"] != "campaign_completed"
    ]
    last_evaluated = max(i for i, e in enumerate(events) if e["type"] == "candidates_evaluated")
    frames = [
        {k: v for k, v in e.items() if k not in ("seq", "campaign_id")} for e in events[:last_evaluated]
    ]
    return fold(state, frames)


def keep_of(state: CampaignState, text: str | None) -> Any:
    if text is None:
        return None
    active = ActiveFilter()
    active.set(compile_filter(text, field_kinds_of(state)))
    mask = active.mask(state)
    assert 0 < int(mask.sum()) < len(state.store)  # the filter keeps some rows, not all
    return mask


def reference(view: AnalysisView[Any], state: CampaignState, keep: Any) -> Any:
    """The view's result from every column, as every view computed it before."""
    return view.compute_filtered(candidate_columns(state), keep, state)


def through_snapshot(view: AnalysisView[Any], state: CampaignState, keep: Any) -> Any:
    return view.compute_snapshot(view.snapshot(state, keep), keep, state)


@pytest.mark.parametrize("text", FILTERS)
def test_hypervolume_view_reads_no_parameter_and_computes_the_same(text: str | None) -> None:
    state = campaign()
    view = HypervolumeView(state)
    keep = keep_of(state, text)
    copied, coverage = view.snapshot(state, keep)
    assert copied.parameters == {} and copied.predicted == {} and isinstance(copied.ids, BlankIds)
    assert [c.objective for c in coverage] == list(state.objectives)  # counted off the store
    result = through_snapshot(view, state, keep)
    assert result.trace is not None and result.trace.points and result.advice is not None
    assert result == reference(view, state, keep)


@pytest.mark.parametrize("text", FILTERS)
def test_parallel_view_reads_no_prediction_and_computes_the_same(text: str | None) -> None:
    state = campaign()
    view = ParallelView(state)
    keep = keep_of(state, text)
    plan, copied = view.snapshot(state, keep)
    assert plan is not None  # the ranges read off the store: only the rows drawn copied
    assert copied.predicted == {} and copied.uncertainty == {} and isinstance(copied.ids, BlankIds)
    result = through_snapshot(view, state, keep)
    assert result.lines and result.candidates
    assert copied.count == len(result.lines) + len(result.front) < len(state.store) / 2
    assert result == reference(view, state, keep) == old_parallel_of(candidate_columns(state), keep)


def python_values_campaign() -> CampaignState:
    """40 candidates, 36 measured, whose parameter ``flag`` holds Python values of several
    types (not numbers or text): no typed column, so the views read it from a copy."""
    values: list[object] = [True, 2, "x", 0.5, "z", False, "y", 3]
    proposed = [
        {"id": f"c{k}", "parameters": {"flag": values[k % 8], "t": k / 7}, "predicted": {}, "uncertainty": {}}
        for k in range(40)
    ]
    results = [{"candidate_id": f"c{k}", "objectives": {"y": float(k % 9)}} for k in range(36)]
    return one_iteration(proposed, results)


def one_iteration(proposed: list[dict[str, Any]], results: list[dict[str, Any]]) -> CampaignState:
    """A campaign of one iteration: ``proposed``, then ``results``."""
    return fold(CampaignState("c"), [
        {"type": "candidates_proposed", "iteration": 1, "candidates": proposed},
        {"type": "candidates_evaluated", "iteration": 1, "results": results},
    ])  # fmt: skip


def test_parallel_view_over_python_values_copies_every_row_and_computes_the_same() -> None:
    state = python_values_campaign()
    view = ParallelView(state)
    plan, copied = view.snapshot(state, None)
    assert plan is None and copied.count == 40
    result = through_snapshot(view, state, None)
    assert result.candidates and result == old_parallel_of(candidate_columns(state))


@pytest.mark.parametrize("text", FILTERS)
@pytest.mark.parametrize("index", [0, 1, 2, 3])
def test_slice_view_reads_its_tiles_in_place_and_computes_the_same(text: str | None, index: int) -> None:
    state = campaign()
    view = SliceView(state)
    view.index = index
    keep = keep_of(state, text)
    read = view.snapshot(state, keep)
    assert isinstance(read, SliceTiles)  # the tiles themselves: no column copied for the worker
    parameter, objective = [(p, o) for o in state.objectives for p in parameter_names(state)][index]
    result = through_snapshot(view, state, keep)
    assert result == read and (result.parameter, result.objective) == (parameter, objective)
    assert result == reference(view, state, keep)
    assert result.measured[0] and result.predicted[0]  # points and error bars both drawn
    if parameter == "polymer":  # the categorical axis, as the old code made it from the values
        columns = candidate_columns(state)
        assert result.tiles[0] == old_slice(columns if keep is None else subset(columns, keep), index)
        if text is not None and "PES" in text:
            assert result.categories == ["PA", "PES"]  # the kept rows' categories only


@pytest.mark.parametrize("text", FILTERS)
def test_slice_tiles_read_in_place_thin_as_every_column_would(text: str | None, monkeypatch: Any) -> None:
    import materia_tui.ui.widgets.slice_view as slice_view

    monkeypatch.setattr(slice_view, "MAX_POINTS", 7)  # every series thinned
    state = campaign()
    keep = keep_of(state, text)
    tiles = range(0, 6)
    read = live_slices(state, tiles, keep)
    columns = candidate_columns(state)
    shown = columns if keep is None else subset(columns, keep)
    assert read == SliceTiles(tuple(slice_of(shown, index) for index in tiles))
    assert all(len(tile.measured[0]) == 7 for tile in read.tiles)


def failed_measurement_campaign() -> CampaignState:
    """12 candidates, 8 measured, one of which failed with a value (stored; its status says
    failed): 1,000, far above the others."""
    proposed = [
        {"id": f"c{k}", "parameters": {"t": k / 7}, "predicted": {"y": 1.0}, "uncertainty": {"y": 0.1}}
        for k in range(12)
    ]
    results: list[dict[str, Any]] = [{"candidate_id": f"c{k}", "objectives": {"y": float(k)}} for k in range(8)]
    results[3] = {"candidate_id": "c3", "objectives": {"y": 1000.0}, "error": "solver diverged"}
    return one_iteration(proposed, results)


def test_parallel_axes_leave_out_the_values_of_failed_measurements() -> None:
    state = failed_measurement_campaign()
    view = ParallelView(state)
    result = through_snapshot(view, state, None)
    assert result.axes[-1].high == 7.0 and result.candidates == 7  # not 1,000; c3 not drawn
    assert result == old_parallel_of(candidate_columns(state))


def test_the_advisors_coverage_leaves_out_the_values_of_failed_measurements() -> None:
    state = failed_measurement_campaign()
    _copied, coverage = HypervolumeView(state).snapshot(state, None)  # read off the store in place
    assert [(c.objective, c.points) for c in coverage] == [("y", 7)]  # c3's 1,000 not counted
    assert coverage == coverage_of(candidate_columns(state))


def test_slice_tiles_leave_out_the_values_of_failed_measurements() -> None:
    state = failed_measurement_campaign()
    read = live_slices(state, range(1), None)
    assert read is not None and 1000.0 not in read.measured[1] and len(read.measured[1]) + len(read.front[1]) == 7
    assert read == SliceTiles((slice_of(candidate_columns(state), 0),))


def test_slice_view_over_python_values_copies_the_tiles_parameter_and_computes_the_same() -> None:
    state = python_values_campaign()
    view = SliceView(state)
    copied, _tiles, names = view.snapshot(state, None)
    assert names == ["flag", "t"] and list(copied.parameters) == ["flag"]
    result = through_snapshot(view, state, None)
    assert result.measured[0] and result == reference(view, state, None)


@pytest.mark.parametrize("text", FILTERS)
def test_importance_view_copies_only_the_sampled_rows(text: str | None, monkeypatch: Any) -> None:
    import materia_tui.insight.importance as importance

    monkeypatch.setattr(importance, "TREES", 8)  # a few trees: the same either way, and quick
    state = campaign(iterations=40, batch=25)
    cap = 150  # rows per objective, well under the measured ones: the sample is what is tested
    view = ImportanceView(state)
    view.max_rows = cap
    keep = keep_of(state, text)
    copied, samples = view.snapshot(state, keep)
    assert copied.count < len(state.store) / 2 and copied.count <= cap * len(state.objectives)
    assert copied.predicted == {} and isinstance(copied.ids, BlankIds)
    result = view.compute_snapshot((copied, samples), keep, state)
    columns = candidate_columns(state)
    columns = columns if keep is None else subset(columns, keep)
    expected = importance_by_objective(columns.parameters, columns.objectives, max_rows=cap)
    assert result == expected
    assert all(r.rows == cap and r.measured > cap for r in result.values())


def test_the_statuses_and_text_categories_are_codes_not_a_str_per_row() -> None:
    state = campaign()
    columns = candidate_columns(state)
    assert isinstance(columns.status, StatusNames) and columns.status.codes.dtype == np.int8
    assert list(columns.status) == [c.status for c in state.candidate_list]
    polymer = columns.parameters["polymer"]
    assert isinstance(polymer, CategoryValues)
    assert list(polymer) == [c.parameters.get("polymer") for c in state.candidate_list]
    kept = subset(columns, np.arange(len(columns)) % 3 == 0)
    assert isinstance(kept.status, StatusNames) and isinstance(kept.parameters["polymer"], CategoryValues)
    assert list(kept.parameters["polymer"]) == list(polymer)[::3]


@pytest.mark.parametrize("seed", range(6))
def test_the_trace_is_the_one_of_every_row_in_any_order(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = 400
    values = rng.normal(size=(rows, 2))
    values[rng.random(rows) < 0.2, 0] = math.nan
    iterations = np.sort(rng.integers(0, 12, rows)).astype(np.float64)
    if seed % 2:
        iterations = rng.permutation(iterations)  # out of order: the sort is still needed
    if seed % 3:  # (seeds 0 and 3: every row has its iteration)
        iterations[rng.random(rows) < 0.05] = math.nan
    feasible = rng.random(rows) < 0.85
    columns = CandidateColumns(
        campaign_id="c", ids=BlankIds(rows), iteration=iterations,
        status=StatusNames(np.zeros(rows, np.int8), ("evaluated",)),
        front=np.zeros(rows, bool), feasible=feasible, parameters={},
        objectives={"a": values[:, 0].copy(), "b": values[:, 1].copy()},
        directions={"a": "maximize", "b": "minimize"},
    )  # fmt: skip
    known = np.isfinite(iterations)
    expected = hypervolume_trace(
        iterations[known].astype(np.int64), values[known], ["maximize", "minimize"], feasible[known]
    )
    assert campaign_trace(columns) == expected


def test_a_snapshot_of_picked_rows_holds_those_rows() -> None:
    state = campaign()
    picked = np.array([0, 3, 4, 50, len(state.store) - 1])
    every = candidate_columns(state)
    some = snapshot_columns(state, ids=False, predictions=False, picked=picked).columns()
    assert len(some) == len(picked) and some.predicted == {}
    assert some.iteration.tolist() == every.iteration[picked].tolist()
    assert list(some.status) == [every.status[i] for i in picked]
    for name, column in every.parameters.items():
        assert [some.parameters[name][k] for k in range(len(picked))] == [column[i] for i in picked]
    for name, column in every.objectives.items():
        np.testing.assert_array_equal(some.objectives[name], column[picked])


# ----- the old code, for reference ------------------------------------------------------


def old_parallel_of(columns: Any, keep: Any = None) -> Any:
    from materia_tui.ui.widgets.parallel_view import MAX_LINES, Axis, ParallelResult

    scaled: list[Any] = []
    axes: list[Axis] = []
    for name, column in [*columns.parameters.items(), *columns.objectives.items()]:
        if isinstance(column, np.ndarray):
            finite = column[np.isfinite(column)]
            low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
            scaled.append((column - low) / (high - low or 1.0))
            axes.append(Axis(name, low, high))
            continue
        names = sorted({str(v) for v in column if v is not None})
        codes = {n: i for i, n in enumerate(names)}
        span = max(1, len(names) - 1)
        scaled.append(np.array([math.nan if v is None else codes[str(v)] / span for v in column]))
        axes.append(Axis(name, 0.0, float(len(names) - 1), names))
    table = np.column_stack(scaled)
    measured = columns.measured & np.isfinite(table).all(axis=1)
    if keep is not None:
        measured &= keep
    front_rows = np.flatnonzero(measured & columns.front)
    other = np.flatnonzero(measured & ~columns.front)
    if len(other) > MAX_LINES:
        other = other[np.linspace(0, len(other) - 1, MAX_LINES).astype(np.int64)]
    return ParallelResult(axes, table[other].tolist(), table[front_rows].tolist(), int(measured.sum()))


def old_slice(columns: Any, index: int) -> Any:
    """``slice_of`` with the categorical axis made from a list of the values, as before."""
    plain: dict[str, Any] = {
        k: v if isinstance(v, np.ndarray) else list(v) for k, v in columns.parameters.items()
    }
    listed = CandidateColumns(
        campaign_id=columns.campaign_id, ids=columns.ids, iteration=columns.iteration, status=columns.status,
        front=columns.front, feasible=columns.feasible, parameters=plain, objectives=columns.objectives,
        predicted=columns.predicted, uncertainty=columns.uncertainty, directions=columns.directions,
    )  # fmt: skip
    return slice_of(listed, index)


def test_the_views_let_go_of_the_store_columns_they_read_in_place() -> None:
    """A view of a store column left alive would stop the store growing it (BufferError)."""
    import json

    from materia_tui.protocol import parse

    state = campaign()
    before = len(state.store)
    ParallelView(state).snapshot(state, keep_of(state, FILTERS[1]))
    HypervolumeView(state).snapshot(state, keep_of(state, FILTERS[2]))
    ImportanceView(state).snapshot(state, None)
    cands = [
        {"id": f"n{k}", "parameters": {"pore_size_nm": 1.0, "polymer": "PA"}, "predicted": {}, "uncertainty": {}}
        for k in range(5000)
    ]
    frame = {"type": "candidates_proposed", "iteration": 99, "candidates": cands, "seq": 10_000}
    state.apply(parse(json.dumps(frame)), 10_000.0)  # type: ignore[arg-type]
    assert len(state.store) == before + 5000


def test_the_coverage_in_slices_is_the_coverage_of_every_row_at_once() -> None:
    from materia_tui.output.analysis import COVERAGE_CHUNK, coverage_of

    rng = np.random.default_rng(5)
    rows = 2 * COVERAGE_CHUNK + 123
    measured, predicted = rng.normal(size=rows), rng.normal(size=rows)
    sigma = rng.uniform(-0.1, 1.5, rows)
    for column, share in ((measured, 0.1), (predicted, 0.05), (sigma, 0.05)):
        column[rng.random(rows) < share] = math.nan
    columns = CandidateColumns(
        campaign_id="c", ids=BlankIds(rows), iteration=np.zeros(rows),
        status=StatusNames(np.zeros(rows, np.int8), ("evaluated",)), front=np.zeros(rows, bool),
        feasible=np.ones(rows, bool), parameters={}, objectives={"a": measured},
        predicted={"a": predicted}, uncertainty={"a": sigma},
    )  # fmt: skip
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(measured) & np.isfinite(predicted) & np.isfinite(sigma) & (sigma > 0)
        within = np.abs(measured[usable] - predicted[usable]) <= 2 * sigma[usable]
    (found,) = coverage_of(columns)
    assert (found.objective, found.fraction, found.points) == ("a", float(within.mean()), int(usable.sum()))
