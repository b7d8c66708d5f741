"""Export of a synthetic campaign to CSV and JSON: columns, values, Pareto front, safety."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from materia_tui.errors import UsageError
from materia_tui.output.export import (
    candidate_rows,
    columns,
    csv_cell,
    parquet_available,
    write_csv,
    write_export,
    write_json,
    write_parquet,
)
from materia_tui.protocol import Rejected, parse_campaign, parse_object
from materia_tui.state import CampaignState
from tests.support.campaigns import campaign_events, campaign_meta

EXPECTED_COLUMNS = [
    "id",
    "iteration",
    "status",
    "on_front",
    "param.pore_size_nm",
    "param.polymer",
    "predicted.water_flux",
    "predicted.salt_rejection",
    "uncertainty.water_flux",
    "uncertainty.salt_rejection",
    "measured.water_flux",
    "measured.salt_rejection",
    "feasible",
    "error",
    "acquisition_value",
]


def fold(events: list[dict[str, Any]], meta: dict[str, Any] | None = None) -> CampaignState:
    campaign = parse_campaign(meta) if meta else None
    state = CampaignState(meta["id"] if meta else "camp-test", campaign)
    for raw in events:
        event = parse_object(raw)
        assert not isinstance(event, Rejected), event
        state.apply(event, 0.0)
    return state


@pytest.fixture
def state() -> CampaignState:
    return fold(campaign_events(3, iterations=4, batch=3), campaign_meta(iterations=4, batch=3))


def test_columns_are_exact_and_in_order(state: CampaignState) -> None:
    assert columns(state) == EXPECTED_COLUMNS
    rows = candidate_rows(state)
    assert all(list(row) == EXPECTED_COLUMNS for row in rows)


def test_rows_carry_every_candidate_value(state: CampaignState) -> None:
    events = campaign_events(3, iterations=4, batch=3)
    proposed = {c["id"]: c for e in events if e["type"] == "candidates_proposed" for c in e["candidates"]}
    results = {
        r["candidate_id"]: r for e in events if e["type"] == "candidates_evaluated" for r in e["results"]
    }
    rows = candidate_rows(state)
    assert [row["id"] for row in rows] == list(proposed)  # first-seen order
    for row in rows:
        cand, result = proposed[row["id"]], results[row["id"]]
        assert row["param.pore_size_nm"] == cand["parameters"]["pore_size_nm"]
        assert row["param.polymer"] == cand["parameters"]["polymer"]
        assert row["predicted.water_flux"] == cand["predicted"]["water_flux"]
        assert row["uncertainty.salt_rejection"] == cand["uncertainty"]["salt_rejection"]
        assert row["acquisition_value"] == cand["acquisition_value"]
        assert row["measured.water_flux"] == result["objectives"].get("water_flux")
        assert row["feasible"] == result.get("feasible", True)
        assert row["error"] == result.get("error")
        feasible_status = "evaluated" if result.get("feasible", True) else "infeasible"
        expected_status = "failed" if result.get("error") else feasible_status
        assert row["status"] == expected_status
        assert row["on_front"] == (row["id"] in state.front_ids())


def test_front_only_is_exactly_the_pareto_front(state: CampaignState) -> None:
    front = candidate_rows(state, front_only=True)
    assert front, "the synthetic campaign has a non-empty front"
    assert sorted(row["id"] for row in front) == sorted(state.front_ids())  # type: ignore[type-var]
    assert len(front) < len(candidate_rows(state))


def test_csv_round_trips_through_the_csv_module(state: CampaignState) -> None:
    out = io.StringIO()
    count = write_csv(state, out)
    parsed = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert count == len(parsed) == len(state.candidate_list)
    assert list(parsed[0]) == EXPECTED_COLUMNS
    first = candidate_rows(state)[0]
    assert parsed[0]["id"] == first["id"]
    assert float(parsed[0]["param.pore_size_nm"]) == first["param.pore_size_nm"]
    assert parsed[0]["on_front"] in ("true", "false")
    failed = [row for row in parsed if row["status"] == "failed"]
    assert all(row["measured.water_flux"] == "" and row["error"] for row in failed)


def test_csv_front_only_file(state: CampaignState, tmp_path: Path) -> None:
    path = tmp_path / "front.csv"
    count = write_csv(state, path, front_only=True)
    with path.open(newline="", encoding="utf-8") as handle:
        parsed = list(csv.DictReader(handle))
    assert count == len(parsed) == len(state.front_ids())
    assert all(row["on_front"] == "true" for row in parsed)


def test_json_export_document(state: CampaignState, tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    count = write_json(state, path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert count == len(doc["candidates"]) == len(state.candidate_list)
    assert doc["campaign_id"] == "camp-test"
    assert doc["columns"] == EXPECTED_COLUMNS
    assert doc["objectives"][0] == {"name": "water_flux", "direction": "maximize", "unit": "L/m2/h"}
    assert doc["front_only"] is False
    assert all(list(row) == EXPECTED_COLUMNS for row in doc["candidates"])
    assert doc["candidates"] == [dict(row) for row in candidate_rows(state)]


def test_proposed_but_unevaluated_candidates_have_no_measurement() -> None:
    events = campaign_events(1, iterations=1, batch=2)
    cut = next(i for i, e in enumerate(events) if e["type"] == "candidates_evaluated")
    rows = candidate_rows(fold(events[:cut], campaign_meta(iterations=1, batch=2)))
    assert [row["status"] for row in rows] == ["proposed", "proposed"]
    assert all(row["measured.water_flux"] is None and row["feasible"] is None for row in rows)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")"),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "\\x09cmd"),  # the tab is made visible, so nothing strips it to reach "cmd"
        ("PVDF", "PVDF"),
        ("a\x1b[31mred\x07", "a\\x1b[31mred\\x07"),
        (-2.5, "-2.5"),  # a number stays a number
        (True, "true"),
        (None, ""),
    ],
)
def test_csv_cells_are_inert(value: Any, expected: str) -> None:
    assert csv_cell(value) == expected


def test_hostile_names_and_values_cannot_become_formulas() -> None:
    meta = campaign_meta()
    meta["parameters"] = [{"name": "=cmd|' /C calc'!A0", "type": "categorical"}]
    events: list[dict[str, Any]] = [
        {"type": "iteration_started", "iteration": 1, "timestamp": "2026-01-01T00:00:00Z", "seq": 1},
        {
            "type": "candidates_proposed",
            "iteration": 1,
            "seq": 2,
            "candidates": [
                {"id": "@evil", "parameters": {"=cmd|' /C calc'!A0": "+SUM(1)", "polymer": "-1\r\n=2"}}
            ],
        },
        {
            "type": "candidates_evaluated",
            "iteration": 1,
            "seq": 3,
            "results": [{"candidate_id": "@evil", "objectives": {"water_flux": -3.0}, "error": "=bad\x00"}],
        },
    ]
    out = io.StringIO()
    write_csv(fold(events, meta), out)
    cells = [cell for row in csv.reader(io.StringIO(out.getvalue())) for cell in row]
    text_cells = [c for c in cells if c and not _is_number(c)]
    assert all(not c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in text_cells), text_cells
    assert "'@evil" in cells and "'+SUM(1)" in cells and "'=bad\\x00" in cells
    assert "'-1\\x0d\\x0a=2" in cells
    assert "-3.0" in cells  # negative measurements are still numbers
    assert all(not any(ord(ch) < 32 for ch in c) for c in cells)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_parquet_without_pyarrow_is_a_clear_usage_error(state: CampaignState, tmp_path: Path) -> None:
    if parquet_available():
        path = tmp_path / "out.parquet"
        assert write_parquet(state, path) == len(state.candidate_list)
        assert path.read_bytes()[:4] == b"PAR1"
        return
    with pytest.raises(UsageError, match="pyarrow"):
        write_export(state, "parquet", tmp_path / "out.parquet")


def test_empty_state_exports_headers_only() -> None:
    state = CampaignState("camp-empty")
    out = io.StringIO()
    assert write_csv(state, out) == 0
    assert out.getvalue() == "id,iteration,status,on_front,feasible,error,acquisition_value\n"
