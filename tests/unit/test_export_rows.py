"""The export read a block of columns at a time gives what reading each candidate's
view gives: the same names, rows, cells and CSV, for any campaign."""

from __future__ import annotations

import csv
import io
import json
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from materia_tui.errors import UsageError
from materia_tui.output import export, export_parquet, export_rows
from materia_tui.protocol import parse_campaign
from materia_tui.state import CampaignState
from tests.support.export_oracle import old_parquet_column, view_names, view_rows
from tests.support.wire_frames import fold, frame

metadata = st.one_of(st.none(), st.just({"id": "c", "parameters": [{"name": "kind"}, {"name": "never_sent"}]}))


@settings(max_examples=120, deadline=None)
@given(st.lists(frame, min_size=1, max_size=12), metadata, st.booleans(), st.booleans(), st.integers(1, 5))
def test_blocks_of_columns_give_the_rows_the_views_give(
    frames: list[dict[str, Any]], meta: Any, front_only: bool, with_notes: bool, block_rows: int
) -> None:
    state = fold(CampaignState("c", parse_campaign(meta) if meta else None), frames)
    if with_notes:
        state.add_note(1, "first =cell", 0.0)
        state.add_note(None, "no iteration", 0.0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(export_rows, "BLOCK_ROWS", block_rows)  # many blocks, and numpy's layout pass
        parameters, objectives = view_names(state)
        assert export.parameter_names(state) == parameters
        assert export.objective_names(state) == objectives
        expected = view_rows(state, front_only)
        rows = export.candidate_rows(state, front_only=front_only)
        assert rows == expected
        assert [list(row) for row in rows] == [list(row) for row in expected]  # the column order
        out = io.StringIO()
        assert export.write_csv(state, out, front_only=front_only) == len(expected)
        streamed = io.StringIO()
        assert export.write_json(state, streamed, front_only=front_only) == len(expected)
    document = json.loads(json.dumps(export.export_document(state, front_only=front_only)))
    assert json.loads(streamed.getvalue()) == document
    header = export.columns(state)
    lines = list(csv.reader(io.StringIO(out.getvalue())))
    assert lines[0] == [export.csv_cell(name) for name in header]
    assert lines[1:] == [[export.csv_cell(row[name]) for name in header] for row in expected]


def test_a_where_expression_keeps_its_rows_across_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    frames = [
        {"type": "candidates_proposed", "iteration": 1,
         "candidates": [{"id": f"c{k}", "parameters": {"x": float(k)}} for k in range(10)]},
    ]  # fmt: skip
    state = fold(CampaignState("c"), frames)
    monkeypatch.setattr(export_rows, "BLOCK_ROWS", 3)
    kept = export.candidate_rows(state, where="x >= 4 and x < 8")
    assert [row["id"] for row in kept] == ["c4", "c5", "c6", "c7"]


@pytest.mark.parametrize("where", [None, "x >= 4", "x > 100"])
def test_the_streamed_json_is_the_document(where: str | None) -> None:
    frames = [
        {"type": "candidates_proposed", "iteration": 1,
         "candidates": [{"id": f"c{k}", "parameters": {"x": float(k)}} for k in range(10)]},
    ]  # fmt: skip
    state = fold(CampaignState("c"), frames)
    state.add_note(1, "line\nbreak \"quoted\"", 0.0)
    out = io.StringIO()
    count = export.write_json(state, out, where=where)
    document = export.export_document(state, where=where)
    assert json.loads(out.getvalue()) == json.loads(json.dumps(document))
    assert count == len(document["candidates"]) and list(json.loads(out.getvalue())) == list(document)


@settings(max_examples=40, deadline=None)
@given(st.lists(frame, min_size=1, max_size=12), st.booleans(), st.integers(1, 5))
def test_parquet_holds_the_rows_in_columns_of_one_type(
    frames: list[dict[str, Any]], front_only: bool, block_rows: int
) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    state = fold(CampaignState("c"), frames)
    out = io.BytesIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(export_rows, "BLOCK_ROWS", block_rows)
        patch.setattr(export_parquet, "GROUP_ROWS", 2 * block_rows)  # several row groups
        count = export.write_parquet(state, out, front_only=front_only)
    expected = view_rows(state, front_only)
    table = pq.read_table(io.BytesIO(out.getvalue()))
    assert count == table.num_rows == len(expected)
    assert table.column_names == export.columns(state)
    for name in table.column_names:
        assert table.column(name).to_pylist() == old_parquet_column([row[name] for row in expected]), name


def test_parquet_without_pyarrow_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # an import of it fails, as when not installed
    state = fold(CampaignState("c"), [{"type": "candidates_proposed", "iteration": 1, "candidates": [{"id": "a"}]}])
    with pytest.raises(UsageError, match=r"pip install 'materia-tui\[parquet\]'"):
        export.write_export(state, "parquet", "unused.parquet")
