"""Export a campaign's candidates to CSV, JSON or Parquet.

One row per candidate, in the order candidates were first seen: id,
iteration, status, Pareto membership, each parameter (``param.<name>``),
each objective's prediction, uncertainty and measurement
(``predicted.<obj>``, ``uncertainty.<obj>``, ``measured.<obj>``), then
feasible, error and acquisition value.

Every name and string value comes from the network, so the CSV writer makes
them inert for spreadsheets: control characters are made visible (see
``materia_tui.sanitize``) and a cell that starts like a formula gets a
leading apostrophe (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import json
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Literal, TextIO, TypeAlias

from materia_tui.errors import UsageError
from materia_tui.sanitize import clean
from materia_tui.state import CampaignState, CandidateLike

ExportFormat = Literal["csv", "json", "parquet"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("csv", "json", "parquet")
Cell: TypeAlias = str | int | float | bool | None
Row: TypeAlias = dict[str, Cell]
Destination: TypeAlias = str | Path | IO[str]
BinaryDestination: TypeAlias = str | Path | IO[bytes]

LEADING_COLUMNS = ("id", "iteration", "status", "on_front")
TRAILING_COLUMNS = ("feasible", "error", "acquisition_value")
# Only when the campaign has notes (``N`` in the monitor): the notes pinned to the
# candidate's iteration, joined by " | " (the JSON export also lists them whole under "notes").
NOTES_COLUMN = "notes"
# Characters a spreadsheet reads as the start of a formula (plus tab and CR,
# which some strip before looking).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# ----- rows -------------------------------------------------------------------


def parameter_names(state: CampaignState) -> list[str]:
    """Parameters in metadata order, then any others in order of first appearance."""
    names: list[str] = [p.name for p in state.metadata.parameters] if state.metadata else []
    seen = set(names)
    for cand in state.candidate_list:
        for name in cand.parameters:
            if name not in seen:
                seen.add(name)
                names.append(name)
    return names


def objective_names(state: CampaignState) -> list[str]:
    """The state's objectives, then any only seen in predictions or uncertainties."""
    names = list(state.objectives)
    seen = set(names)
    for cand in state.candidate_list:
        for name in (*cand.predicted, *cand.uncertainty, *cand.objectives):
            if name not in seen:
                seen.add(name)
                names.append(name)
    return names


def columns(state: CampaignState) -> list[str]:
    objectives = objective_names(state)
    notes = [NOTES_COLUMN] if state.notes else []
    return [
        *LEADING_COLUMNS,
        *(f"param.{name}" for name in parameter_names(state)),
        *(f"predicted.{name}" for name in objectives),
        *(f"uncertainty.{name}" for name in objectives),
        *(f"measured.{name}" for name in objectives),
        *TRAILING_COLUMNS,
        *notes,
    ]


def candidate_rows(state: CampaignState, *, front_only: bool = False, where: str | None = None) -> list[Row]:
    """Every candidate (or the Pareto front only) as flat rows with the same keys."""
    return list(iter_candidate_rows(state, front_only=front_only, where=where))


def iter_candidate_rows(
    state: CampaignState, *, front_only: bool = False, where: str | None = None
) -> Iterator[Row]:
    """The rows one at a time: a million candidates never exist as a million dicts."""
    params = parameter_names(state)
    objectives = objective_names(state)
    keep = _where(state, where)
    notes: dict[int | None, list[str]] | None = None
    if state.notes:
        notes = {}
        for note in state.notes:
            notes.setdefault(note.iteration, []).append(note.text)
    for cand in state.candidate_list:
        if (cand.on_front or not front_only) and (keep is None or keep[cand.row]):
            row = _row(cand, params, objectives)
            if notes is not None:
                iteration = row["iteration"]
                texts = notes.get(iteration if isinstance(iteration, int) else None, [])
                row[NOTES_COLUMN] = " | ".join(texts) or None
            yield row


def _where(state: CampaignState, where: str | None) -> list[bool] | None:
    """Which rows match the ``--where`` expression (None: no expression)."""
    if where is None or not where.strip():
        return None
    from materia_tui.output.where import where_mask  # numpy: only when a filter is given

    keep: list[bool] = where_mask(state, where).tolist()
    return keep


def _row(cand: CandidateLike, params: list[str], objectives: list[str]) -> Row:
    row: Row = {
        "id": cand.id,
        "iteration": cand.iteration,
        "status": cand.status,
        "on_front": cand.on_front,
    }
    for name in params:
        row[f"param.{name}"] = cand.parameters.get(name)
    for name in objectives:
        row[f"predicted.{name}"] = cand.predicted.get(name)
    for name in objectives:
        row[f"uncertainty.{name}"] = cand.uncertainty.get(name)
    for name in objectives:
        # Only a completed measurement counts; a failed evaluation has none.
        row[f"measured.{name}"] = cand.objectives.get(name) if cand.status != "proposed" else None
    row["feasible"] = cand.feasible if cand.status != "proposed" else None
    row["error"] = cand.error
    row["acquisition_value"] = cand.acquisition_value
    return row


# ----- writers ----------------------------------------------------------------


