"""The export's rows as it read them before it read columns: each candidate through its
view (``state.candidate_list``). The oracle of tests/unit/test_export_rows.py, and the
"before" of bench_scale.py's export rows."""

from __future__ import annotations

from typing import Any

from materia_tui.state import CampaignState


def view_names(state: CampaignState, limit: int | None = None) -> tuple[list[str], list[str]]:
    """Parameter and objective names as a scan of every candidate's view finds them."""
    parameters = [p.name for p in state.metadata.parameters] if state.metadata else []
    objectives = list(state.objectives)
    for cand in state.candidate_list[:limit]:
        for name in cand.parameters:
            if name not in parameters:
                parameters.append(name)
        for name in (*cand.predicted, *cand.uncertainty, *cand.objectives):
            if name not in objectives:
                objectives.append(name)
    return parameters, objectives


def view_row(cand: Any, parameters: list[str], objectives: list[str], notes: dict[Any, list[str]]) -> dict[str, Any]:
    """One candidate's row read through its view, as the export read it before."""
    measured = cand.status != "proposed"
    row = {"id": cand.id, "iteration": cand.iteration, "status": cand.status, "on_front": cand.on_front}
    row |= {f"param.{name}": cand.parameters.get(name) for name in parameters}
    row |= {f"predicted.{name}": cand.predicted.get(name) for name in objectives}
    row |= {f"uncertainty.{name}": cand.uncertainty.get(name) for name in objectives}
    row |= {f"measured.{name}": cand.objectives.get(name) if measured else None for name in objectives}
    row |= {"feasible": cand.feasible if measured else None, "error": cand.error}
    row["acquisition_value"] = cand.acquisition_value
    if notes:
        row["notes"] = " | ".join(notes.get(cand.iteration, [])) or None
    return row


def view_rows(state: CampaignState, front_only: bool = False, limit: int | None = None) -> list[dict[str, Any]]:
    """Every row (the front's only; the first ``limit`` candidates' only)."""
    parameters, objectives = view_names(state, limit)
    notes: dict[Any, list[str]] = {}
    for note in state.notes:
        notes.setdefault(note.iteration, []).append(note.text)
    return [
        view_row(cand, parameters, objectives, notes)
        for cand in state.candidate_list[:limit]
        if cand.on_front or not front_only
    ]


def old_parquet_column(values: list[Any]) -> list[Any]:
    """What the export stored per column before: one kind stays itself, ints with
    floats are floats, any other mix is text."""
    kinds = {type(v) for v in values if v is not None}
    if kinds <= {int, float} or len(kinds) <= 1:
        return values
    return [None if v is None else str(v) for v in values]
