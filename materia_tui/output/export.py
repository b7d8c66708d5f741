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
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from itertools import repeat
from pathlib import Path
from typing import IO, Any, Literal, TextIO, TypeAlias

from materia_tui.errors import UsageError
from materia_tui.output.export_rows import (
    ColumnBlock,
    ExportNames,
    column_blocks,
    export_names,
    notes_by_iteration,
    notes_column,
)
from materia_tui.sanitize import clean
from materia_tui.state import CampaignState

ExportFormat = Literal["csv", "json", "parquet"]
Steps: TypeAlias = Generator[int, None, None]  # a writer's steps: the rows written so far
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("csv", "json", "parquet")
Cell: TypeAlias = str | int | float | bool | None
Row: TypeAlias = dict[str, Cell]
Destination: TypeAlias = str | Path | IO[str]
BinaryDestination: TypeAlias = str | Path | IO[bytes]
Keep: TypeAlias = Sequence[bool]  # a bool per candidate row (a numpy bool array will do)

LEADING_COLUMNS = ("id", "iteration", "status", "on_front")
TRAILING_COLUMNS = ("feasible", "error", "acquisition_value")
# Only when the campaign has notes (``N`` in the monitor): the notes pinned to the
# candidate's iteration, joined by " | " (the JSON export also lists them whole under "notes").
NOTES_COLUMN = "notes"
# Cells the csv module writes as ``csv_cell`` would: None blank, ints and finite floats as
# ``str`` (which is ``repr`` for floats). The wire's numbers are finite.
_WRITTEN_AS_IS = {type(None), int, float}
_FLAGS = {type(None), bool}  # csv_cell writes a bool lowercase
# Characters a spreadsheet reads as the start of a formula (plus tab and CR,
# which some strip before looking).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# ----- rows -------------------------------------------------------------------


def parameter_names(state: CampaignState) -> list[str]:
    """Parameters in metadata order, then any others in order of first appearance."""
    return export_names(state).parameters


def objective_names(state: CampaignState) -> list[str]:
    """The state's objectives, then any only seen in predictions or uncertainties."""
    return export_names(state).objectives


def columns(state: CampaignState) -> list[str]:
    return _header(export_names(state), bool(state.notes))


def _header(names: ExportNames, notes: bool) -> list[str]:
    objectives = names.objectives
    return [
        *LEADING_COLUMNS,
        *(f"param.{name}" for name in names.parameters),
        *(f"predicted.{name}" for name in objectives),
        *(f"uncertainty.{name}" for name in objectives),
        *(f"measured.{name}" for name in objectives),
        *TRAILING_COLUMNS,
        *([NOTES_COLUMN] if notes else []),
    ]


def candidate_rows(state: CampaignState, *, front_only: bool = False, where: str | None = None) -> list[Row]:
    """Every candidate (or the Pareto front only) as flat rows with the same keys."""
    return list(iter_candidate_rows(state, front_only=front_only, where=where))


def iter_candidate_rows(
    state: CampaignState, *, front_only: bool = False, where: str | None = None
) -> Iterator[Row]:
    """The rows one at a time: a million candidates never exist as a million dicts."""
    names = export_names(state)
    header = _header(names, bool(state.notes))
    for block in _blocks(state, names, front_only, _where(state, where)):
        yield from _block_rows(header, block)


def _block_rows(header: list[str], block: list[ColumnBlock]) -> Iterator[Row]:
    """A block's rows as dicts keyed by the header."""
    return map(dict, map(zip, repeat(header), zip(*block, strict=True)))


def _blocks(
    state: CampaignState, names: ExportNames, front_only: bool, keep: Keep | None
) -> Iterator[list[ColumnBlock]]:
    """The column blocks of the chosen rows, the notes column last when there are notes."""
    notes = notes_by_iteration(state)
    for block in column_blocks(state, names, keep, front_only=front_only):
        if notes is not None:
            block.append(notes_column(block[1], notes))
        yield block


