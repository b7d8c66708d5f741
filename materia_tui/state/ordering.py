"""Row orders and row filters over the columnar store: what the candidate table shows.

The order of a column is the table's order of cell values (``value_key``:
numbers, then strings, then blanks; ``reverse`` is a stable descending sort,
blanks first), computed from the store's columns without a Python object per
candidate. Large stores are sorted with numpy (imported on the first large
sort, never at start-up: a ``lexsort`` of key arrays, each negated for a
descending order); small ones in pure Python, with the same result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from materia_tui.state.store import NO_ITERATION, STATUSES, CandidateStore
from materia_tui.state.typed_columns import FLOAT_CODE, INT_CODE, ParameterColumn

if TYPE_CHECKING:
    import numpy.typing as npt

FilterMode = Literal["all", "pareto", "iteration", "problems"]
NUMPY_ROWS = 20_000  # from this many rows on, sorting and filtering use numpy
MAX_ID_KEY_BYTES = 64  # longer ids sort in Python: the keys are rows x the longest id's bytes
SortValue = tuple[int, float, str]
_STATUS_RANK = {name: rank for rank, name in enumerate(sorted(STATUSES))}
_PROBLEMS = (STATUSES.index("infeasible"), STATUSES.index("failed"))
Rows = Sequence[int]


def value_key(value: object) -> SortValue:
    """A total order over mixed cell values: numbers, then strings, then blanks."""
    if value is None or value != value:  # NaN: a float column's blank
        return (2, 0.0, "")
    if isinstance(value, str):
        return (1, 0.0, value)
    return (0, float(value), "")  # type: ignore[arg-type]


def filter_rows(store: CandidateStore, mode: FilterMode, front_ids: list[str], iteration: int) -> Rows:
    """The rows a filter keeps, in row order."""
    count = len(store)
    if mode == "all":
        return range(count)
    if mode == "pareto":
        index = store.index
        return sorted(index[key] for key in front_ids)
    big = count >= NUMPY_ROWS
    if mode == "iteration":
        if big:
            return _numpy().flatnonzero(_as_numpy(store.iterations) == iteration)  # type: ignore[no-any-return]
        return [row for row, it in enumerate(store.iterations) if it == iteration]
    if big:
        status = _as_numpy(store.status)
        return _numpy().flatnonzero(status >= min(_PROBLEMS))  # type: ignore[no-any-return]
    return [row for row, code in enumerate(store.status) if code in _PROBLEMS]


def sort_rows(store: CandidateStore, key: str, rows: Rows, reverse: bool = False) -> Rows:
    """``rows`` ordered by column ``key`` (a table column key: ``id``, ``iteration``,
    ``status``, ``pareto``, ``acquisition``, ``obj:``/``pred:``/``param:`` + name)."""
    if len(rows) >= NUMPY_ROWS:
        return _numpy_sort(store, key, rows, reverse)  # type: ignore[no-any-return]
    python_key = _python_key(store, key, rows)
    return sorted(rows, key=python_key, reverse=reverse)


def _id_key(store: CandidateStore, rows: Rows) -> Callable[[int], str]:
    """row -> id for the rows of a sort, read at C speed: most of the store's ids are
    packed, and a Python-level ``ids[row]`` per row would cost more than the sort."""
    ids = store.ids
    if len(rows) * 8 >= len(ids):
        return ids.materialized().__getitem__  # one split per packed chunk
    picked = [int(row) for row in rows]
    return dict(zip(picked, ids.take(picked), strict=True)).__getitem__


def _python_key(store: CandidateStore, key: str, rows: Rows) -> Any:
    if key == "id":
        return _id_key(store, rows)
    if key == "iteration":
        iterations = store.iterations
        return lambda row: max(0, iterations[row])  # the table's "iteration or 0"
    if key == "status":
        status = store.status
        return lambda row: _STATUS_RANK[STATUSES[status[row]]]
    if key == "pareto":
        return store.on_front.__getitem__
    if key.startswith("param:"):
        column = store.parameter_column(key[6:])
        if column is None:
            return lambda row: 0
        get = column.get  # an absent parameter reads as NaN: a blank
        return lambda row: value_key(get(row))
    floats = store.acquisition if key == "acquisition" else store.float_column(key)
    if floats is None:
        return lambda row: 0
    return lambda row: value_key(floats[row])


# ----- numpy ---------------------------------------------------------------------------------


def _numpy() -> Any:
    import numpy

    return numpy


def _as_numpy(values: Any) -> npt.NDArray[Any]:
    """A zero-copy numpy view of an ``array.array`` (or a copy of a list)."""
    np = _numpy()
    if hasattr(values, "typecode"):
        return np.frombuffer(values, dtype=np.dtype(values.typecode))  # type: ignore[no-any-return]
    return np.asarray(values)  # type: ignore[no-any-return]


def _numpy_sort(store: CandidateStore, key: str, rows: Rows, reverse: bool) -> Any:
    if key == "id":
        order = _id_order(store, rows)
        if order is None:  # Python's own string order; timsort is quick on ids that arrive in runs
            return sorted(rows, key=_id_key(store, rows), reverse=reverse)
        return order[::-1] if reverse else order  # ids are unique: no ties for a stable sort to keep
    np = _numpy()
    everything = isinstance(rows, range) and rows == range(len(store))
    picked = None if everything else np.asarray(rows, dtype=np.intp)

    def take(values: Any) -> npt.NDArray[Any]:
        array = _as_numpy(values)
        return array if picked is None else array[picked]

    floats = _plain_floats(store, key)
    if floats is not None:
        order = _float_order(take(floats), reverse)
        return order if picked is None else picked[order]
    keys = _numpy_keys(store, key, take, picked)
    if reverse:
        keys = [-k for k in keys]
    order = np.lexsort(tuple(reversed(keys))) if keys else np.arange(len(rows))
    return order if picked is None else picked[order]


def _plain_floats(store: CandidateStore, key: str) -> Any:
    """The float array behind a column whose order is its numbers' (NaN: blank), or None."""
    if key == "acquisition":
        return store.acquisition
    if key.startswith(("obj:", "pred:", "unc:", "param:")):
        return store.float_column(key)  # None for a parameter column holding categories
    return None


