"""One candidate as the state keeps it: compact, because a campaign keeps them all.

A candidate's four mappings (parameters, predictions, uncertainties, measured
objectives) would be four dicts of ~184 bytes each; at 100k candidates that is
most of the monitor's memory. Candidates of one campaign share their keys, so a
record keeps one tuple of values and a pointer to a shared ``Layout`` (the key
tuples and their positions), and hands out read-only ``Mapping`` views.

The layouts are shared by every campaign of the process, on purpose: a
``Layout`` never changes once built (its keys, positions and bounds are fixed;
``with_section`` returns another one), so the module's tables (``_layouts``,
each layout's ``_successors``, the ``_last_layout`` hint) are memo tables of a
pure function of the key tuples, like interned strings. Sharing them changes no
record's values; it saves one copy per campaign of the same keys. What one
campaign can do to another is cost: a flood of odd key sets clears the table
(bounded by ``MAX_LAYOUTS``), and the others rebuild their layouts once. Each
read of the hint checks its keys before use, so a stale hint is only a miss.
"""

from __future__ import annotations

from collections.abc import Iterator, KeysView, Mapping
from typing import Any, Generic, Literal, Protocol, TypeVar, cast, overload

from materia_tui.protocol import ParameterValue

CandidateStatus = Literal["proposed", "evaluated", "infeasible", "failed"]
V = TypeVar("V")
T = TypeVar("T")
Keys = tuple[str, ...]
Sections = tuple[Keys, Keys, Keys, Keys]
MAX_LAYOUTS = 4096  # distinct key sets remembered; a hostile stream cannot grow this
MAX_SUCCESSORS = 64

_EMPTY: Mapping[str, object] = {}


class CandidateLike(Protocol):
    """What readers of a candidate use: a detached ``CandidateRecord`` or a store's
    ``CandidateView`` (what ``state.candidates`` and ``state.candidate_list`` hand out)."""

    @property
    def id(self) -> str: ...
    @property
    def row(self) -> int: ...
    @property
    def iteration(self) -> int | None: ...
    @property
    def acquisition_value(self) -> float | None: ...
    @property
    def status(self) -> CandidateStatus: ...
    @property
    def on_front(self) -> bool: ...
    @property
    def feasible(self) -> bool: ...
    @property
    def error(self) -> str | None: ...
    @property
    def revision(self) -> int: ...
    @property
    def parameter_names(self) -> tuple[str, ...]: ...
    @property
    def parameters(self) -> Mapping[str, ParameterValue]: ...
    @property
    def predicted(self) -> Mapping[str, float]: ...
    @property
    def uncertainty(self) -> Mapping[str, float]: ...
    @property
    def objectives(self) -> Mapping[str, float]: ...
    def measured(self, name: str) -> float | None: ...
_new_record = object.__new__


class FieldView(Mapping[str, V]):
    """A read-only mapping over one section (``start:stop``) of a record's values."""

    __slots__ = ("_index", "_start", "_stop", "_values")

    def __init__(self, index: dict[str, int], values: tuple[object, ...], start: int, stop: int) -> None:
        self._index = index
        self._values = values
        self._start = start
        self._stop = stop

    def __getitem__(self, key: str) -> V:
        return cast(V, self._values[self._index[key]])

    @overload
    def get(self, key: str, /) -> V | None: ...
    @overload
    def get(self, key: str, /, default: V | T) -> V | T: ...
    def get(self, key: str, /, default: object = None) -> object:
        position = self._index.get(key)
        return default if position is None else self._values[position]

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def keys(self) -> KeysView[str]:
        return self._index.keys()  # a dict's own view: set operations at C speed

    def values(self) -> tuple[V, ...]:  # type: ignore[override]
        return cast(tuple[V, ...], self._values[self._start : self._stop])

    def items(self) -> zip[tuple[str, V]]:  # type: ignore[override]
        return zip(self._index, self.values(), strict=True)

    def __repr__(self) -> str:
        return repr(dict(self.items()))


