"""id -> row for the columnar store, without a Python int per candidate.

A ``dict[str, int]`` of a million ids costs ~42 MB of table plus a 32-byte
int object per row (every row above 256 is its own object): ~74 B a
candidate, a quarter of the store. Rows are consecutive and never removed, so
an open-addressing table of row numbers (``array('i')``, linear probing on
the ids' own ``hash``, at most half full) does the same job in 8 B a
candidate; the ids themselves stay in the store's ``ids`` list (row -> id),
which the table reads to confirm a match. A str caches its hash, so growing
the table re-hashes nothing.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from typing import overload

EMPTY = -1
FIRST_SIZE = 1024


class IdIndex:
    """Which row holds an id; rows are added in order (``add``), never removed."""

    __slots__ = ("_ids", "_mask", "_table")

    def __init__(self, ids: list[str]) -> None:
        self._ids = ids  # row -> id, owned by the store; only read here
        self._table = array("i", [EMPTY]) * FIRST_SIZE
        self._mask = FIRST_SIZE - 1
        for row, key in enumerate(ids):
            self._insert(key, row)

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    @overload
    def get(self, key: str) -> int | None: ...
    @overload
    def get(self, key: str, default: int) -> int: ...
    def get(self, key: str, default: int | None = None) -> int | None:
        ids, table, mask = self._ids, self._table, self._mask
        slot = hash(key) & mask
        while True:
            row = table[slot]
            if row == EMPTY:
                return default
            if ids[row] == key:
                return row
            slot = (slot + 1) & mask

    def get_many(self, keys: Iterable[str]) -> list[int | None]:
        """``get`` of each key (one call for a batch: the loop is the cost)."""
        ids, table, mask = self._ids, self._table, self._mask
        found: list[int | None] = []
        append = found.append
        for key in keys:
            slot = hash(key) & mask
            while True:
                row = table[slot]
                if row == EMPTY:
                    append(None)
                    break
                if ids[row] == key:
                    append(row)
                    break
                slot = (slot + 1) & mask
        return found

    def __getitem__(self, key: str) -> int:
        row = self.get(key)
        if row is None:
            raise KeyError(key)
        return row

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def added(self, first_row: int) -> None:
        """Rows ``first_row..`` were appended to the store's ids (all new ids): index them."""
        ids = self._ids
        if 2 * len(ids) > len(self._table):
            self._grow(4 * len(ids))
        else:
            for row in range(first_row, len(ids)):
                self._insert(ids[row], row)

    def _insert(self, key: str, row: int) -> None:
        table, mask = self._table, self._mask
        slot = hash(key) & mask
        while table[slot] != EMPTY:
            slot = (slot + 1) & mask
        table[slot] = row

    def _grow(self, at_least: int) -> None:
        size = len(self._table)
        while size < at_least:
            size *= 2
        self._table = table = array("i", [EMPTY]) * size
        self._mask = mask = size - 1
        for row, key in enumerate(self._ids):  # _insert, inlined: this runs for every row
            slot = hash(key) & mask
            while table[slot] != EMPTY:
                slot = (slot + 1) & mask
            table[slot] = row
