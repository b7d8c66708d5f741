"""Views of the columnar store's candidates: one candidate (``CandidateView``), the
candidates by row (``state.candidate_list``) and by id (``state.candidates``).

Views are built on access and read through to the store (``state/store.py``):
they are cheap, they show the store's current values, and the store never keeps them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Generic, TypeVar, overload

from materia_tui.protocol import ParameterValue
from materia_tui.state.candidates import CandidateStatus
from materia_tui.state.store import NO_ITERATION, STATUSES, CandidateStore

V = TypeVar("V")


class _Section(Generic[V]):
    """A view's mapping of one section (parameters, predictions, uncertainties or
    measurements), read from the store on each access."""

    __slots__ = ("number",)

    def __init__(self, number: int) -> None:
        self.number = number

    @overload
    def __get__(self, view: None, owner: type) -> _Section[V]: ...
    @overload
    def __get__(self, view: CandidateView, owner: type) -> dict[str, V]: ...
    def __get__(self, view: CandidateView | None, owner: type) -> _Section[V] | dict[str, V]:
        if view is None:
            return self
        return view._store.section(view.row, self.number)


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

    parameters: _Section[ParameterValue] = _Section(0)
    predicted: _Section[float] = _Section(1)
    uncertainty: _Section[float] = _Section(2)
    objectives: _Section[float] = _Section(3)

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
