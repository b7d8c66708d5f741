"""The tree of a compiled filter and its evaluation, on one row or on whole columns.

``Compare.test`` is the reference semantics of a comparison on one value
(see ``materia_tui.insight.filter`` for the language); the column paths
(numeric arrays, lists, dictionary-encoded columns) agree with it, so
``Filter.mask`` and ``Filter.matches`` never disagree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

BoolArray = NDArray[np.bool_]
Kind = Literal["number", "category", "status", "flag"]
ORDERING = frozenset({"<", "<=", ">", ">="})


@runtime_checkable
class EncodedColumn(Protocol):
    """A dictionary-encoded column: ``categories[codes[i]]`` is row i's value, code -1 missing.

    ``mask`` evaluates a comparison once per category on such a column."""

    @property
    def codes(self) -> NDArray[np.integer[Any]]: ...

    @property
    def categories(self) -> Sequence[object]: ...


Column = Sequence[object] | NDArray[np.generic] | EncodedColumn

# ----- the tree ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Field:
    """A comparison's left side: the column it reads, and how that column's values compare
    (``number`` ordered, ``category`` by text or wildcard, ``status`` by name, ``flag`` as a bool)."""

    column: str
    kind: Kind


@dataclass(frozen=True, slots=True)
class Value:
    """A comparison's literal, pre-digested for every kind of value it may meet."""

    text: str  # casefolded
    number: float | None
    pattern: re.Pattern[str] | None  # when the text has a '*'
    flag: bool | None

    def text_matches(self, value: str) -> bool:
        folded = value.casefold()
        return bool(self.pattern.fullmatch(folded)) if self.pattern else folded == self.text


class Node(Protocol):
    def matches(self, row: Mapping[str, object]) -> bool: ...
    def mask(self, columns: Columns) -> BoolArray: ...


@dataclass(frozen=True, slots=True)
class Compare:
    field: Field
    op: str
    value: Value

    def matches(self, row: Mapping[str, object]) -> bool:
        return self.test(row.get(self.field.column))

    def test(self, value: object) -> bool:
        """The reference semantics of one comparison on one value."""
        if type(value) is str:  # the usual value of a category, status or id column: the short way
            if self.field.kind in ("number", "flag") or self.op in ORDERING:
                return False
            return self.value.text_matches(value) == (self.op != "!=")
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        kind, op = self.field.kind, self.op
        if kind == "flag":
            return isinstance(value, bool | np.bool_) and (bool(value) == self.value.flag) == (op != "!=")
        as_number = _as_number(value, kind)
        if as_number is not None:
            number = self.value.number
            if number is None:  # a word against a number: never equal
                return op == "!="
            return _order(as_number, op, number)
        if kind == "number" or op in ORDERING:
            return False  # text in a number field, or text ordered: no match
        return self.value.text_matches(str(value)) == (op != "!=")

    def mask(self, columns: Columns) -> BoolArray:
        column = columns.get(self.field.column)
        if column is None:
            return columns.none()
        if isinstance(column, EncodedColumn):
            codes = np.asarray(column.codes)
            per_category = np.array([self.test(v) for v in column.categories] + [False], dtype=bool)
            return per_category[np.where(codes < 0, len(per_category) - 1, codes)]
        kind = self.field.kind
        if isinstance(column, np.ndarray):
            if column.dtype.kind == "b" and kind == "flag":
                equal: BoolArray = column == self.value.flag
                return equal if self.op != "!=" else ~equal
            if column.dtype.kind in ("iufb" if kind == "number" else "iuf") and kind != "flag":
                return self._numeric_mask(column.astype(np.float64, copy=False))
            column = column.tolist()  # text or objects: Python values iterate far faster than numpy's
        # Numbers in a list take the numeric path; a column whose first value is
        # text is text (the scan for it would cost a pass for nothing).
        if kind == "number" or (kind == "category" and len(column) and type(column[0]) is not str):
            numbers = _as_floats(column, with_bools=kind == "number")
            if numbers is not None:
                return self._numeric_mask(numbers)
        return _map_values(column, self.test)

    def _numeric_mask(self, values: NDArray[np.float64]) -> BoolArray:
        number = self.value.number
        present = ~np.isnan(values)
        if number is None:
            return present if self.op == "!=" else np.zeros(len(values), dtype=bool)
        ops: dict[str, Callable[[NDArray[np.float64], float], BoolArray]] = {
            "=": np.equal, ":": np.equal, "<": np.less, "<=": np.less_equal,
            ">": np.greater, ">=": np.greater_equal,
        }  # fmt: skip
        if self.op == "!=":
            different: BoolArray = present & (values != number)
            return different
        return ops[self.op](values, number)