def write_csv(
    state: CampaignState, destination: Destination, *, front_only: bool = False, where: str | None = None
) -> int:
    """Write the rows as CSV, safe to open in a spreadsheet. Returns the row count."""
    header = columns(state)
    count = 0
    with _text_output(destination) as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([csv_cell(name) for name in header])
        for row in iter_candidate_rows(state, front_only=front_only, where=where):
            writer.writerow([csv_cell(row[name]) for name in header])
            count += 1
    return count


def csv_cell(value: Cell) -> str:
    """One CSV cell: numbers as Python writes them, booleans lowercase, text made inert."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) and math.isfinite(value) else str(value)
    text = clean(value)
    if text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def export_document(
    state: CampaignState, *, front_only: bool = False, where: str | None = None
) -> dict[str, Any]:
    """The JSON export: campaign facts, the column list, and the rows."""
    meta = state.metadata
    document: dict[str, Any] = {
        "campaign_id": state.campaign_id,
        "name": state.name,
        "status": state.status,
        "objectives": [
            {"name": name, "direction": state.directions.get(name, "maximize"), "unit": state.units.get(name)}
            for name in objective_names(state)
        ],
        "max_iterations": meta.max_iterations if meta else None,
        "front_only": front_only,
        "columns": columns(state),
        "candidates": [
            _json_safe_row(row) for row in candidate_rows(state, front_only=front_only, where=where)
        ],
    }
    if where is not None:
        document["where"] = where
    if state.notes:
        document["notes"] = [
            {"iteration": note.iteration, "text": note.text, "at": note.at} for note in state.notes
        ]
    return document


def write_json(
    state: CampaignState, destination: Destination, *, front_only: bool = False, where: str | None = None
) -> int:
    """Write the JSON export (strict JSON: no NaN tokens). Returns the row count."""
    document = export_document(state, front_only=front_only, where=where)
    with _text_output(destination) as out:
        json.dump(document, out, indent=2, ensure_ascii=False, allow_nan=False)
        out.write("\n")
    return len(document["candidates"])


PARQUET_INSTALL = "pip install 'materia-tui[parquet]'"  # the extra that brings pyarrow


def parquet_available() -> bool:
    try:
        import pyarrow  # type: ignore[import-not-found,unused-ignore]  # noqa: F401
    except ImportError:
        return False
    return True


def write_parquet(
    state: CampaignState,
    destination: BinaryDestination,
    *,
    front_only: bool = False,
    where: str | None = None,
) -> int:
    """Write a Parquet file (needs pyarrow). Returns the row count."""
    try:
        import pyarrow as pa  # type: ignore[import-not-found,unused-ignore]
        import pyarrow.parquet as pq  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise UsageError(
            f"Parquet export needs pyarrow, which is not installed: {PARQUET_INSTALL} "
            "(or use --format csv or json)."
        ) from None
    header = columns(state)
    rows = candidate_rows(state, front_only=front_only, where=where)
    # Parameter columns may mix numbers and text across candidates; Parquet
    # columns have one type, so a mixed column is stored as text.
    data = {name: _parquet_column([row[name] for row in rows]) for name in header}
    table = pa.table(data)
    target = str(destination) if isinstance(destination, str | Path) else destination
    pq.write_table(table, target)
    return len(rows)


def write_export(
    state: CampaignState,
    fmt: ExportFormat,
    destination: str | Path | None,
    *,
    front_only: bool = False,
    where: str | None = None,
) -> int:
    """Write ``fmt`` to ``destination`` (stdout when None). Returns the row count."""
    text_target: Destination = destination if destination is not None else sys.stdout
    if fmt == "csv":
        return write_csv(state, text_target, front_only=front_only, where=where)
    if fmt == "json":
        return write_json(state, text_target, front_only=front_only, where=where)
    if fmt == "parquet":
        if destination is None and sys.stdout.isatty():
            raise UsageError("Parquet is binary: give a file with -o FILE, or redirect stdout.")
        binary: BinaryDestination = destination if destination is not None else sys.stdout.buffer
        return write_parquet(state, binary, front_only=front_only, where=where)
    raise UsageError(f"Unknown export format {fmt!r} (choose from {', '.join(EXPORT_FORMATS)}).")


def _json_safe_row(row: Row) -> Row:
    return {
        key: (None if isinstance(value, float) and not math.isfinite(value) else value)
        for key, value in row.items()
    }


def _parquet_column(values: list[Cell]) -> list[Cell]:
    kinds = {type(v) for v in values if v is not None}
    if kinds <= {int, float} or len(kinds) <= 1:
        return values
    return [None if v is None else str(v) for v in values]


@contextmanager
def _text_output(destination: Destination) -> Iterator[TextIO | IO[str]]:
    if isinstance(destination, str | Path):
        # newline="" lets the csv module choose line endings itself.
        with Path(destination).open("w", encoding="utf-8", newline="") as handle:
            yield handle
    else:
        yield destination
        destination.flush()


__all__ = [
    "EXPORT_FORMATS",
    "PARQUET_INSTALL",
    "ExportFormat",
    "candidate_rows",
    "columns",
    "csv_cell",
    "export_document",
    "parquet_available",
    "write_csv",
    "write_export",
    "write_json",
    "write_parquet",
]
