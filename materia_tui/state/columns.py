"""The campaign's candidates as columns: the one bulk read of candidates for the analysis views.

``candidate_columns(state)`` returns a ``CandidateColumns``: one entry per
candidate, in ``state.candidate_list`` order (so index ``i`` is row ``i``),
with

- ``ids`` (a sequence of str: the store's ``IdList`` cut at the snapshot, its
  packed chunks shared, not a str per candidate), ``status`` (a list of str),
  ``iteration`` (float64, NaN when unknown), ``front`` and ``feasible`` (bool
  arrays; ``feasible`` is False for every candidate that is not ``evaluated``:
  only a completed, feasible measurement counts for a front or a hypervolume);
- ``parameters``: name -> column; a parameter whose values are all numbers
  (bools excluded) is a float64 array with NaN where absent, any other a
  list of values (None where absent);
- ``objectives``: name -> float64 array of the *measured* value (NaN unless
  the candidate is evaluated or infeasible and measured that objective);
- ``predicted`` and ``uncertainty``: name -> float64 array (NaN when absent).

The insight functions (``materia_tui.insight``) and the filter language take
these columns as they are (``filter_columns()`` names them as the filter
expects). Every view reads candidates in bulk through this module only; it
copies the columnar store's typed columns (``state/store.py``), so a million
candidates cost no Python object each. A UI splits the read in two:
``snapshot_columns(state)`` copies the bytes on the thread that folds events
(a few ms at 100k), ``ColumnSnapshot.columns()`` builds the columns in a
worker. ``filter_columns_of(state, fields)`` reads only what a filter names,
categories dictionary-encoded, for the ``/`` mask on the UI thread.
numpy is imported with this module: import it where used, never at start-up.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import numpy as np
from numpy.typing import NDArray

from materia_tui.state.reducer import CampaignState
from materia_tui.state.store import NO_ITERATION, SECTIONS, STATUSES, CandidateStore
from materia_tui.state.typed_columns import FLOAT_CODE, INT_CODE

T = TypeVar("T")
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
FieldKind = Literal["number", "category"]
NAN = math.nan
EVALUATED, INFEASIBLE = STATUSES.index("evaluated"), STATUSES.index("infeasible")


def measured_status(codes: NDArray[np.int8]) -> BoolArray:
    """Which rows' status is a measurement: evaluated, or infeasible (measured, a
    constraint broken); proposals and failed evaluations have none."""
    measured: BoolArray = (codes == EVALUATED) | (codes == INFEASIBLE)
    return measured


@dataclass(frozen=True, slots=True)
class CandidateColumns:
    campaign_id: str
    ids: Sequence[str]
    iteration: FloatArray
    status: StatusNames
    front: BoolArray
    feasible: BoolArray
    parameters: dict[str, Column]
    objectives: dict[str, FloatArray]
    predicted: dict[str, FloatArray] = field(default_factory=dict)
    uncertainty: dict[str, FloatArray] = field(default_factory=dict)
    directions: dict[str, Literal["maximize", "minimize"]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def measured(self) -> BoolArray:
        """Rows with at least one measured objective."""
        if not self.objectives:
            return np.zeros(len(self), dtype=bool)
        finite: BoolArray = np.logical_or.reduce([np.isfinite(v) for v in self.objectives.values()])
        return finite

    def field_kinds(self) -> dict[str, FieldKind]:
        """Each parameter's and objective's kind for ``compile_filter``."""
        kinds: dict[str, FieldKind] = {
            name: "number" if isinstance(column, np.ndarray) else "category"
            for name, column in self.parameters.items()
        }
        kinds.update(dict.fromkeys(self.objectives, "number"))
        return kinds

    def filter_columns(self) -> dict[str, Column | Sequence[str] | BoolArray]:
        """The columns under the names ``Filter.mask`` reads."""
        columns: dict[str, Column | Sequence[str] | BoolArray] = {}
        columns.update(self.parameters)
        columns.update(self.objectives)
        columns.update(
            {"id": self.ids, "iteration": self.iteration, "status": self.status,
             "front": self.front, "feasible": self.feasible}
        )  # fmt: skip
        return columns


def candidate_columns(state: CampaignState) -> CandidateColumns:
    """Every candidate of ``state`` as columns (see the module docstring): copies of
    the store's typed columns, never a Python object per candidate."""
    return snapshot_columns(state).columns()


