"""The columnar store: views read back what the wire gave, columns agree with the
views, the reducer's batch paths give what its general path gives, and the
table's column orders (pure Python and numpy) are the per-candidate order."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from materia_tui.protocol import Rejected, parse
from materia_tui.state import CampaignState, ordering
from materia_tui.state.ordering import filter_rows, sort_rows
from materia_tui.state.pareto import brute_force_front
from materia_tui.state.records import BatchSummary
from materia_tui.state.store import STATUSES
from materia_tui.ui.widgets.table_columns import build_columns
from tests.support.fingerprint import fingerprint
from tests.support.id_index_checks import assert_finds_what_a_dict_finds
from tests.support.wire_frames import fold, frame, proposal


def general_path_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CampaignState, "_fresh_rows", lambda self, results: None)


@settings(max_examples=150, deadline=None)
@given(st.lists(frame, min_size=1, max_size=10))
def test_batch_paths_give_what_the_general_path_gives(frames: list[dict[str, Any]]) -> None:
    fast = fold(CampaignState("c"), frames)
    with pytest.MonkeyPatch.context() as patch:
        general_path_only(patch)
        slow = fold(CampaignState("c"), frames)
    assert fingerprint(fast) == fingerprint(slow)
    points = {
        c.id: tuple(c.objectives[n] * 1.0 for n in fast.objectives)
        for c in fast.candidate_list
        if c.status == "evaluated" and all(n in c.objectives for n in fast.objectives)
    }
    assert set(fast.front_ids()) == brute_force_front(points.items())


@settings(max_examples=100, deadline=None)
@given(st.lists(frame, min_size=1, max_size=10))
def test_columns_hold_what_the_views_read(frames: list[dict[str, Any]]) -> None:
    state = fold(CampaignState("c"), frames)
    store = state.store
    assert list(store.column("id")) == [c.id for c in state.candidate_list]
    for name in ("x", "y", "kind"):
        column = store.column(f"param:{name}")
        for cand, value in zip(state.candidate_list, column, strict=True):
            shown = cand.parameters.get(name)
            assert (value is None or value != value) if shown is None else (value == shown), (cand, name)
    for prefix, section in (("pred", "predicted"), ("unc", "uncertainty"), ("obj", "objectives")):
        for name in ("f", "g", "h"):
            column = store.column(f"{prefix}:{name}")
            for cand, value in zip(state.candidate_list, column, strict=True):
                shown = getattr(cand, section).get(name)
                assert math.isnan(value) if shown is None else value == shown
    statuses = [STATUSES[code] for code in store.column("status")]
    assert statuses == [c.status for c in state.candidate_list]
    assert [bool(f) for f in store.column("on_front")] == [c.on_front for c in state.candidate_list]


def test_parameter_values_keep_their_type_and_the_wire_order() -> None:
    state = fold(
        CampaignState("c"),
        [
            {"type": "candidates_proposed", "iteration": 1, "candidates": [
                {"id": "a", "parameters": {"n": 3, "x": 1.5, "kind": "PVDF", "on": True}},
                {"id": "b", "parameters": {"on": False, "kind": "PES", "x": 2, "n": 2**60}},
            ]},
        ],
    )  # fmt: skip
    a, b = state.candidates["a"], state.candidates["b"]
    assert list(a.parameters.items()) == [("n", 3), ("x", 1.5), ("kind", "PVDF"), ("on", True)]
    assert list(b.parameters.items()) == [("on", False), ("kind", "PES"), ("x", 2), ("n", 2**60)]
    assert [type(v) for v in b.parameters.values()] == [bool, str, int, int]
    assert state.store.column("param:kind") == ["PVDF", "PES"]
    column = state.store.parameter_column("kind")
    assert column is not None and column.choices == ["PVDF", "PES"]  # dictionary-encoded


@settings(max_examples=60, deadline=None)
@given(st.lists(frame, min_size=1, max_size=10), st.booleans())
def test_column_orders_are_the_per_candidate_order(frames: list[dict[str, Any]], reverse: bool) -> None:
    state = fold(CampaignState("c"), frames)
    store = state.store
    rows = list(range(len(store)))
    for column in build_columns(10, ["x", "y", "kind"], ["f", "g", "h"]):
        expected = sorted(rows, key=lambda r: column.sort_key(state.candidate_list[r]), reverse=reverse)
        python = list(sort_rows(store, column.key, range(len(store)), reverse))
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(ordering, "NUMPY_ROWS", 0)
            with_numpy = [int(r) for r in sort_rows(store, column.key, range(len(store)), reverse)]
            subset = rows[::2]
            numpy_subset = [int(r) for r in sort_rows(store, column.key, subset, reverse)]
        assert python == expected, column.key
        assert with_numpy == expected, column.key
        assert numpy_subset == sorted(
            subset, key=lambda r: column.sort_key(state.candidate_list[r]), reverse=reverse
        ), column.key


@settings(max_examples=60, deadline=None)
@given(st.lists(frame, min_size=1, max_size=10))
def test_filters_with_and_without_numpy_agree(frames: list[dict[str, Any]]) -> None:
    state = fold(CampaignState("c"), frames)
    cands = list(state.candidate_list)
    expected = {
        "all": [c.row for c in cands],
        "pareto": [c.row for c in cands if c.on_front],
        "iteration": [c.row for c in cands if c.iteration == state.current_iteration],
        "problems": [c.row for c in cands if c.status in ("failed", "infeasible")],
    }
    for mode, rows in expected.items():
        args = (state.store, mode, state.front_ids(), state.current_iteration)
        assert list(filter_rows(*args)) == rows, mode  # type: ignore[arg-type]
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(ordering, "NUMPY_ROWS", 0)
            assert [int(r) for r in filter_rows(*args)] == rows, mode  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [100, 5])
def test_a_batch_log_entry_keeps_counts_not_candidates(size: int) -> None:
    candidates = [{"id": f"c{k}", "parameters": {"x": float(k)}} for k in range(size)]
    results = [{"candidate_id": f"c{k}", "objectives": {"f": 1.0}, **({"error": "x"} if k < 3 else {})}
               for k in range(size)]  # fmt: skip
    state = fold(
        CampaignState("c"),
        [
            {"type": "candidates_proposed", "iteration": 1, "candidates": candidates},
            {"type": "candidates_evaluated", "iteration": 1, "results": results},
        ],
    )
    proposed, evaluated = list(state.log)
    assert proposed.item == BatchSummary("candidates_proposed", 1, 1) and proposed.batch == size
    assert evaluated.item == BatchSummary("candidates_evaluated", 2, 1)
    assert evaluated.batch == size and evaluated.failed == 3
    from materia_tui.ui.widgets.event_log import log_line

    assert f"{size} candidates proposed" in log_line(proposed)
    assert f"{size} evaluated (3 failed)" in log_line(evaluated)


@settings(max_examples=60, deadline=None)
@given(st.lists(frame, min_size=1, max_size=10))
def test_candidate_columns_read_what_the_views_read(frames: list[dict[str, Any]]) -> None:
    from materia_tui.state.columns import candidate_columns

    state = fold(CampaignState("c"), frames)
    columns = candidate_columns(state)
    cands = list(state.candidate_list)
    assert columns.ids == [c.id for c in cands] and columns.status == [c.status for c in cands]
    assert columns.front.tolist() == [c.on_front for c in cands]
    assert columns.feasible.tolist() == [c.status == "evaluated" and c.feasible for c in cands]
    for name, column in columns.parameters.items():
        values = [c.parameters.get(name) for c in cands]
        if not hasattr(column, "dtype"):  # text: a list, or codes (CategoryValues) read as one
            assert list(column) == values and column == values, name
        else:
            assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in values if v is not None)
            assert [None if math.isnan(v) else v for v in column.tolist()] == values, name
    for name in state.objectives:
        expected = [
            c.objectives.get(name) if c.status in ("evaluated", "infeasible") else None for c in cands
        ]
        assert [None if math.isnan(v) else v for v in columns.objectives[name].tolist()] == expected


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(max_size=6), max_size=3000, unique=True), st.lists(st.text(max_size=6), max_size=50))
def test_the_id_index_finds_what_a_dict_finds(keys: list[str], probes: list[str]) -> None:
    from materia_tui.state.id_index import IdIndex
    from materia_tui.state.id_list import IdList

    ids = IdList()
    index = IdIndex(ids)
    for start in range(0, len(keys), 700):  # batches, so the table grows between them
        ids.extend(keys[start : start + 700])
        index.added(start)
    assert_finds_what_a_dict_finds(index, keys, probes)


@settings(max_examples=60, deadline=None)
@given(st.lists(frame, min_size=1, max_size=10))
def test_a_lines_state_without_proposals_scores_like_a_full_one(frames: list[dict[str, Any]]) -> None:
    full = fold(CampaignState("c"), frames)
    lean = CampaignState("c")
    lean.store.keep_proposals = False
    fold(lean, frames)
    assert lean.best == full.best and sorted(lean.front_ids()) == sorted(full.front_ids())
    assert lean.evaluations == full.evaluations and lean.objectives == full.objectives
    for a, b in zip(lean.candidate_list, full.candidate_list, strict=True):
        assert (a.id, a.iteration, a.status, a.on_front, a.objectives) == (
            b.id, b.iteration, b.status, b.on_front, b.objectives
        )  # fmt: skip
        assert a.parameters == {} and a.predicted == {} and a.acquisition_value is None


proposals_only = st.lists(
    st.builds(lambda cs, it: {"type": "candidates_proposed", "iteration": it, "candidates": cs},
              st.lists(proposal, min_size=1, max_size=6), st.integers(1, 4)),
    min_size=1, max_size=12,
)  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(st.one_of(proposals_only, st.lists(frame, min_size=1, max_size=10)), st.integers(1, 20))
def test_the_tail_of_new_proposals_is_invisible(frames: list[dict[str, Any]], tail_rows: int) -> None:
    """Proposals written a tail at a time (or read in the middle of one) give exactly
    what proposals written at once give."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("materia_tui.state.store.TAIL_ROWS", 1)
        at_once = fold(CampaignState("c"), frames)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("materia_tui.state.store.TAIL_ROWS", tail_rows)
        held = CampaignState("c")
        read_midway = CampaignState("c")
        for seq, body in enumerate(frames, start=1):
            for state in (held, read_midway):
                event = parse(json.dumps({**body, "seq": seq}))
                assert not isinstance(event, Rejected)
                state.apply(event, float(seq))
            # a reader in the middle of a tail (as a repaint is) sees every row whole
            assert list(read_midway.store.column("iteration")) == [c.iteration for c in read_midway.candidate_list]
            assert len(read_midway.store.status) == len(read_midway.candidate_list)
    assert fingerprint(held) == fingerprint(at_once) == fingerprint(read_midway)
    assert [c.parameters for c in held.candidate_list] == [c.parameters for c in at_once.candidate_list]


def test_a_batch_with_a_known_or_repeated_id_leaves_the_id_index_as_it_was() -> None:
    from materia_tui.state.id_index import IdIndex
    from materia_tui.state.id_list import IdList

    ids = IdList(f"k{n}" for n in range(600))
    index = IdIndex(ids)  # built over rows that exist already (more than its first table holds)
    assert [index.get(key) for key in ids] == list(range(600))
    for batch in (["new1", "k17", "new2"], ["new1", "new2", "new1"]):
        ids.extend(batch)
        assert not index.added_if_new(600)
        del ids[600:]
        assert index.get("new1") is None and index.get("new2") is None and index.get("k17") == 17
    ids.extend(["new1", "new2"])
    assert index.added_if_new(600)
    assert index.get_many(["new1", "new2", "k0", "nope"]) == [600, 601, 0, None]
