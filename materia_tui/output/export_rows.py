"""The export's rows, read from the columnar store a block of rows at a time.

Reading each candidate through its view (``state.candidate_list``) cost ~45 us a
row: an export of 100,000 candidates took 4.6 s as CSV, and the JSON export,
which built every row first, held ~2 KB a candidate (a million: minutes and
gigabytes). Here each column is sliced once per block (``BLOCK_ROWS`` rows) and
turned into Python values in one pass, so a block is a list of columns: the
writers convert cells a column at a time and never hold more than a block.

A row's value for a name its candidate does not have is None: the store keeps
NaN there (the wire's numbers are finite, so NaN only ever means "absent"),
and an objective's measurement counts only once the candidate was evaluated.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import compress
from typing import Any, TypeAlias

from materia_tui.state import CampaignState
from materia_tui.state.store import NO_ITERATION, SECTIONS, STATUSES, CandidateStore
from materia_tui.state.typed_columns import FLOAT_CODE, INT_CODE, ParameterColumn

BLOCK_ROWS = 4096
Cell: TypeAlias = str | int | float | bool | None
ColumnBlock: TypeAlias = list[Any]  # one column's cells for the rows of a block
PROPOSED = STATUSES.index("proposed")


@dataclass(frozen=True, slots=True)
class ExportNames:
    """The names the export's columns are made of, in their order."""

    parameters: list[str]
    objectives: list[str]


def export_names(state: CampaignState) -> ExportNames:
    """Parameters in metadata order, then the others in order of first appearance (by
    row, then the order a candidate lists them); the state's objectives, then any only
    seen in predictions, uncertainties or measurements, likewise. Every row of a layout
    lists the same names, so the layouts in use, by their first row, say it all."""
    store = state.store
    layouts = store.layouts
    parameters: list[str] = [p.name for p in state.metadata.parameters] if state.metadata else []
    objectives = list(state.objectives)
    for layout in _layouts_by_first_row(store):
        keys = layouts[layout].keys
        _add_new(parameters, keys[0])
        _add_new(objectives, (*keys[1], *keys[2], *keys[3]))
    return ExportNames(parameters, objectives)


def _layouts_by_first_row(store: CandidateStore) -> list[int]:
    count = len(store)
    if count < BLOCK_ROWS:
        return list(dict.fromkeys(store.row_layouts[:count]))
    import numpy as np  # a million rows: where the layout changes, found in C

    layouts = np.frombuffer(store.row_layouts, dtype=np.uint32, count=count)
    changes = np.flatnonzero(layouts[1:] != layouts[:-1]) + 1  # rows share layouts in runs
    return list(dict.fromkeys([int(layouts[0]), *layouts[changes].tolist()]))


def _add_new(names: list[str], found: Sequence[str]) -> None:
    for name in found:
        if name not in names:
            names.append(name)


def column_blocks(
    state: CampaignState, names: ExportNames, keep: Sequence[bool] | None = None, *, front_only: bool = False
) -> Iterator[list[ColumnBlock]]:
    """The export's columns (in ``export.columns`` order, without the notes column) for
    each block of rows that ``front_only`` and ``keep`` (by row) let through."""
    store = state.store
    count = len(store)
    for start in range(0, count, BLOCK_ROWS):
        stop = min(count, start + BLOCK_ROWS)
        mask = _block_mask(store, start, stop, keep, front_only)
        if mask is not None and not any(mask):
            continue
        block = _block(store, names, start, stop)
        yield block if mask is None else [list(compress(column, mask)) for column in block]


def _block_mask(
    store: CandidateStore, start: int, stop: int, keep: Sequence[bool] | None, front_only: bool
) -> list[bool] | None:
    if keep is None and not front_only:
        return None
    mask = list(map(bool, keep[start:stop])) if keep is not None else [True] * (stop - start)
    mask += [False] * (stop - start - len(mask))  # rows past a shorter ``keep``: not kept
    if front_only:
        mask = [k and bool(f) for k, f in zip(mask, store.on_front[start:stop], strict=True)]
    return mask


def _block(store: CandidateStore, names: ExportNames, start: int, stop: int) -> list[ColumnBlock]:
    status = store.status[start:stop]
    proposed = [code == PROPOSED for code in status]
    sections = store.sections
    errors = store.errors
    block: list[ColumnBlock] = [
        store.ids[start:stop],
        [None if value == NO_ITERATION else value for value in store.iterations[start:stop]],
        [STATUSES[code] for code in status],
        [bool(value) for value in store.on_front[start:stop]],
    ]
    block += [_parameter(sections[0].get(name), start, stop) for name in names.parameters]
    for section in (SECTIONS.index("pred"), SECTIONS.index("unc")):
        block += [_floats(sections[section].get(name), start, stop) for name in names.objectives]
    measured = SECTIONS.index("obj")
    for name in names.objectives:
        values = _floats(sections[measured].get(name), start, stop)
        block.append([None if no else value for no, value in zip(proposed, values, strict=True)])
    feasible = store.feasible[start:stop]
    block.append([None if no else bool(value) for no, value in zip(proposed, feasible, strict=True)])
    block.append([errors.get(row) for row in range(start, stop)] if errors else [None] * (stop - start))
    block.append(_present(store.acquisition, start, stop))
    return block


def _floats(column: Any, start: int, stop: int) -> ColumnBlock:
    if column is None:
        return [None] * (stop - start)
    return _present(column.floats, start, stop)


def _present(values: array[float], start: int, stop: int) -> ColumnBlock:
    """The block's values, None where NaN (absent)."""
    return [None if value != value else value for value in values[start:stop].tolist()]


def _parameter(column: Any, start: int, stop: int) -> ColumnBlock:
    if not isinstance(column, ParameterColumn):
        return [None] * (stop - start)
    if column.codes is None:
        return _present(column.floats, start, stop)
    choices = column.choices
    floats = column.floats[start:stop].tolist()
    codes = column.codes[start:stop].tolist()
    return [_decoded(value, code, choices) for value, code in zip(floats, codes, strict=True)]


def _decoded(value: float, code: int, choices: list[Any]) -> Cell:
    """A parameter's cell, as ``ParameterColumn.get`` reads it (NaN: absent)."""
    if code == FLOAT_CODE:
        return None if value != value else value
    return int(value) if code == INT_CODE else choices[code]


def notes_by_iteration(state: CampaignState) -> dict[int | None, str] | None:
    """Each iteration's notes joined by " | " (None: the campaign has no notes)."""
    if not state.notes:
        return None
    texts: dict[int | None, list[str]] = {}
    for note in state.notes:
        texts.setdefault(note.iteration, []).append(note.text)
    return {iteration: " | ".join(found) for iteration, found in texts.items()}


def notes_column(iterations: ColumnBlock, notes: dict[int | None, str]) -> ColumnBlock:
    """The notes column of a block, from its iteration column."""
    return [notes.get(iteration) or None for iteration in iterations]


