"""The store's typed columns: one float array per field, with dictionary codes for
parameters whose values are categories (or bools, or ints too large for a float).

A ``FloatColumn`` is an ``array('d')`` with NaN where a row has no value; a
``ParameterColumn`` adds ``codes`` (``array('i')``, created with the first
non-float value): ``FLOAT_CODE`` says the float array holds the value,
``INT_CODE`` that it holds an int, any other code indexes ``choices``.
"""

from __future__ import annotations

import math
import struct
from array import array
from collections.abc import Mapping
from operator import itemgetter
from typing import Any

from materia_tui.protocol import ParameterValue
from materia_tui.state.candidates import Keys

NAN = math.nan
FLOAT_CODE = -1  # a parameter column's code for "the float column holds the value"
INT_CODE = -2  # "the float column holds an int" (exact below 2**53)
_INT_EXACT = 2**53
# Below this many values array's own conversion is as cheap as packing them.
_PACK_FROM = 32


def packed_array(typecode: str, values: list[Any]) -> array[Any]:
    """``array(typecode, values)``, two to three times faster for long lists: array
    converts item by item through a format parser, ``struct.pack`` does not. A value
    struct refuses is left to array, so errors are array's own."""
    if len(values) < _PACK_FROM:
        return array(typecode, values)
    packed = array(typecode)
    try:
        packed.frombytes(struct.pack(f"{len(values)}{typecode}", *values))
    except struct.error:
        return array(typecode, values)
    return packed


def float_array(values: list[Any]) -> array[float]:
    """``array("d", values)`` (see ``packed_array``)."""
    return packed_array("d", values)


class ParameterColumn:
    """One parameter's values: floats in ``floats``; categorical (and bool, huge int)
    values dictionary-encoded in ``codes`` (created when the first such value comes)."""

    __slots__ = ("choice_index", "choices", "codes", "floats")

    def __init__(self, length: int) -> None:
        self.floats = array("d", [NAN]) * length
        self.codes: array[int] | None = None
        self.choices: list[ParameterValue] = []
        self.choice_index: dict[tuple[type, ParameterValue], int] = {}

    def extend(self, count: int) -> None:
        self.floats.extend(array("d", [NAN]) * count)
        if self.codes is not None:
            self.codes.extend(array("i", [FLOAT_CODE]) * count)

    def get(self, row: int) -> ParameterValue:
        code = FLOAT_CODE if self.codes is None else self.codes[row]
        if code == FLOAT_CODE:
            return self.floats[row]
        if code == INT_CODE:
            return int(self.floats[row])
        return self.choices[code]

    def set(self, row: int, value: ParameterValue) -> None:
        kind = type(value)
        if kind is float:
            self.floats[row] = value  # type: ignore[assignment]
            code = FLOAT_CODE
        elif kind is int and -_INT_EXACT < value < _INT_EXACT:  # type: ignore[operator]
            self.floats[row] = value  # type: ignore[assignment]
            code = INT_CODE
        else:
            self.floats[row] = NAN
            code = self.code_of(value)
        if self.codes is None:
            if code == FLOAT_CODE:
                return
            self.codes = array("i", [FLOAT_CODE]) * len(self.floats)
        self.codes[row] = code

    def clear(self, row: int) -> None:
        self.floats[row] = NAN
        if self.codes is not None:
            self.codes[row] = FLOAT_CODE

    def code_of(self, value: ParameterValue) -> int:
        key = (type(value), value)
        code = self.choice_index.get(key)
        if code is None:
            code = self.choice_index[key] = len(self.choices)
            self.choices.append(value)
        return code

    def fill(self, start: int, values: list[Any]) -> None:
        """Rows ``start..`` get ``values`` (one per row)."""
        stop = start + len(values)
        kinds = set(map(type, values))
        if kinds == {float}:
            self.floats[start:stop] = float_array(values)
            if self.codes is not None:
                self.codes[start:stop] = array("i", [FLOAT_CODE]) * len(values)
            return
        if kinds == {int} and min(values) > -_INT_EXACT and max(values) < _INT_EXACT:
            self.floats[start:stop] = float_array(values)
            if self.codes is None:
                self.codes = array("i", [FLOAT_CODE]) * len(self.floats)
            self.codes[start:stop] = array("i", [INT_CODE]) * len(values)
            return
        if kinds == {str}:  # a categorical column: encoded a batch at a time
            lookup = {value: self.code_of(value) for value in set(values)}
            if self.codes is None:
                self.codes = array("i", [FLOAT_CODE]) * len(self.floats)
            self.codes[start:stop] = packed_array("i", list(map(lookup.__getitem__, values)))
            self.floats[start:stop] = array("d", [NAN]) * len(values)
            return
        for row, value in enumerate(values, start):
            self.set(row, value)

    def values(self) -> list[ParameterValue | None]:
        """Every row's value (None: none), for bulk readers that need Python values."""
        floats, codes = self.floats, self.codes
        if codes is None:
            return [None if v != v else v for v in floats]
        choices = self.choices
        return [
            (None if f != f else f) if c == FLOAT_CODE else (int(f) if c == INT_CODE else choices[c])
            for f, c in zip(floats, codes, strict=True)
        ]


class FloatColumn:
    """One float field of one section (prediction, uncertainty, measurement); NaN: none."""

    __slots__ = ("floats",)

    def __init__(self, length: int) -> None:
        self.floats = array("d", [NAN]) * length

    def extend(self, count: int) -> None:
        self.floats.extend(array("d", [NAN]) * count)

    def get(self, row: int) -> float:
        return self.floats[row]

    def set(self, row: int, value: float) -> None:
        self.floats[row] = value

    def clear(self, row: int) -> None:
        self.floats[row] = NAN

    def fill(self, start: int, values: list[Any]) -> None:
        self.floats[start : start + len(values)] = float_array(values)


Column = ParameterColumn | FloatColumn


def transpose(mappings: list[Mapping[str, Any]], names: Keys) -> list[list[Any]]:
    """Each name's values over ``mappings`` (which all have those keys), at C speed."""
    if not names:
        return []
    if len(names) == 1:
        name = names[0]
        return [[m[name] for m in mappings]]
    pick: Any = itemgetter(*names)
    return [list(values) for values in zip(*map(pick, mappings), strict=True)]