class Layout:
    """The keys of a record's four sections and where their values sit."""

    __slots__ = ("_successors", "bounds", "head", "indexes", "keys")

    def __init__(self, keys: Sections) -> None:
        self.keys = keys
        # The proposal's keys flat, sections split by 0 (never a key): what the
        # hot paths compare a new proposal with, one list instead of three tuples.
        self.head: list[object] = [*keys[0], 0, *keys[1], 0, *keys[2]]
        indexes: list[dict[str, int]] = []
        bounds = [0]
        for section in keys:
            indexes.append({name: bounds[-1] + k for k, name in enumerate(section)})
            bounds.append(bounds[-1] + len(section))
        self.indexes = tuple(indexes)
        self.bounds = tuple(bounds)
        self._successors: dict[tuple[int, Keys], Layout] = {}

    def view(self, section: int, values: tuple[object, ...]) -> FieldView[Any]:
        return FieldView(self.indexes[section], values, self.bounds[section], self.bounds[section + 1])

    def with_section(self, section: int, keys: Keys) -> Layout:
        """This layout with one section's keys replaced (memoized: campaigns repeat themselves)."""
        if keys == self.keys[section]:
            return self
        found = self._successors.get((section, keys))
        if found is None:
            replaced = list(self.keys)
            replaced[section] = keys
            found = layout_for((replaced[0], replaced[1], replaced[2], replaced[3]))
            if len(self._successors) < MAX_SUCCESSORS:
                self._successors[(section, keys)] = found
        return found


_layouts: dict[Sections, Layout] = {}


def layout_for(keys: Sections) -> Layout:
    global _last_layout
    last = _last_layout  # read once: another thread's record may move the hint meanwhile
    if keys == last.keys:  # the usual case: like the previous candidate
        return last
    found = _layouts.get(keys)
    if found is None:
        found = Layout(keys)
        if len(_layouts) >= MAX_LAYOUTS:
            _layouts.clear()  # after a flood of odd key sets, let the usual ones back in
        _layouts[keys] = found
    _last_layout = found
    return found


_last_layout = _layouts[((), (), (), ())] = Layout(((), (), (), ()))


class _Section(Generic[V]):
    """One of a record's four mappings: read as a view, assigned as a whole."""

    def __init__(self, section: int) -> None:
        self.section = section

    @overload
    def __get__(self, record: None, owner: type[CandidateRecord]) -> _Section[V]: ...
    @overload
    def __get__(self, record: CandidateRecord, owner: type[CandidateRecord]) -> Mapping[str, V]: ...
    def __get__(
        self, record: CandidateRecord | None, owner: type[CandidateRecord]
    ) -> _Section[V] | Mapping[str, V]:
        if record is None:
            return self
        return record._layout.view(self.section, record._values)

    def __set__(self, record: CandidateRecord, value: Mapping[str, V]) -> None:
        record._replace(self.section, value)


def _unmeasured_layout(
    parameters: Mapping[str, object], predicted: Mapping[str, object], uncertainty: Mapping[str, object]
) -> Layout:
    """The layout of a proposal without measurements: usually the previous one's,
    recognised by one flat key list instead of building three tuples."""
    layout = _last_layout
    if [*parameters, 0, *predicted, 0, *uncertainty] != layout.head or layout.keys[3]:
        layout = layout_for((tuple(parameters), tuple(predicted), tuple(uncertainty), ()))
    return layout