@dataclass(frozen=True, slots=True)
class Not:
    child: Node

    def matches(self, row: Mapping[str, object]) -> bool:
        return not self.child.matches(row)

    def mask(self, columns: Columns) -> BoolArray:
        return ~self.child.mask(columns)


@dataclass(frozen=True, slots=True)
class Join:
    conjunction: bool  # AND when True, OR when False
    children: tuple[Node, ...]

    def matches(self, row: Mapping[str, object]) -> bool:
        found = (child.matches(row) for child in self.children)
        return all(found) if self.conjunction else any(found)

    def mask(self, columns: Columns) -> BoolArray:
        result = self.children[0].mask(columns).copy()
        for child in self.children[1:]:
            if self.conjunction:
                result &= child.mask(columns)
            else:
                result |= child.mask(columns)
        return result


@dataclass(frozen=True, slots=True)
class Everything:
    def matches(self, row: Mapping[str, object]) -> bool:
        return True

    def mask(self, columns: Columns) -> BoolArray:
        return ~columns.none()


def _order(value: float, op: str, number: float) -> bool:
    if op in ("=", ":"):
        return value == number
    if op == "!=":
        return value != number
    if op == "<":
        return value < number
    if op == "<=":
        return value <= number
    if op == ">":
        return value > number
    return value >= number


def _as_number(value: object, kind: Kind) -> float | None:
    """The value as a number, or None when it is not one (for this kind of field)."""
    if isinstance(value, _BOOLS):
        return float(value) if kind == "number" else None  # True is 1 where a number is expected
    if isinstance(value, _NUMBERS):
        return float(value)
    return None


_BOOLS = (bool, np.bool_)  # tuples: isinstance with a union type is several times slower
_NUMBERS = (int, float, np.integer, np.floating)
_NUMBER_TYPES = frozenset({float, int, type(None)})
_NUMBER_OR_BOOL_TYPES = _NUMBER_TYPES | {bool}


def _as_floats(column: Sequence[object], with_bools: bool) -> NDArray[np.float64] | None:
    """A list of numbers and Nones as floats (None -> NaN), for the numeric fast path;
    None when it holds anything else (numpy would also read "1.5" as a number, which
    the per-value rules do not, and a bool is a word in a category field)."""
    allowed = _NUMBER_OR_BOOL_TYPES if with_bools else _NUMBER_TYPES
    if not set(map(type, column)) <= allowed:
        return None
    return np.asarray(column, dtype=np.float64).reshape(-1)


def _map_values(column: Sequence[object] | NDArray[np.generic], test: Callable[[object], bool]) -> BoolArray:
    """``test`` of every value, computed once per distinct value (categories repeat)."""
    try:
        # The distinct values and the per-row lookup both run at C speed (dict
        # and map): a million rows of a few categories in tens of milliseconds.
        verdicts = {value: test(value) for value in dict.fromkeys(column)}
        return np.fromiter(map(verdicts.__getitem__, column), dtype=np.bool_, count=len(column))
    except TypeError:  # an unhashable value: row by row
        return np.fromiter(map(test, column), dtype=np.bool_, count=len(column))


class Columns:
    """The caller's columns and the row count every mask has."""

    def __init__(self, columns: Mapping[str, Column], rows: int | None) -> None:
        self._columns = columns
        if rows is None:
            first = next(iter(columns.values()), None)
            if first is None:
                raise ValueError("mask needs n_rows when no column is given")
            rows = _length(first)
        self.rows = rows

    def get(self, name: str) -> Column | None:
        column = self._columns.get(name)
        if column is not None:
            size = _length(column)
            if size != self.rows:
                raise ValueError(f"column {name!r} has {size} rows, not {self.rows}")
        return column

    def none(self) -> BoolArray:
        return np.zeros(self.rows, dtype=np.bool_)


def _length(column: Column) -> int:
    return len(column.codes) if isinstance(column, EncodedColumn) else len(column)
