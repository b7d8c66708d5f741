"""The columnar candidate store: one campaign's candidates as typed columns.

A campaign of a million candidates cannot afford a Python object per
candidate (~3 KB each with the usual six parameters and two objectives). The
store keeps:

- ids interned once: ``ids`` (row -> id) and ``index`` (id -> row, an
  ``IdIndex``: row numbers in a hash table, no int object per candidate);
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
candidate. Views (``CandidateView``) are built on access and read through
to the store: they are cheap, and they are never kept by the store.

NaN in a float column means "no value" for bulk readers; presence for views
comes from the layout (the wire rejects NaN, so the two agree).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal, overload

from materia_tui.protocol import Candidate, EvaluationResult, ParameterValue
from materia_tui.state.candidates import CandidateStatus, Keys, Layout, layout_for
from materia_tui.state.id_index import IdIndex
from materia_tui.state.typed_columns import Column, FloatColumn, ParameterColumn, transpose

NAN = math.nan
STATUSES: tuple[CandidateStatus, ...] = ("proposed", "evaluated", "infeasible", "failed")
STATUS_CODES: dict[str, int] = {name: code for code, name in enumerate(STATUSES)}
NO_ITERATION = -1
SECTIONS = ("param", "pred", "unc", "obj")
Section = Literal[0, 1, 2, 3]


class CandidateStore:
    """Every candidate of one campaign, by row (the order first seen)."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.index = IdIndex(self.ids)
        self.iterations = array("i")
        self.acquisition = array("d")
        self.status = array("b")
        self.on_front = array("b")
        self.feasible = array("b")
        self.revisions = array("I")
        self.row_layouts = array("I")
        self.errors: dict[int, str] = {}
        self.sections: tuple[dict[str, Column], ...] = ({}, {}, {}, {})
        self.layouts: list[Layout] = []
        self._layout_ids: dict[tuple[Keys, Keys, Keys, Keys], int] = {}
        self._measured_layouts: dict[tuple[int, Keys], int] = {}  # (layout, objective keys) -> layout
        self._last_layout = self.layout_id(((), (), (), ()))
        self._parameter_names: list[str] = []
        # False: proposals keep only ids and iterations (no parameters, predictions,
        # uncertainties or acquisition values): what line output needs, ~90 B a candidate less.
        self.keep_proposals = True

    def __len__(self) -> int:
        return len(self.ids)

    # ----- layouts -------------------------------------------------------------

    def layout_id(self, keys: tuple[Keys, Keys, Keys, Keys]) -> int:
        found = self._layout_ids.get(keys)
        if found is None:
            found = self._layout_ids[keys] = len(self.layouts)
            layout = layout_for(keys)
            self.layouts.append(layout)
            for section, names in enumerate(keys):
                for name in names:
                    if name not in self.sections[section]:
                        self._add_column(section, name)
        return found

    def _add_column(self, section: int, name: str) -> None:
        length = len(self.ids)
        self.sections[section][name] = ParameterColumn(length) if section == 0 else FloatColumn(length)
        if section == 0:
            self._parameter_names.append(name)

    def _proposal_layout(self, c: Candidate, keys3: Keys) -> int:
        """The layout of a proposal whose measurement keys are ``keys3``: usually the previous one."""
        last = self.layouts[self._last_layout]
        parameters, predicted, uncertainty = c.parameters, c.predicted, c.uncertainty
        if [*parameters, 0, *predicted, 0, *uncertainty] == last.head and last.keys[3] == keys3:
            return self._last_layout
        found = self.layout_id((tuple(parameters), tuple(predicted), tuple(uncertainty), keys3))
        self._last_layout = found
        return found

    def _batch_layouts(self, fresh: list[Candidate]) -> list[int]:
        """Each new proposal's layout; a batch whose candidates share their keys
        (the usual one) is recognised with C-level key comparisons."""
        first = fresh[0]
        keys = (tuple(first.parameters), tuple(first.predicted), tuple(first.uncertainty), ())
        count = len(fresh)
        if (
            list(map(tuple, (c.parameters for c in fresh))).count(keys[0]) == count
            and list(map(tuple, (c.predicted for c in fresh))).count(keys[1]) == count
            and list(map(tuple, (c.uncertainty for c in fresh))).count(keys[2]) == count
        ):
            self._last_layout = self.layout_id(keys)
            return [self._last_layout] * count
        return [self._proposal_layout(c, ()) for c in fresh]

    def parameter_names(self) -> list[str]:
        """Every parameter name seen, in order of first appearance."""
        return list(self._parameter_names)

    def layout_of(self, row: int) -> Layout:
        return self.layouts[self.row_layouts[row]]

    # ----- writing ---------------------------------------------------------------

    def add_rows(self, ids: Sequence[str], iteration: int | None) -> int:
        """New rows for ``ids`` (not yet known), no values yet. Returns the first new row."""
        start = len(self.ids)
        count = len(ids)
        self.ids.extend(ids)
        self.index.added(start)
        self.iterations.extend(array("i", [NO_ITERATION if iteration is None else iteration]) * count)
        self.acquisition.extend(array("d", [NAN]) * count)
        zeros = array("b", [0]) * count
        self.status.extend(zeros)
        self.on_front.extend(zeros)
        self.feasible.extend(array("b", [1]) * count)
        self.revisions.extend(array("I", [0]) * count)
        self.row_layouts.extend(array("I", [0]) * count)
        for columns in self.sections:
            for column in columns.values():
                column.extend(count)
        return start

    def propose(self, batch: Sequence[Candidate], iteration: int, revision: int) -> tuple[int, list[int]]:
        """Fold a proposal: new candidates appended, known ones re-proposed (their
        measurement kept). Returns (rows added, earlier rows changed)."""
        index = self.index
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
            start = self.add_rows([c.id for c in fresh], iteration)
            self._fill_proposals(start, fresh, revision)
        for c in again:
            row = index[c.id]
            self._repropose(row, c, iteration, revision)
            if row < len(self.ids) - len(fresh):
                changed.append(row)
        return len(fresh), changed

    def _fill_proposals(self, start: int, fresh: list[Candidate], revision: int) -> None:
        count = len(fresh)
        self.revisions[start : start + count] = array("I", [revision]) * count
        if not self.keep_proposals:
            return  # the rows keep the empty layout
        layouts = self._batch_layouts(fresh)
        self.acquisition[start : start + count] = array(
            "d", [NAN if c.acquisition_value is None else c.acquisition_value for c in fresh]
        )
        first = layouts[0]
        if layouts.count(first) == count:  # the usual batch: one layout, columns filled by slices
            self.row_layouts[start : start + count] = array("I", [first]) * count
            keys = self.layouts[first].keys
            sections: tuple[list[Mapping[str, Any]], ...] = (
                [c.parameters for c in fresh], [c.predicted for c in fresh], [c.uncertainty for c in fresh]
            )  # fmt: skip
            for section, mappings in enumerate(sections):
                columns = self.sections[section]
                for name, values in zip(keys[section], transpose(mappings, keys[section]), strict=True):
                    columns[name].fill(start, values)
            return
        for row, (c, layout) in enumerate(zip(fresh, layouts, strict=True), start):
            self.row_layouts[row] = layout
            self._write(row, 0, c.parameters)
            self._write(row, 1, c.predicted)
            self._write(row, 2, c.uncertainty)

    def _write(self, row: int, section: int, mapping: Mapping[str, Any], old: Keys = ()) -> None:
        columns = self.sections[section]
        for name in old:
            if name not in mapping:
                columns[name].clear(row)
        for name, value in mapping.items():
            columns[name].set(row, value)

    def _repropose(self, row: int, c: Candidate, iteration: int, revision: int) -> None:
        old = self.layout_of(row).keys
        self.iterations[row] = iteration
        self.revisions[row] = revision
        if not self.keep_proposals:
            return
        layout = self._proposal_layout(c, old[3])
        self.row_layouts[row] = layout
        self._write(row, 0, c.parameters, old[0])
        self._write(row, 1, c.predicted, old[1])
        self._write(row, 2, c.uncertainty, old[2])
        self.acquisition[row] = NAN if c.acquisition_value is None else c.acquisition_value

    def measure(
        self, row: int, objectives: Mapping[str, float], feasible: bool, error: str | None, revision: int
    ) -> None:
        """Replace the row's measurement (and status, feasibility, error)."""
        old_id = self.row_layouts[row]
        keys = tuple(objectives)
        new_id = self._measured_layouts.get((old_id, keys))
        if new_id is None:
            old = self.layouts[old_id].keys
            new_id = self.layout_id((old[0], old[1], old[2], keys))
            self._measured_layouts[(old_id, keys)] = new_id
        old_keys = self.layouts[old_id].keys[3]
        self.row_layouts[row] = new_id
        columns = self.sections[3]
        if old_keys != keys:
            for name in old_keys:
                if name not in objectives:
                    columns[name].clear(row)
        for name, value in objectives.items():
            columns[name].set(row, value)
        self.feasible[row] = feasible
        if error is None:
            self.errors.pop(row, None)
        else:
            self.errors[row] = error
        self.status[row] = 3 if error else (1 if feasible else 2)
        self.revisions[row] = revision

    def measure_fresh(self, rows: list[int], results: Sequence[EvaluationResult], revision: int) -> None:
        """``measure`` for rows never measured before, in one pass per column: the
        usual evaluation batch (rows distinct, objective keys of every row the same)."""
        keys = tuple(results[0].objectives)
        first = rows[0]
        contiguous = rows[-1] - first == len(rows) - 1 and rows == list(range(first, first + len(rows)))
        old_ids = self.row_layouts[first : first + len(rows)] if contiguous else None
        same_keys = list(map(tuple, (r.objectives for r in results))).count(keys) == len(results)
        if contiguous and same_keys and old_ids is not None and old_ids.count(old_ids[0]) == len(rows):
            new_id = self._measured_layouts.get((old_ids[0], keys))
            if new_id is None:
                old = self.layouts[old_ids[0]].keys
                new_id = self.layout_id((old[0], old[1], old[2], keys))
                self._measured_layouts[(old_ids[0], keys)] = new_id
            stop = first + len(rows)
            self.row_layouts[first:stop] = array("I", [new_id]) * len(rows)
            columns = self.sections[3]
            mappings: list[Mapping[str, Any]] = [r.objectives for r in results]
            for name, values in zip(keys, transpose(mappings, keys), strict=True):
                columns[name].fill(first, values)
            self.feasible[first:stop] = array("b", [r.feasible for r in results])
            self.status[first:stop] = array(
                "b", [3 if r.error else (1 if r.feasible else 2) for r in results]
            )
            self.revisions[first:stop] = array("I", [revision]) * len(rows)
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
        return CandidateView(self, row)

    def rows_where_status(self, codes: Iterable[int]) -> list[int]:
        wanted = set(codes)
        return [row for row, code in enumerate(self.status) if code in wanted]