class CandidateRecord:
    """A candidate: identity, the latest proposal and the latest measurement."""

    __slots__ = (
        "_layout",
        "_values",
        "acquisition_value",
        "error",
        "feasible",
        "id",
        "iteration",
        "on_front",
        "revision",
        "row",
        "status",
    )

    def __init__(
        self,
        id: str,
        row: int,
        iteration: int | None,
        parameters: Mapping[str, ParameterValue] = _EMPTY,  # type: ignore[assignment]
        predicted: Mapping[str, float] = _EMPTY,  # type: ignore[assignment]
        uncertainty: Mapping[str, float] = _EMPTY,  # type: ignore[assignment]
        acquisition_value: float | None = None,
        objectives: Mapping[str, float] = _EMPTY,  # type: ignore[assignment]
        feasible: bool = True,
        error: str | None = None,
        status: CandidateStatus = "proposed",
        on_front: bool = False,
        revision: int = 0,
    ) -> None:
        self.id = id
        self.row = row
        self.iteration = iteration
        self.acquisition_value = acquisition_value
        self.feasible = feasible
        self.error = error
        self.status: CandidateStatus = status
        self.on_front = on_front
        self.revision = revision
        # The reducer builds one of these per proposed candidate: the common
        # case (no measurement yet, same keys as the previous one) is kept short.
        if objectives:
            keys = (tuple(parameters), tuple(predicted), tuple(uncertainty), tuple(objectives))
            self._layout = layout_for(keys)
            values = (*parameters.values(), *predicted.values(), *uncertainty.values(), *objectives.values())
        else:
            self._layout = _unmeasured_layout(parameters, predicted, uncertainty)
            values = (*parameters.values(), *predicted.values(), *uncertainty.values())
        self._values: tuple[object, ...] = values

    @classmethod
    def proposed(
        cls,
        id: str,
        row: int,
        iteration: int | None,
        parameters: Mapping[str, ParameterValue],
        predicted: Mapping[str, float],
        uncertainty: Mapping[str, float],
        acquisition_value: float | None,
        revision: int,
    ) -> CandidateRecord:
        """A new, unmeasured candidate: what ``__init__`` builds for these
        arguments, by the shortest path (the reducer calls this for every
        proposed candidate)."""
        self = _new_record(cls)
        self.id = id
        self.row = row
        self.iteration = iteration
        self.acquisition_value = acquisition_value
        self.feasible = True
        self.error = None
        self.status = "proposed"
        self.on_front = False
        self.revision = revision
        self._layout = _unmeasured_layout(parameters, predicted, uncertainty)
        self._values = (*parameters.values(), *predicted.values(), *uncertainty.values())
        return self

    def _replace(self, section: int, mapping: Mapping[str, object]) -> None:
        old = self._layout
        self._layout = old.with_section(section, tuple(mapping))
        start, stop = old.bounds[section], old.bounds[section + 1]
        self._values = (*self._values[:start], *mapping.values(), *self._values[stop:])

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """The parameters' names, in order; the same tuple object for every
        candidate sharing a layout, so a scan can skip repeats with ``is``."""
        return self._layout.keys[0]

    parameters = _Section[ParameterValue](0)
    predicted = _Section[float](1)
    uncertainty = _Section[float](2)
    objectives = _Section[float](3)

    def measured(self, name: str) -> float | None:
        """One measured objective, without building a view (full scans call this)."""
        position = self._layout.indexes[3].get(name)
        return None if position is None else cast(float, self._values[position])

    def propose(
        self,
        parameters: Mapping[str, ParameterValue],
        predicted: Mapping[str, float],
        uncertainty: Mapping[str, float],
    ) -> None:
        """Replace the proposal in one step (one tuple built, not three)."""
        old = self._layout
        if [*parameters, 0, *predicted, 0, *uncertainty] != old.head:
            self._layout = layout_for((tuple(parameters), tuple(predicted), tuple(uncertainty), old.keys[3]))
        measured = self._values[old.bounds[3] :]
        self._values = (*parameters.values(), *predicted.values(), *uncertainty.values(), *measured)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CandidateRecord):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in _COMPARED)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in _COMPARED)
        return f"CandidateRecord({fields})"


_COMPARED = (
    "id", "row", "iteration", "parameters", "predicted", "uncertainty", "acquisition_value",
    "objectives", "feasible", "error", "status", "on_front", "revision",
)