class _Encoded(Sequence[Any]):
    """Row ``i``'s value is ``categories[codes[i]]`` (None for a code < 0): one small
    integer per row, not a Python object; an ``EncodedColumn`` for the filter."""

    __slots__ = ("categories", "codes")

    def __init__(self, codes: NDArray[np.integer[Any]], categories: tuple[Any, ...]) -> None:
        self.codes = codes
        self.categories = categories

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self._value(code) for code in self.codes[index].tolist()]
        return self._value(int(self.codes[index]))

    def _value(self, code: int) -> Any:
        return self.categories[code] if code >= 0 else None

    def __iter__(self) -> Iterator[Any]:
        table = (*self.categories, None)  # code -1 reads the last entry
        return map(table.__getitem__, self.codes.tolist())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and len(other) == len(self) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


class StatusNames(_Encoded):
    """Each row's status name (``STATUSES``), read from the row's status code."""

    def take(self, rows: NDArray[np.intp]) -> StatusNames:
        return StatusNames(self.codes[rows], self.categories)


class CategoryValues(_Encoded):
    """A categorical parameter whose values are all text (None: no value)."""

    def take(self, rows: NDArray[np.intp]) -> CategoryValues:
        return CategoryValues(self.codes[rows], self.categories)

    def positions(self) -> tuple[FloatArray, list[str]]:
        """Each row's place among the sorted names of the values present (NaN: no
        value), and those names: a categorical axis, at numpy speed."""
        names = self.names_present()
        return self.places(names), names

    def names_present(self) -> list[str]:
        """The sorted names of the values some row holds."""
        present = np.flatnonzero(np.bincount(self.codes + 1, minlength=1)[1:]).tolist()  # codes >= -1
        return sorted({str(self.categories[code]) for code in present})

    def places(self, names: list[str]) -> FloatArray:
        """Each row's place in ``names`` (NaN: no value, or one ``names`` leaves out)."""
        index = {name: float(i) for i, name in enumerate(names)}
        lookup = np.array([index.get(str(c), NAN) for c in self.categories] + [NAN], dtype=np.float64)
        places: FloatArray = lookup[np.where(self.codes < 0, len(self.categories), self.codes)]
        return places


Column = FloatArray | list[object] | CategoryValues


class BlankIds(Sequence[str]):
    """The ids of a snapshot taken without them: ``count`` empty strings, no list of them."""

    __slots__ = ("_length",)

    def __init__(self, count: int) -> None:
        self._length = count

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [""] * len(range(*index.indices(self._length)))
        if not -self._length <= index < self._length:
            raise IndexError("id index out of range")
        return ""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and len(other) == self._length and all(v == "" for v in other)

    __hash__ = None  # type: ignore[assignment]

    def take(self, rows: Sequence[int]) -> BlankIds:
        return BlankIds(len(rows))


@dataclass(frozen=True, slots=True)
class ParameterSnapshot:
    floats: array[float]
    codes: array[int] | None
    choices: tuple[object, ...]


@dataclass(frozen=True, slots=True)
class ColumnSnapshot:
    """Raw copies of the store's typed columns, cut at one row count.

    Taking one (``snapshot_columns``) copies bytes only (an ``array`` slice is
    one memcpy under the GIL; the ids are an ``IdList`` snapshot, which shares
    the packed chunks and copies the newest few thousand pointers): a millisecond
    at 100k candidates, so it is taken on the thread that folds events, and
    the reducer never sees a column it is appending to exported to another
    thread. ``columns()`` does the costly part (status names, categorical
    values, NaN masks) and may run on any thread. Its float columns are views of
    the snapshot's own copies, not copies again (the snapshot is private to its
    reader: the measured objectives are masked in place, which a second call repeats)."""

    campaign_id: str
    count: int
    ids: Sequence[str]
    iterations: array[int]
    status: array[int]
    on_front: array[int]
    objectives: dict[str, array[float] | None]
    predicted: dict[str, array[float]]
    uncertainty: dict[str, array[float]]
    parameters: dict[str, ParameterSnapshot | None]
    directions: dict[str, Literal["maximize", "minimize"]]

    def columns(self) -> CandidateColumns:
        count = self.count
        codes = np.frombuffer(self.status, dtype=np.int8, count=count)
        measured = measured_status(codes)
        iteration = _iterations(self.iterations, count)
        objectives = {}
        for name, values in self.objectives.items():
            column = np.full(count, NAN) if values is None else _view(values, count)
            column[~measured] = NAN
            objectives[name] = column
        return CandidateColumns(
            campaign_id=self.campaign_id,
            ids=self.ids,
            iteration=iteration,
            status=StatusNames(codes, STATUSES),
            front=np.frombuffer(self.on_front, dtype=np.int8, count=count).astype(bool),
            feasible=codes == EVALUATED,  # evaluated: a completed, feasible measurement
            parameters={name: _parameter(column, count) for name, column in self.parameters.items()},
            objectives=objectives,
            predicted={name: _view(values, count) for name, values in self.predicted.items()},
            uncertainty={name: _view(values, count) for name, values in self.uncertainty.items()},
            directions=self.directions,
        )