def _float_order(values: Any, reverse: bool) -> Any:
    """A stable order of floats, blanks (NaN) last, or, reversed, blanks first then
    descending: what Python's stable ``sort(reverse=...)`` gives over ``value_key``."""
    np = _numpy()
    blank = np.isnan(values)
    if not reverse:
        return np.argsort(values, kind="stable")  # numpy sorts NaN last
    if not blank.any():
        return np.argsort(-values, kind="stable")
    present = np.flatnonzero(~blank)
    return np.concatenate((np.flatnonzero(blank), present[np.argsort(-values[present], kind="stable")]))


def _numpy_keys(store: CandidateStore, key: str, take: Any, picked: Any) -> list[Any]:
    """Key arrays, the first one primary, all numeric (so that negating one reverses it)."""
    np = _numpy()
    if key == "iteration":
        return [np.maximum(take(store.iterations).astype(np.int64), 0)]
    if key == "status":
        table = np.array([_STATUS_RANK[name] for name in STATUSES], dtype=np.int64)
        return [table[take(store.status)]]
    if key == "pareto":
        return [take(store.on_front).astype(np.int64)]
    if key.startswith("param:"):
        column = store.parameter_column(key[6:])
        if column is None:
            return []
        if column.codes is not None:
            return _categorical_keys(column, take)
        floats = take(column.floats)
    else:
        source = store.acquisition if key == "acquisition" else store.float_column(key)
        if source is None:
            return []
        floats = take(source)
    blank = np.isnan(floats)
    return [blank.astype(np.int64) * 2, np.where(blank, 0.0, floats)]


def _id_order(store: CandidateStore, rows: Rows) -> Any:
    """``rows`` in the order of their ids as Python orders strs (by code point), or None
    when the ids do not suit: one holds NUL, or one is longer than ``MAX_ID_KEY_BYTES``.

    Each id becomes a fixed-width NUL-padded key of its UTF-8 bytes (UTF-8 keeps the
    code point order, and a shorter id padded with NULs sorts before its extensions, as
    in Python), written one byte column at a time from the ids' joined text, then
    argsorted. At a million candidates ``sorted()`` over the materialized ids held ~116
    MB of temporaries (a str and an int object per row); this holds the text, the keys
    and a few int32 arrays: about 4 + 10 bytes a row plus the ids' length."""
    np = _numpy()
    everything = isinstance(rows, range) and rows == range(len(store))
    text = store.ids.joined(None if everything else rows)
    if text is None:
        return None
    data = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    del text
    count = len(rows)
    offsets = np.int32 if len(data) < 2**31 else np.int64
    starts = np.zeros(count, dtype=offsets)
    starts[1:] = np.flatnonzero(data == 0) + 1
    lengths = np.empty(count, dtype=offsets)
    lengths[:-1] = starts[1:] - starts[:-1] - 1
    lengths[-1:] = len(data) - starts[-1:]
    width = int(lengths.max()) if count else 0
    if width > MAX_ID_KEY_BYTES:
        return None
    keys = np.zeros((count, max(1, width)), dtype=np.uint8)
    last = max(0, len(data) - 1)
    for byte in range(width):
        column = data[np.minimum(starts + byte, last)]  # clipped: a shorter id's place is zeroed
        column[lengths <= byte] = 0
        keys[:, byte] = column
    del data, starts, lengths
    order = np.argsort(keys.view(f"S{max(1, width)}").ravel(), kind="stable")
    return order if everything else np.asarray(rows, dtype=np.intp)[order]


def _categorical_keys(column: ParameterColumn, take: Any) -> list[Any]:
    """(group, number, string rank) per row, as ``value_key`` orders them."""
    np = _numpy()
    codes = take(column.codes).astype(np.int64)
    floats = take(column.floats)
    strings = sorted({v for v in column.choices if isinstance(v, str)})
    rank = {v: k for k, v in enumerate(strings)}
    choice_group = np.array([1 if isinstance(v, str) else 0 for v in column.choices] + [0], dtype=np.int64)
    choice_number = np.array(
        [0.0 if isinstance(v, str) else float(v) for v in column.choices] + [0.0], dtype=np.float64
    )
    choice_rank = np.array([rank.get(v, 0) if isinstance(v, str) else 0 for v in column.choices] + [0])
    numeric = (codes == FLOAT_CODE) | (codes == INT_CODE)
    safe = np.where(numeric, len(column.choices), codes)  # the appended neutral entry
    blank = numeric & np.isnan(floats)
    group = np.where(numeric, np.where(blank, 2, 0), choice_group[safe])
    number = np.where(numeric, np.where(blank, 0.0, floats), choice_number[safe])
    return [group, number, choice_rank[safe].astype(np.int64)]


__all__ = ["NO_ITERATION", "NUMPY_ROWS", "FilterMode", "filter_rows", "sort_rows", "value_key"]