def _kept(state: CampaignState, where: str | None, keep: Keep | None) -> Keep | None:
    """The rows to write: ``keep`` when the caller matched them already (the monitor's
    ``/`` filter, whose mask it holds), else those ``where`` matches."""
    return keep if keep is not None else _where(state, where)


def _where(state: CampaignState, where: str | None) -> list[bool] | None:
    """Which rows match the ``--where`` expression (None: no expression)."""
    if where is None or not where.strip():
        return None
    from materia_tui.output.where import where_mask  # numpy: only when a filter is given

    keep: list[bool] = where_mask(state, where).tolist()
    return keep


# ----- writers ----------------------------------------------------------------


def write_csv(
    state: CampaignState, destination: Destination, *, front_only: bool = False, where: str | None = None
) -> int:
    """Write the rows as CSV, safe to open in a spreadsheet. Returns the row count."""
    return _last(csv_steps(state, destination, front_only=front_only, where=where))


def csv_steps(
    state: CampaignState,
    destination: Destination,
    *,
    front_only: bool = False,
    where: str | None = None,
    keep: Keep | None = None,
) -> Steps:
    """``write_csv`` a block of rows at a time: yields the rows written so far after each."""
    names = export_names(state)
    keep = _kept(state, where, keep)
    count = 0
    with _text_output(destination) as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([csv_cell(name) for name in _header(names, bool(state.notes))])
        yield count
        for block in _blocks(state, names, front_only, keep):
            rows = list(zip(*map(_csv_column, block), strict=True))
            writer.writerows(rows)
            count += len(rows)
            yield count


def _last(steps: Iterator[int]) -> int:
    """Run the steps of a writer to the end: the rows it wrote."""
    count = 0
    for count in steps:  # noqa: B007 (the last one is the total)
        pass
    return count


def _csv_column(values: ColumnBlock) -> ColumnBlock:
    """A block's column as CSV cells: numbers and blanks as the csv module writes them
    (``csv_cell``'s own output), anything else through ``csv_cell``, each distinct
    value once."""
    kinds = set(map(type, values))
    if kinds <= _WRITTEN_AS_IS:
        return values
    if kinds <= _FLAGS:
        return [None if value is None else ("true" if value else "false") for value in values]
    if kinds == {str} and len(values) > 64 and len(set(values)) * 4 < len(values):
        cells = {value: csv_cell(value) for value in set(values)}  # e.g. a categorical column
        return [cells[value] for value in values]
    return [csv_cell(value) for value in values]


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
    head, tail = _document_parts(state, export_names(state), front_only, where)
    rows = [_json_safe_row(row) for row in candidate_rows(state, front_only=front_only, where=where)]
    return {**head, "candidates": rows, **tail}