@dataclass(frozen=True, slots=True)
class RowChoice:
    """Which rows a snapshot copies: ``start`` onwards, after the rows of ``before``
    (row numbers under ``start``, ascending)."""

    start: int
    before: tuple[int, ...] = ()


def snapshot_columns(
    state: CampaignState,
    *,
    parameters: bool | Collection[str] = True,
    ids: bool = True,
    predictions: bool | Collection[str] = True,
    rows: RowChoice | None = None,
    picked: NDArray[np.intp] | None = None,
) -> ColumnSnapshot:
    """The store's columns copied as bytes (see ``ColumnSnapshot``); ``parameters`` /
    ``ids`` / ``predictions`` (predicted values and uncertainties) False leaves those
    out (empty), for readers that need only the measurements; ``parameters`` as names
    copies only those parameters (the others left out), ``predictions`` as objective
    names only those objectives' predictions; ``rows`` copies only those rows
    (without parameters), for readers of a recent window; ``picked`` only the rows it
    lists (ascending row numbers under ``len(state.store)``; the ids left out), for
    readers of a sample."""
    store = state.store
    count = len(store)
    if rows is not None and parameters:
        raise ValueError("a snapshot of chosen rows leaves the parameters out")

    def take(values: array[int] | array[float]) -> array[int] | array[float]:
        if picked is not None:
            # A view of the live column, let go at once: the store may grow it again.
            return array(values.typecode, np.frombuffer(values, _DTYPES[values.typecode], count)[picked])
        if rows is None:
            return values[:count]
        chosen = array(values.typecode, [values[row] for row in rows.before])
        chosen.extend(values[rows.start : count])
        return chosen

    def floats(key: str) -> array[float] | None:
        values = store.float_column(key)
        return None if values is None else take(values)  # type: ignore[return-value]

    def section(prefix: str) -> dict[str, array[float]]:
        if predictions is False:
            return {}
        names = [n for n in store.sections[SECTIONS.index(prefix)] if predictions is True or n in predictions]
        found = {name: floats(f"{prefix}:{name}") for name in names}
        return {name: values for name, values in found.items() if values is not None}

    if picked is not None:
        chosen = len(picked)
    else:
        chosen = count if rows is None else len(rows.before) + max(0, count - rows.start)
    names = parameter_names(state) if parameters is True else [] if parameters is False else parameters
    return ColumnSnapshot(
        campaign_id=state.campaign_id,
        count=chosen,
        ids=store.ids.snapshot(count) if ids and rows is None and picked is None else BlankIds(chosen),
        iterations=take(store.iterations),  # type: ignore[arg-type]
        status=take(store.status),  # type: ignore[arg-type]
        on_front=take(store.on_front),  # type: ignore[arg-type]
        objectives={name: floats("obj:" + name) for name in state.objectives},
        predicted=section("pred"),
        uncertainty=section("unc"),
        parameters={name: _parameter_snapshot(store, name, count, take) for name in names},
        directions={name: state.directions.get(name, "maximize") for name in state.objectives},
    )


_DTYPES = {"d": np.float64, "i": np.int32, "b": np.int8, "l": np.int64, "q": np.int64}


def _floats(values: array[float], count: int) -> FloatArray:
    """A copy of a column the store goes on writing."""
    return _view(values, count).copy()


def _view(values: array[float], count: int) -> FloatArray:
    """A writable view of a snapshot's own copy (it cannot grow while viewed)."""
    return np.frombuffer(values, dtype=np.float64, count=count)


def _parameter_snapshot(
    store: CandidateStore,
    name: str,
    count: int,
    take: Callable[[Any], Any] | None = None,
) -> ParameterSnapshot | None:
    column = store.parameter_column(name)
    if column is None:
        return None
    if take is None:
        codes = None if column.codes is None else column.codes[:count]
        return ParameterSnapshot(column.floats[:count], codes, tuple(column.choices))
    codes = None if column.codes is None else take(column.codes)
    return ParameterSnapshot(take(column.floats), codes, tuple(column.choices))


