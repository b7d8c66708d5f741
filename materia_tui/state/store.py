"""The columnar candidate store: one campaign's candidates as typed columns.

A campaign of a million candidates cannot afford a Python object per
candidate (~3 KB each with the usual six parameters and two objectives). The
store keeps:

- ids once each: ``ids`` (row -> id, an ``IdList``: the newest as strs, every
  older chunk of 4,096 packed into one str, ~15 B a candidate instead of ~66)
  and ``index`` (id -> row, an ``IdIndex``: row numbers in a hash table and
  each row's hash, no int object per candidate);
- per-row scalars in typed arrays: iteration, acquisition value, status,
  Pareto-front flag, feasibility, revision, and the row's *layout*;
- one column per field name and section (``param:x``, ``pred:x``, ``unc:x``,
  ``obj:x``): float columns are ``array('d')``, parameter columns add
  dictionary codes for categorical values (and ints, bools);
- errors sparse (row -> message).

A row's layout (``candidates.Layout``: the key tuples of its four sections,
interned per store) says which names the row has and in which order, so a
view reads back exactly the mappings the wire gave, while bulk readers take
whole columns (``column("obj:water_flux")``) without a Python object per
candidate. Views (``state/views.py``) are built on access and read through
to the store: they are cheap, and they are never kept by the store.

NaN in a float column means "no value" for bulk readers; presence for views
comes from the layout (the wire rejects NaN, so the two agree).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

from materia_tui.protocol import Candidate, EvaluationResult
from materia_tui.state.candidates import CandidateStatus, Keys, Layout, Sections, layout_for
from materia_tui.state.id_index import IdIndex
from materia_tui.state.id_list import IdList
from materia_tui.state.typed_columns import (
    Column,
    FloatColumn,
    ParameterColumn,
    float_array,
    packed_array,
    transpose,
)

if TYPE_CHECKING:
    from materia_tui.state.views import CandidateView

NAN = math.nan
STATUSES: tuple[CandidateStatus, ...] = ("proposed", "evaluated", "infeasible", "failed")
STATUS_CODES: dict[str, int] = {name: code for code, name in enumerate(STATUSES)}
NO_ITERATION = -1
_ID = attrgetter("id")
# New proposals held as models (the tail) before their values are written into the columns.
TAIL_ROWS = 256
SECTIONS = ("param", "pred", "unc", "obj")
Section = Literal[0, 1, 2, 3]


T = TypeVar("T")


class _Written(Generic[T]):
    """A column attribute of the store (``store.status``...): the private one
    (``_status``), read after the tail is written into the columns."""

    __slots__ = ("private",)

    def __set_name__(self, owner: type, name: str) -> None:
        self.private = "_" + name

    @overload
    def __get__(self, store: None, owner: type) -> _Written[T]: ...
    @overload
    def __get__(self, store: CandidateStore, owner: type) -> T: ...
    def __get__(self, store: CandidateStore | None, owner: type) -> _Written[T] | T:
        if store is None:
            return self
        value: T = getattr(store._flushed(), self.private)
        return value


class CandidateStore:
    """Every candidate of one campaign, by row (the order first seen).

    A proposal of new candidates is held as it came (the *tail*: its models, in
    order) and written into the columns ``TAIL_ROWS`` rows at a time, or as
    soon as anything reads a column: per-frame column writes cost more than
    the frame's parse for a small batch. ``ids`` and ``index`` are always
    current; every column attribute below writes the tail first, so readers
    never see it.
    """

    def __init__(self) -> None:
        self.ids = IdList()
        self.index = IdIndex(self.ids)
        self._iterations = array("i")
        self._acquisition = array("d")
        self._status = array("b")
        self._on_front = array("b")
        self._feasible = array("b")
        self._revisions = array("I")
        self._row_layouts = array("I")
        self.errors: dict[int, str] = {}
        self._sections: tuple[dict[str, Column], ...] = ({}, {}, {}, {})
        self._layouts: list[Layout] = []
        self._layout_ids: dict[tuple[Keys, Keys, Keys, Keys], int] = {}
        self._measured_layouts: dict[tuple[int, Keys], int] = {}  # (layout, objective keys) -> layout
        self._last_layout = self.layout_id(((), (), (), ()))
        self._parameter_names: list[str] = []
        self._filled = 0  # rows written into the columns; the rest (to len(ids)) are the tail
        # The tail, a proposal at a time (its new candidates, iteration and revision): an
        # append a frame, where a list per field would cost a list and an extend each.
        self._tail: list[tuple[Sequence[Candidate], int, int]] = []
        self._tail_rows = 0
        # False: proposals keep only ids and iterations (no parameters, predictions,
        # uncertainties or acquisition values): what line output needs, ~90 B a candidate less.
        self.keep_proposals = True

    # ----- the columns (each read writes the tail first) -------------------------

    iterations: _Written[array[int]] = _Written()
    acquisition: _Written[array[float]] = _Written()
    status: _Written[array[int]] = _Written()
    on_front: _Written[array[int]] = _Written()
    feasible: _Written[array[int]] = _Written()
    revisions: _Written[array[int]] = _Written()
    row_layouts: _Written[array[int]] = _Written()
    sections: _Written[tuple[dict[str, Column], ...]] = _Written()
    layouts: _Written[list[Layout]] = _Written()

    def _flushed(self) -> CandidateStore:
        # Rows past ``_filled`` are exactly the tail's ``_tail_rows``: cheaper to ask than
        # ``len(self.ids)``, a Python-level call, on every column read.
        if self._tail_rows:
            self.flush()
        return self

    def __len__(self) -> int:
        ids = self.ids
        return ids.packed + len(ids.recent)  # len(ids) without a second Python-level call

    # ----- layouts -------------------------------------------------------------

    def layout_id(self, keys: tuple[Keys, Keys, Keys, Keys]) -> int:
        found = self._layout_ids.get(keys)
        if found is None:
            found = self._layout_ids[keys] = len(self._layouts)
            layout = layout_for(keys)
            self._layouts.append(layout)
            for section, names in enumerate(keys):
                for name in names:
                    if name not in self._sections[section]:
                        self._add_column(section, name)
        return found

    def _add_column(self, section: int, name: str) -> None:
        length = len(self._iterations)  # the rows written so far (a tail is written after)
        self._sections[section][name] = ParameterColumn(length) if section == 0 else FloatColumn(length)
        if section == 0:
            self._parameter_names.append(name)

    def _proposal_layout(self, c: Candidate, keys3: Keys) -> int:
        """The layout of a proposal whose measurement keys are ``keys3``: usually the previous one."""
        last = self._layouts[self._last_layout]
        parameters, predicted, uncertainty = c.parameters, c.predicted, c.uncertainty
        if [*parameters, 0, *predicted, 0, *uncertainty] == last.head and last.keys[3] == keys3:
            return self._last_layout
        found = self.layout_id((tuple(parameters), tuple(predicted), tuple(uncertainty), keys3))
        self._last_layout = found
        return found

    def parameter_names(self) -> list[str]:
        """Every parameter name seen, in order of first appearance."""
        return list(self._flushed()._parameter_names)

    def layout_of(self, row: int) -> Layout:
        return self.layouts[self._row_layouts[row]]

    # ----- writing ---------------------------------------------------------------

    def add_rows(self, ids: Sequence[str], iteration: int | None) -> int:
        """New rows for ``ids`` (not yet known), no values yet. Returns the first new row."""
        self._flushed()
        start = len(self.ids)
        self.ids.extend(ids)
        self.index.added(start)
        self._extend(len(ids), array("i", [NO_ITERATION if iteration is None else iteration]) * len(ids))
        self._filled = len(self.ids)
        self.ids.pack()
        return start

    def _extend(self, count: int, iterations: array[int]) -> None:
        """``count`` more rows in every column (no values yet; ``iterations`` theirs)."""
        self._iterations.extend(iterations)
        self._acquisition.extend(array("d", [NAN]) * count)
        zeros = array("b", [0]) * count
        self._status.extend(zeros)
        self._on_front.extend(zeros)
        self._feasible.extend(array("b", [1]) * count)
        self._revisions.extend(array("I", [0]) * count)
        self._row_layouts.extend(array("I", [0]) * count)
        for columns in self._sections:
            for column in columns.values():
                column.extend(count)

    def propose(self, batch: Sequence[Candidate], iteration: int, revision: int) -> tuple[int, list[int]]:
        """Fold a proposal: new candidates appended, known ones re-proposed (their
        measurement kept). Returns (rows added, earlier rows changed)."""
        ids, index = self.ids, self.index
        start = ids.packed + len(ids.recent)  # len(ids), without a Python-level call: a frame's worth
        ids.extend(map(_ID, batch))
        if index.added_if_new(start):  # all new: the usual proposal
            self._to_tail(batch, iteration, revision)
            return len(batch), []
        ids.truncate(start)
        self._flushed()
        fresh: list[Candidate] = []
        fresh_ids: set[str] = set()
        again: list[Candidate] = []
        for c, row in zip(batch, index.get_many([c.id for c in batch]), strict=True):
            if row is not None or c.id in fresh_ids:
                again.append(c)
            else:
                fresh_ids.add(c.id)
                fresh.append(c)
        changed: list[int] = []
        if fresh:
            ids.extend([c.id for c in fresh])
            index.added(start)
            self._to_tail(fresh, iteration, revision)
            self.flush()
        for c in again:
            row = index[c.id]
            self._repropose(row, c, iteration, revision)
            if row < start:
                changed.append(row)
        return len(fresh), changed

    def _to_tail(self, fresh: Sequence[Candidate], iteration: int, revision: int) -> None:
        """The models of new rows (their ids appended and indexed already), written later."""
        self._tail.append((fresh, iteration, revision))
        self._tail_rows += len(fresh)
        if self._tail_rows >= TAIL_ROWS:
            self.flush()

    def flush(self) -> None:
        """Write the tail (proposals held as they came) into the columns."""
        start, count = self._filled, self._tail_rows  # the tail: rows past _filled
        if not count:
            return
        self.ids.pack()  # the tail's rows are settled: no proposal takes them back
        tail, self._tail, self._tail_rows = self._tail, [], 0
        batches, iterations, revisions = zip(*tail, strict=True)
        sizes = list(map(len, batches))
        self._extend(count, packed_array("i", _repeated(iterations, sizes)))
        self._filled = start + count
        self._revisions[start:] = packed_array("I", _repeated(revisions, sizes))
        if self.keep_proposals:  # their values too (else only ids and iterations are kept)
            # One proposal (a large batch fills a tail alone) is read as it came, not copied.
            fresh = batches[0] if len(batches) == 1 else list(chain.from_iterable(batches))
            self._fill_proposals(start, fresh)

    def _fill_proposals(self, start: int, fresh: Sequence[Candidate]) -> None:
        count = len(fresh)
        # Comprehensions, not ``map(attrgetter)``: the interpreter's own attribute load is
        # specialised for these slots, ``attrgetter`` takes the generic path (twice the cost).
        acquisition = [c.acquisition_value for c in fresh]
        if None in acquisition:
            acquisition = [NAN if value is None else value for value in acquisition]
        self._acquisition[start : start + count] = float_array(acquisition)
        sections: list[list[dict[str, Any]]] = [
            [c.parameters for c in fresh],
            [c.predicted for c in fresh],
            [c.uncertainty for c in fresh],
        ]
        keys = (tuple(sections[0][0]), tuple(sections[1][0]), tuple(sections[2][0]), ())
        # The usual batch: one layout, recognised by each section's keys end to end (a
        # dict repeats no key, so they match the first row's keys repeated only if every
        # row has exactly those keys, in that order); columns filled by strided slices.
        if all(
            list(chain.from_iterable(mappings)) == list(names) * count
            for mappings, names in zip(sections, keys, strict=False)
        ):
            self._last_layout = first = self.layout_id(keys)
            self._row_layouts[start : start + count] = array("I", [first]) * count
            self._fill_sections(start, sections, keys)
            return
        for row, c in enumerate(fresh, start):
            self._row_layouts[row] = self._proposal_layout(c, ())
            self._write(row, 0, c.parameters)
            self._write(row, 1, c.predicted)
            self._write(row, 2, c.uncertainty)

    def _fill_sections(self, start: int, sections: list[list[dict[str, Any]]], keys: Sections) -> None:
        """Rows ``start..`` of each proposal section's columns, from mappings that all
        have that section's ``keys`` in order: each section's values end to end, one
        strided slice a column."""
        stop = start + len(sections[0])
        for section, (mappings, names) in enumerate(zip(sections, keys, strict=False)):
            width = len(names)
            if not width:
                continue
            columns = self._sections[section]
            values = chain.from_iterable(map(dict.values, mappings))
            if section == 0:  # parameters: any JSON scalar
                held = list(values)
                for k, name in enumerate(names):
                    columns[name].fill(start, held[k::width])
            else:  # predictions and uncertainties: floats
                floats = float_array(list(values))
                for k, name in enumerate(names):
                    columns[name].floats[start:stop] = floats[k::width]

    def _write(self, row: int, section: int, mapping: Mapping[str, Any], old: Keys = ()) -> None:
        columns = self._sections[section]
        for name in old:
            if name not in mapping:
                columns[name].clear(row)
        for name, value in mapping.items():
            columns[name].set(row, value)

    def _repropose(self, row: int, c: Candidate, iteration: int, revision: int) -> None:
        old = self.layout_of(row).keys
        self._iterations[row] = iteration
        self._revisions[row] = revision
        if not self.keep_proposals:
            return
        layout = self._proposal_layout(c, old[3])
        self._row_layouts[row] = layout
        self._write(row, 0, c.parameters, old[0])
        self._write(row, 1, c.predicted, old[1])
        self._write(row, 2, c.uncertainty, old[2])
        self._acquisition[row] = NAN if c.acquisition_value is None else c.acquisition_value

    def measure(
        self, row: int, objectives: Mapping[str, float], feasible: bool, error: str | None, revision: int
    ) -> None:
        """Replace the row's measurement (and status, feasibility, error)."""
        self._flushed()
        old_id = self._row_layouts[row]
        keys = tuple(objectives)
        new_id = self._measured_layouts.get((old_id, keys))
        if new_id is None:
            old = self._layouts[old_id].keys
            new_id = self.layout_id((old[0], old[1], old[2], keys))
            self._measured_layouts[(old_id, keys)] = new_id
        old_keys = self._layouts[old_id].keys[3]
        self._row_layouts[row] = new_id
        columns = self._sections[3]
        if old_keys != keys:
            for name in old_keys:
                if name not in objectives:
                    columns[name].clear(row)
        for name, value in objectives.items():
            columns[name].set(row, value)
        self._feasible[row] = feasible
        if error is None:
            self.errors.pop(row, None)
        else:
            self.errors[row] = error
        self._status[row] = 3 if error else (1 if feasible else 2)
        self._revisions[row] = revision

    def measure_fresh(self, rows: list[int], results: Sequence[EvaluationResult], revision: int) -> None:
        """``measure`` for rows never measured before, in one pass per column: the
        usual evaluation batch (rows distinct, objective keys of every row the same)."""
        self._flushed()
        keys = tuple(results[0].objectives)
        first = rows[0]
        contiguous = rows[-1] - first == len(rows) - 1 and rows == list(range(first, first + len(rows)))
        old_ids = self._row_layouts[first : first + len(rows)] if contiguous else None
        same_keys = list(map(tuple, (r.objectives for r in results))).count(keys) == len(results)
        if contiguous and same_keys and old_ids is not None and old_ids.count(old_ids[0]) == len(rows):
            new_id = self._measured_layouts.get((old_ids[0], keys))
            if new_id is None:
                old = self._layouts[old_ids[0]].keys
                new_id = self.layout_id((old[0], old[1], old[2], keys))
                self._measured_layouts[(old_ids[0], keys)] = new_id
            stop = first + len(rows)
            self._row_layouts[first:stop] = array("I", [new_id]) * len(rows)
            columns = self._sections[3]
            mappings: list[Mapping[str, Any]] = [r.objectives for r in results]
            for name, values in zip(keys, transpose(mappings, keys), strict=True):
                columns[name].fill(first, values)
            self._feasible[first:stop] = array("b", [r.feasible for r in results])
            self._status[first:stop] = array(
                "b", [3 if r.error else (1 if r.feasible else 2) for r in results]
            )
            self._revisions[first:stop] = array("I", [revision]) * len(rows)
            for row, r in zip(rows, results, strict=True):
                if r.error is not None:
                    self.errors[row] = r.error
            return
        for row, r in zip(rows, results, strict=True):
            self.measure(row, r.objectives, r.feasible, r.error, revision)

    # ----- reading ----------------------------------------------------------------

    def section(self, row: int, section: int) -> dict[str, Any]:
        columns = self.sections[section]
        return {name: columns[name].get(row) for name in self.layouts[self.row_layouts[row]].keys[section]}

    def measured(self, row: int, name: str) -> float | None:
        if name not in self.layouts[self.row_layouts[row]].indexes[3]:
            return None
        return self.sections[3][name].get(row)  # type: ignore[return-value]

    def column(self, key: str) -> Sequence[Any]:
        """A whole column, for bulk readers: ``id``, ``iteration`` (-1: none),
        ``status`` (codes of ``STATUSES``), ``on_front``, ``feasible``, ``acquisition``,
        ``revision``, or ``param:``/``pred:``/``unc:``/``obj:`` and a name (floats,
        NaN where a row has no value; a parameter column with categorical values
        reads as Python values). A column of an unknown name is all NaN."""
        fixed_columns: dict[str, Sequence[Any]] = {
            "id": self.ids,
            "iteration": self.iterations,
            "status": self.status,
            "on_front": self.on_front,
            "feasible": self.feasible,
            "acquisition": self.acquisition,
            "revision": self.revisions,
        }
        fixed = fixed_columns.get(key)
        if fixed is not None:
            return fixed
        prefix, _, name = key.partition(":")
        if prefix not in SECTIONS:
            raise KeyError(key)
        column = self.sections[SECTIONS.index(prefix)].get(name)
        if column is None:
            return array("d", [NAN]) * len(self.ids)
        if isinstance(column, ParameterColumn) and column.codes is not None:
            return column.values()
        return column.floats

    def float_column(self, key: str) -> array[float] | None:
        """The raw float array of a ``pred:``/``unc:``/``obj:``/``param:`` column, or
        None (unknown, or a parameter column holding non-float values)."""
        prefix, _, name = key.partition(":")
        if prefix not in SECTIONS:
            return None
        column = self.sections[SECTIONS.index(prefix)].get(name)
        if column is None or (isinstance(column, ParameterColumn) and column.codes is not None):
            return None
        return column.floats

    def parameter_column(self, name: str) -> ParameterColumn | None:
        column = self.sections[0].get(name)
        return column if isinstance(column, ParameterColumn) else None

    def view(self, row: int) -> CandidateView:
        from materia_tui.state.views import CandidateView  # the views read the store: imported when used

        return CandidateView(self, row)

    def rows_where_status(self, codes: Iterable[int]) -> list[int]:
        wanted = set(codes)
        return [row for row, code in enumerate(self.status) if code in wanted]


def _repeated(values: Sequence[int], sizes: list[int]) -> list[int]:
    """Each of ``values`` repeated its ``sizes`` times, end to end: a list a run, added to
    one exact-size list (cheaper for the tail's few dozen runs than chaining iterators)."""
    repeated: list[int] = []
    for value, size in zip(values, sizes, strict=True):
        repeated += [value] * size
    return repeated


def __getattr__(name: str) -> Any:
    """The views moved to ``state/views.py``; importing them from here still works."""
    if name in ("CandidateView", "CandidateRows", "CandidatesById"):
        from materia_tui.state import views

        return getattr(views, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