def _document_parts(
    state: CampaignState, names: ExportNames, front_only: bool, where: str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON export's keys before its rows, and after them."""
    meta = state.metadata
    head: dict[str, Any] = {
        "campaign_id": state.campaign_id,
        "name": state.name,
        "status": state.status,
        "objectives": [
            {"name": name, "direction": state.directions.get(name, "maximize"), "unit": state.units.get(name)}
            for name in names.objectives
        ],
        "max_iterations": meta.max_iterations if meta else None,
        "front_only": front_only,
        "columns": _header(names, bool(state.notes)),
    }
    tail: dict[str, Any] = {}
    if where is not None:
        tail["where"] = where
    if state.notes:
        tail["notes"] = [
            {"iteration": note.iteration, "text": note.text, "at": note.at} for note in state.notes
        ]
    return head, tail


def write_json(
    state: CampaignState, destination: Destination, *, front_only: bool = False, where: str | None = None
) -> int:
    """Write the JSON export (strict JSON: no NaN tokens), one candidate a line, as the
    rows come: ``export_document``'s document, never held whole. Returns the row count."""
    return _last(json_steps(state, destination, front_only=front_only, where=where))


def json_steps(
    state: CampaignState,
    destination: Destination,
    *,
    front_only: bool = False,
    where: str | None = None,
    keep: Keep | None = None,
) -> Steps:
    """``write_json`` a block of rows at a time: yields the rows written so far after each."""
    names = export_names(state)
    head, tail = _document_parts(state, names, front_only, where)
    header = head["columns"]
    dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
    count = 0
    with _text_output(destination) as out:
        out.write(_json_text(head)[:-2])  # the head's keys, its closing "\n}" left off
        out.write(',\n  "candidates": [')
        yield count
        for block in _blocks(state, names, front_only, _kept(state, where, keep)):
            for row in _block_rows(header, block):
                out.write(",\n    " if count else "\n    ")
                out.write(dumps(_json_safe_row(row)))
                count += 1
            yield count
        out.write("\n  ]" if count else "]")
        for key, value in tail.items():
            out.write(f",\n  {json.dumps(key)}: " + _json_text(value).replace("\n", "\n  "))
        out.write("\n}\n")


def _json_text(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)


PARQUET_INSTALL = "pip install 'materia-tui[parquet]'"  # the extra that brings pyarrow


def parquet_available() -> bool:
    try:
        import pyarrow  # type: ignore[import-not-found,import-untyped,unused-ignore]  # noqa: F401
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
    return _last(parquet_steps(state, destination, front_only=front_only, where=where))


def parquet_steps(
    state: CampaignState,
    destination: BinaryDestination,
    *,
    front_only: bool = False,
    where: str | None = None,
    keep: Keep | None = None,
) -> Steps:
    """``write_parquet`` a row group at a time: yields the rows written so far after each."""
    if not parquet_available():
        raise UsageError(
            f"Parquet export needs pyarrow, which is not installed: {PARQUET_INSTALL} "
            "(or use --format csv or json)."
        )
    from materia_tui.output.export_parquet import column_kinds, write_groups

    names = export_names(state)
    header = _header(names, bool(state.notes))
    keep = _kept(state, where, keep)
    kinds = column_kinds(state, header, keep, front_only)
    target = str(destination) if isinstance(destination, str | Path) else destination
    yield from write_groups(target, header, kinds, _blocks(state, names, front_only, keep))


def write_export(
    state: CampaignState,
    fmt: ExportFormat,
    destination: str | Path | None,
    *,
    front_only: bool = False,
    where: str | None = None,
) -> int:
    """Write ``fmt`` to ``destination`` (stdout when None). Returns the row count."""
    return _last(export_steps(state, fmt, destination, front_only=front_only, where=where))


def export_steps(
    state: CampaignState,
    fmt: ExportFormat,
    destination: str | Path | None,
    *,
    front_only: bool = False,
    where: str | None = None,
    keep: Keep | None = None,
) -> Steps:
    """``write_export`` a block of rows at a time (a caller may do other work between two
    steps): yields the rows written so far, first once the output is open, then after each
    block; the last value is the total."""
    text_target: Destination = destination if destination is not None else sys.stdout
    if fmt == "csv":
        return csv_steps(state, text_target, front_only=front_only, where=where, keep=keep)
    if fmt == "json":
        return json_steps(state, text_target, front_only=front_only, where=where, keep=keep)
    if fmt == "parquet":
        if destination is None and sys.stdout.isatty():
            raise UsageError("Parquet is binary: give a file with -o FILE, or redirect stdout.")
        binary: BinaryDestination = destination if destination is not None else sys.stdout.buffer
        return parquet_steps(state, binary, front_only=front_only, where=where, keep=keep)
    raise UsageError(f"Unknown export format {fmt!r} (choose from {', '.join(EXPORT_FORMATS)}).")


def _json_safe_row(row: Row) -> Row:
    return {
        key: (None if isinstance(value, float) and not math.isfinite(value) else value)
        for key, value in row.items()
    }


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