def _parameter(column: ParameterSnapshot | None, count: int) -> Column:
    """A float array when every present value is a number (not a bool), else the values."""
    if column is None:
        return np.full(count, NAN)
    if column.codes is None:
        return _view(column.floats, count)
    text = text_values(column, count)
    if text is not None:
        return text
    values = _decoded(column)
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in column.choices):
        return np.array([NAN if v is None else v for v in values], dtype=np.float64)
    return values


def text_values(column: ParameterSnapshot, count: int) -> CategoryValues | None:
    """The column as codes when every value is text (or none), else None."""
    assert column.codes is not None
    codes = np.frombuffer(column.codes, dtype=np.int32, count=count)
    floats = np.frombuffer(column.floats, dtype=np.float64, count=count)
    if all(isinstance(v, str) for v in column.choices) and not bool(((codes < 0) & ~np.isnan(floats)).any()):
        return CategoryValues(np.maximum(codes, -1), tuple(column.choices))  # a copy: never a view
    return None


def _decoded(column: ParameterSnapshot) -> list[object]:
    """Every row's value (None: none), as ``ParameterColumn.values`` reads it."""
    choices = column.choices
    assert column.codes is not None
    return [
        (None if f != f else f) if c == FLOAT_CODE else (int(f) if c == INT_CODE else choices[c])
        for f, c in zip(column.floats, column.codes, strict=True)
    ]


def parameter_names(state: CampaignState) -> list[str]:
    """Parameters in metadata order, then others in order of first appearance."""
    names: list[str] = [p.name for p in state.metadata.parameters] if state.metadata else []
    seen = set(names)
    return names + [name for name in state.store.parameter_names() if name not in seen]


@dataclass(frozen=True, slots=True)
class EncodedValues:
    """A dictionary-encoded column (``insight.filter_tree.EncodedColumn``): ``categories[codes[i]]``."""

    codes: NDArray[np.int32]
    categories: tuple[object, ...]


def filter_columns_of(state: CampaignState, fields: frozenset[str]) -> dict[str, object]:
    """What ``candidate_columns(state).filter_columns()`` holds under ``fields``, and only
    those, with the status and categorical parameters dictionary-encoded: no Python
    object per candidate, so a filter's mask stays a few milliseconds at 100k rows."""
    store = state.store
    count = len(store)
    codes = np.frombuffer(store.status, dtype=np.int8, count=count).copy()
    parameters = set(parameter_names(state))
    found: dict[str, object] = {}
    for name in fields:
        if name in parameters:
            found[name] = _filter_parameter(store, name, count)
        if name in state.objectives:
            values = store.float_column("obj:" + name)
            column = np.full(count, NAN) if values is None else _floats(values, count)
            column[~measured_status(codes)] = NAN
            found[name] = column
    built_ins: dict[str, Callable[[], object]] = {
        "id": lambda: store.ids[:count],  # a list: the mask reads every id twice
        "iteration": lambda: _iterations(store.iterations, count),
        "status": lambda: EncodedValues(codes.astype(np.int32), STATUSES),
        "front": lambda: np.frombuffer(store.on_front, dtype=np.int8, count=count).astype(bool),
        "feasible": lambda: codes == EVALUATED,
    }
    for name in fields & built_ins.keys():
        found[name] = built_ins[name]()
    return found


def _iterations(values: array[int], count: int) -> FloatArray:
    iteration = np.frombuffer(values, dtype=np.int32, count=count).astype(np.float64)
    iteration[iteration == NO_ITERATION] = NAN
    return iteration


def _filter_parameter(store: CandidateStore, name: str, count: int) -> object:
    """A parameter column as the filter reads it: text categories encoded, else as ``_parameter``."""
    column = store.parameter_column(name)
    if column is None or column.codes is None:
        return _parameter(None if column is None else _parameter_snapshot(store, name, count), count)
    codes = np.frombuffer(column.codes, dtype=np.int32, count=count).copy()
    floats = np.frombuffer(column.floats, dtype=np.float64, count=count)
    only_text = all(isinstance(v, str) for v in column.choices)
    if only_text and not bool(((codes < 0) & ~np.isnan(floats)).any()):
        codes[codes < 0] = -1  # no value
        return EncodedValues(codes, tuple(column.choices))
    return _parameter(_parameter_snapshot(store, name, count), count)