class CandidateView:
    """One candidate read through to the store (built on access, a snapshot of nothing:
    its attributes always show the store's current values)."""

    __slots__ = ("_store", "row")

    def __init__(self, store: CandidateStore, row: int) -> None:
        self._store = store
        self.row = row

    @property
    def id(self) -> str:
        return self._store.ids[self.row]

    @property
    def iteration(self) -> int | None:
        value = self._store.iterations[self.row]
        return None if value == NO_ITERATION else value

    @property
    def acquisition_value(self) -> float | None:
        value = self._store.acquisition[self.row]
        return None if value != value else value

    @property
    def status(self) -> CandidateStatus:
        return STATUSES[self._store.status[self.row]]

    @property
    def on_front(self) -> bool:
        return bool(self._store.on_front[self.row])

    @property
    def feasible(self) -> bool:
        return bool(self._store.feasible[self.row])

    @property
    def error(self) -> str | None:
        return self._store.errors.get(self.row)

    @property
    def revision(self) -> int:
        return self._store.revisions[self.row]

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """The same tuple object for every candidate sharing a layout."""
        return self._store.layout_of(self.row).keys[0]

    @property
    def parameters(self) -> dict[str, ParameterValue]:
        return self._store.section(self.row, 0)

    @property
    def predicted(self) -> dict[str, float]:
        return self._store.section(self.row, 1)

    @property
    def uncertainty(self) -> dict[str, float]:
        return self._store.section(self.row, 2)

    @property
    def objectives(self) -> dict[str, float]:
        return self._store.section(self.row, 3)

    def measured(self, name: str) -> float | None:
        return self._store.measured(self.row, name)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CandidateView):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in _COMPARED)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in _COMPARED)
        return f"CandidateView({fields})"


