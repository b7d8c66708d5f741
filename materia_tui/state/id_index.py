"""id -> row for the columnar store, without a Python int per candidate.

A ``dict[str, int]`` of a million ids costs ~42 MB of table plus a 32-byte
int object per row (every row above 256 is its own object): ~74 B a
candidate, a quarter of the store. Rows are consecutive and never removed, so
an open-addressing table of row numbers (``array('i')``, linear probing on
the ids' own ``hash``, at most half full) does the same job in 8 B a
candidate, plus 8 B for each row's hash (a 64-bit ``array``). The ids themselves
stay in the store's ``IdList`` (row -> id, mostly packed into chunk strings):
a probe compares hashes and reads an id only on a hash match, to confirm it,
and growing the table re-hashes nothing.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from typing import overload

from materia_tui.state.id_list import IdList

EMPTY = -1
FIRST_SIZE = 1024
# A hash is a C ssize_t: 'l' where a long is 8 bytes (appending to an array('q') goes through
# a long-long conversion that costs ~10x more in CPython 3.11), else 'q'.
HASH_TYPECODE = "l" if array("l").itemsize == 8 else "q"


class IdIndex:
    """Which row holds an id; rows are added in order (``add``), never removed."""

    __slots__ = ("_hashes", "_ids", "_mask", "_table")

    def __init__(self, ids: IdList) -> None:
        self._ids = ids  # row -> id, owned by the store; only read here
        self._hashes = array(HASH_TYPECODE)  # row -> hash of its id, for the rows indexed
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
        hashes, table, mask = self._hashes, self._table, self._mask
        code = hash(key)
        slot = code & mask
        while True:
            row = table[slot]
            if row == EMPTY:
                return default
            if hashes[row] == code:  # the id itself then confirms (as _holds, inlined: a call a frame)
                ids = self._ids
                packed = ids.packed
                if ids.recent[row - packed] == key if row >= packed else ids.equals(row, key):
                    return row
            slot = (slot + 1) & mask

    def _holds(self, row: int, key: str) -> bool:
        """``ids[row] == key``: a recent row read in place, a packed one compared in its chunk."""
        ids = self._ids
        packed = ids.packed
        return ids.recent[row - packed] == key if row >= packed else ids.equals(row, key)

    def get_many(self, keys: Iterable[str]) -> list[int | None]:
        """``get`` of each key (one call for a batch: the loop is the cost)."""
        hashes, table, mask, holds = self._hashes, self._table, self._mask, self._holds
        found: list[int | None] = []
        append = found.append
        for key in keys:
            code = hash(key)
            slot = code & mask
            while True:
                row = table[slot]
                if row == EMPTY:
                    append(None)
                    break
                if hashes[row] == code and holds(row, key):
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
        codes = list(map(hash, self._ids[first_row:]))
        self._hashes.extend(codes)
        rows = len(self._hashes)
        if 2 * rows > len(self._table):
            self._grow(4 * rows, rows)
            return
        table, mask = self._table, self._mask
        for row, code in enumerate(codes, first_row):  # a call per row would cost more than the probing
            slot = code & mask
            while table[slot] != EMPTY:
                slot = (slot + 1) & mask
            table[slot] = row

    def added_if_new(self, first_row: int) -> bool:
        """Rows ``first_row..`` (not packed) were appended to the store's ids: index them
        if none of their ids is known (nor repeated among them), else leave the index as
        it was and say so. One probe per id both checks it and finds its slot."""
        ids, hashes = self._ids, self._hashes
        offset = first_row - ids.packed
        if offset < 0:
            raise ValueError(f"row {first_row} is packed: only unpacked rows are added")
        new = ids.recent[offset:]
        if 2 * (first_row + len(new)) > len(self._table):
            self._grow(4 * (first_row + len(new)), first_row)
        table, mask, append = self._table, self._mask, hashes.append
        for row, code in enumerate(map(hash, new), first_row):
            slot = code & mask
            held = table[slot]
            while held != EMPTY:
                if hashes[held] == code and self._holds(held, new[row - first_row]):  # known, or a repeat
                    self._forget(first_row, row)
                    return False
                slot = (slot + 1) & mask
                held = table[slot]
            table[slot] = row
            append(code)  # in the loop: a repeat later in the batch compares against it
        return True

    def _forget(self, first_row: int, stop: int) -> None:
        """Take rows ``first_row..stop`` (the newest indexed) out of the table again, and
        their hashes. Newest first: each removal then restores the table exactly as it
        was before that row came (no later row's probe can have passed over its slot)."""
        hashes, table, mask = self._hashes, self._table, self._mask
        for row in range(stop - 1, first_row - 1, -1):
            slot = hashes[row] & mask
            while table[slot] != row:
                slot = (slot + 1) & mask
            table[slot] = EMPTY
        del hashes[first_row:]

    def _grow(self, at_least: int, rows: int) -> None:
        """A larger table holding rows ``0..rows``."""
        size = len(self._table)
        while size < at_least:
            size *= 2
        self._table = table = array("i", [EMPTY]) * size
        self._mask = mask = size - 1
        for row, code in enumerate(self._hashes[:rows]):
            slot = code & mask
            while table[slot] != EMPTY:
                slot = (slot + 1) & mask
            table[slot] = row
