"""The Parquet export: each column's type decided before the first row is written,
then row groups written as the column blocks come (never every row at once).

A parameter may mix numbers and text across candidates, and a Parquet column has
one type: a column of ints stays ints, ints and floats become floats, one other
kind (bools, text) stays itself, and any other mix is stored as text (``str``
of each value, as the export always did). The kinds are read from the store's
dictionary codes, for the rows exported. A column with no value at all is typed
by what it would hold (floats for a measurement), not Parquet's null type.
"""

from __future__ import annotations

from array import array
from collections.abc import Generator, Iterable, Iterator, Sequence
from typing import Any, Literal

from materia_tui.output.export_rows import BLOCK_ROWS, ColumnBlock
from materia_tui.state import CampaignState
from materia_tui.state.typed_columns import FLOAT_CODE, INT_CODE, ParameterColumn

GROUP_ROWS = 4 * BLOCK_ROWS  # rows a row group holds: its cells are Python values until written
Kind = Literal["string", "int", "float", "bool", "text"]  # "text": a mix, each value's str
_INT64 = (-(2**63), 2**63)
_FIXED: dict[str, Kind] = {
    "id": "string", "iteration": "int", "status": "string", "on_front": "bool",
    "feasible": "bool", "error": "string", "acquisition_value": "float", "notes": "string",
}  # fmt: skip


def column_kinds(
    state: CampaignState, header: Sequence[str], keep: Sequence[bool] | None, front_only: bool
) -> list[Kind]:
    """Each header column's kind, for the rows the export writes."""
    chosen: Any = None  # the exported rows, read only if a parameter holds codes
    kinds: list[Kind] = []
    for name in header:
        fixed = _FIXED.get(name)
        column = state.store.parameter_column(name[6:]) if name.startswith("param.") else None
        if fixed is not None:
            kinds.append(fixed)
        elif column is not None and column.codes is not None:
            if chosen is None:
                chosen = _chosen_rows(state, keep, front_only)
            kinds.append(_parameter_kind(column, column.codes, chosen))
        elif name.startswith("param."):
            kinds.append("float")  # numbers only, or a metadata parameter never sent
        else:
            kinds.append("float")  # predictions, uncertainties, measurements
    return kinds


def _chosen_rows(state: CampaignState, keep: Sequence[bool] | None, front_only: bool) -> Any:
    import numpy as np

    store = state.store
    count = len(store)
    chosen = np.ones(count, dtype=bool)
    if keep is not None:
        chosen[:] = False
        kept = np.asarray(keep[:count], dtype=bool)
        chosen[: len(kept)] = kept
    if front_only:
        chosen &= np.frombuffer(store.on_front, dtype=np.int8, count=count).astype(bool)
    return chosen


def _parameter_kind(column: ParameterColumn, codes_of_rows: array[int], chosen: Any) -> Kind:
    """A parameter column with dictionary codes (``codes_of_rows``): the kinds of the values exported."""
    import numpy as np

    count = len(chosen)
    codes = np.frombuffer(codes_of_rows, dtype=np.int32, count=count)[chosen]
    floats = np.frombuffer(column.floats, dtype=np.float64, count=count)[chosen]
    found: set[type] = set()
    if bool(((codes == FLOAT_CODE) & ~np.isnan(floats)).any()):
        found.add(float)
    if bool((codes == INT_CODE).any()):
        found.add(int)
    for code in np.unique(codes[codes >= 0]).tolist():
        value = column.choices[code]
        if type(value) is int and not _INT64[0] <= value < _INT64[1]:
            return "text"  # beyond Parquet's int64
        found.add(type(value))
    if found <= {int, float}:
        return "int" if found == {int} else "float"
    if found == {bool}:
        return "bool"
    return "string" if found == {str} else "text"


def write_groups(
    target: Any, header: Sequence[str], kinds: Sequence[Kind], blocks: Iterable[list[ColumnBlock]]
) -> Generator[int, None, None]:
    """Write ``blocks`` (the export's column blocks) as Parquet to ``target``, a row group
    at a time: yields the rows written so far, once the file is open, then after each group."""
    import pyarrow as pa  # type: ignore[import-not-found,import-untyped,unused-ignore]
    import pyarrow.parquet as pq  # type: ignore[import-not-found,import-untyped,unused-ignore]

    text = pa.string()
    types = {"string": text, "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "text": text}
    schema = pa.schema([(name, types[kind]) for name, kind in zip(header, kinds, strict=True)])
    count = 0
    with pq.ParquetWriter(target, schema) as writer:
        yield count
        for group in _groups(blocks):
            arrays = [
                pa.array(_as_text(column) if kind == "text" else column, type=field.type)
                for column, kind, field in zip(group, kinds, schema, strict=True)
            ]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            count += len(group[0])
            yield count


def _groups(blocks: Iterable[list[ColumnBlock]]) -> Iterator[list[ColumnBlock]]:
    """Blocks joined into groups of about ``GROUP_ROWS`` rows."""
    group: list[ColumnBlock] | None = None
    for block in blocks:
        if group is None:
            group = block
        else:
            for column, more in zip(group, block, strict=True):
                column += more
        if len(group[0]) >= GROUP_ROWS:
            yield group
            group = None
    if group is not None:
        yield group


def _as_text(column: ColumnBlock) -> ColumnBlock:
    return [None if value is None else str(value) for value in column]