_COMPARED = (
    "id", "row", "iteration", "parameters", "predicted", "uncertainty", "acquisition_value",
    "objectives", "feasible", "error", "status", "on_front", "revision",
)  # fmt: skip


class CandidateRows(Sequence[CandidateView]):
    """``state.candidate_list``: the candidates by row, as views built on access."""

    __slots__ = ("_store",)

    def __init__(self, store: CandidateStore) -> None:
        self._store = store

    def __len__(self) -> int:
        return len(self._store.ids)

    @overload
    def __getitem__(self, index: int) -> CandidateView: ...
    @overload
    def __getitem__(self, index: slice) -> list[CandidateView]: ...
    def __getitem__(self, index: int | slice) -> CandidateView | list[CandidateView]:
        store = self._store
        if isinstance(index, slice):
            return [CandidateView(store, row) for row in range(*index.indices(len(store.ids)))]
        if index < 0:
            index += len(store.ids)
        if not 0 <= index < len(store.ids):
            raise IndexError("candidate row out of range")
        return CandidateView(store, index)

    def __iter__(self) -> Iterator[CandidateView]:
        store = self._store
        return (CandidateView(store, row) for row in range(len(store.ids)))


class CandidatesById(Mapping[str, CandidateView]):
    """``state.candidates``: id -> view, in the order candidates were first seen."""

    __slots__ = ("_store",)

    def __init__(self, store: CandidateStore) -> None:
        self._store = store

    def __getitem__(self, key: str) -> CandidateView:
        return CandidateView(self._store, self._store.index[key])

    def __contains__(self, key: object) -> bool:
        return key in self._store.index

    def __iter__(self) -> Iterator[str]:
        return iter(self._store.ids)

    def __len__(self) -> int:
        return len(self._store.ids)
