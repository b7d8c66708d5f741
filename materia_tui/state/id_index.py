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
        self.added(0)

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
            self._grow(4 * len(ids), len(ids))
            return
        table, mask = self._table, self._mask
        for row in range(first_row, len(ids)):  # a call per row would cost more than the probing
            slot = hash(ids[row]) & mask
            while table[slot] != EMPTY:
                slot = (slot + 1) & mask
            table[slot] = row

    def added_if_new(self, first_row: int) -> bool:
        """Rows ``first_row..`` were appended to the store's ids: index them if none of
        their ids is known (nor repeated among them), else leave the index as it was
        and say so. One probe per id both checks it and finds its slot."""
        ids = self._ids
        if 2 * len(ids) > len(self._table):
            self._grow(4 * len(ids), first_row)
        table, mask = self._table, self._mask
        row = first_row
        for key in ids[first_row:]:
            slot = hash(key) & mask
            held = table[slot]
            while held != EMPTY:
                if ids[held] == key:  # known (or repeated in this batch)
                    self._forget(first_row, row)
                    return False
                slot = (slot + 1) & mask
                held = table[slot]
            table[slot] = row
            row += 1
        return True

    def _forget(self, first_row: int, stop: int) -> None:
        """Take rows ``first_row..stop`` (the newest indexed) out of the table again.
        Newest first: each removal then restores the table exactly as it was before
        that row came (no later row's probe can have passed over its slot)."""
        ids, table, mask = self._ids, self._table, self._mask
        for row in range(stop - 1, first_row - 1, -1):
            slot = hash(ids[row]) & mask
            while table[slot] != row:
                slot = (slot + 1) & mask
            table[slot] = EMPTY

    def _grow(self, at_least: int, rows: int) -> None:
        """A larger table holding rows ``0..rows``."""
        size = len(self._table)
        while size < at_least:
            size *= 2
        self._table = table = array("i", [EMPTY]) * size
        self._mask = mask = size - 1
        ids = self._ids
        for row in range(rows):
            slot = hash(ids[row]) & mask
            while table[slot] != EMPTY:
                slot = (slot + 1) & mask
            table[slot] = row
