"""Row -> id for the columnar store, without a Python str per candidate.

A ``list[str]`` of a million ids costs ~66 MB (a 57-64 B str object each,
plus its 8 B slot), and the strs, created while each frame is parsed, sit
in pymalloc pools among the frame's transient objects and keep them from
being returned. ``IdList`` keeps the newest ids as they came (``recent``, a
plain list) and packs every full chunk of ``CHUNK`` older rows into one str:
the chunk's ids joined by ``SEP``, with the running total of their lengths
in an ``array('I')``, which places each row (chars, not bytes: non-ASCII ids
need no encoding). A packed id costs its chars, one separator and 4 B of offset,
and packed rows are immutable, so a snapshot shares them.

Reading a packed row slices its chunk; reading many splits the chunk on
``SEP`` (one C call for thousands of ids), unless an id of that chunk holds
``SEP`` itself, when its rows are sliced one by one. Packing is a step the
owner takes (``pack``) once rows are settled: ``truncate`` only ever drops
rows not yet packed.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import accumulate, chain
from typing import SupportsIndex, overload

SHIFT = 12
CHUNK = 1 << SHIFT  # rows a packed chunk holds: a power of two, so row -> chunk is a shift
LOW = CHUNK - 1
SEP = "\0"
# A slice of a chunk longer than this is cut from the chunk and split on SEP;
# shorter ones slice row by row (cheaper than copying the chunk's text).
SPLIT_FROM = 16


class IdList(Sequence[str]):
    """The store's ids by row: ``ids[row]``, slices (lists), iteration, ``len``;
    appended to (``extend``, ``append``), cut back (``truncate``, ``del ids[n:]``)
    while unpacked, and packed (``pack``) a chunk at a time."""

    __slots__ = ("_chunks", "_splittable", "_totals", "append", "extend", "packed", "recent")

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self._chunks: list[str] = []  # CHUNK ids joined by SEP each
        # per chunk: CHUNK + 1 running totals of its ids' lengths; row k (k separators before
        # it) is text[totals[k] + k : totals[k + 1] + k]. None until a row of it is read
        # alone (``_placed``): most chunks are only ever split whole, and intake is spared.
        self._totals: list[array[int] | None] = []
        self._splittable: list[bool] = []  # per chunk: no id holds SEP
        # Read by the store's IdIndex on its hot paths (never assigned outside): the
        # unpacked rows (``packed..``) as they came, and how many rows are packed.
        self.recent: list[str] = list(ids)
        self.packed = 0
        # Appending is the recent list's own (C) method: a store appends a batch a frame.
        self.append: Callable[[str], None] = self.recent.append
        self.extend: Callable[[Iterable[str]], None] = self.recent.extend

    # ----- reading ------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.packed + len(self.recent)

    @overload
    def __getitem__(self, row: int) -> str: ...
    @overload
    def __getitem__(self, row: slice) -> list[str]: ...
    def __getitem__(self, row: int | slice) -> str | list[str]:
        packed = self.packed
        if isinstance(row, slice):
            start, stop = row.start, row.stop
            if row.step is None and start is not None and stop is not None and packed <= start <= stop:
                return self.recent[start - packed : stop - packed]  # the newest rows: a frame's read
            return self._slice(row)
        if row >= packed:
            return self.recent[row - packed]
        if row < 0:
            row += len(self)
            if row < 0:
                raise IndexError("IdList index out of range")
            if row >= packed:
                return self.recent[row - packed]
        totals = self._totals[row >> SHIFT] or self._placed(row >> SHIFT)
        low = row & LOW
        return self._chunks[row >> SHIFT][totals[low] + low : totals[low + 1] + low]

    def __iter__(self) -> Iterator[str]:
        packed = map(self._chunk_ids, range(len(self._chunks)))
        return chain(chain.from_iterable(packed), self.recent)

    def __contains__(self, key: object) -> bool:
        """By a scan: the store's ``IdIndex`` is the way to find an id."""
        if not isinstance(key, str):
            return False
        return key in self.recent or any(key in self._chunk_ids(c) for c in range(len(self._chunks)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, IdList | list | tuple):
            return len(self) == len(other) and self.materialized() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"IdList({self.materialized()!r})"

    def materialized(self) -> list[str]:
        """Every id, as a list: one C-level pass per chunk."""
        return self._rows(0, len(self))

    def take(self, rows: Iterable[SupportsIndex]) -> list[str]:
        """The ids of ``rows`` (any order), materializing the chunks they touch only once
        when they are many."""
        picked = [row.__index__() for row in rows]
        if len(picked) * 8 < len(self):
            return [self[row] for row in picked]
        return list(map(self.materialized().__getitem__, picked))

    def joined(self, rows: Iterable[SupportsIndex] | None = None) -> str | None:
        """The ids of ``rows`` (all: None) joined by ``SEP`` in one str: the packed chunks
        as they are, no str per row. None when an id holds ``SEP`` (the text would not
        say where each id ends)."""
        if rows is not None:
            picked = self.take(rows)
            text = SEP.join(picked)
            return text if text.count(SEP) == max(0, len(picked) - 1) else None
        if not all(self._splittable) or any(SEP in key for key in self.recent):
            return None
        return SEP.join([*self._chunks, *self.recent])

    def equals(self, row: int, key: str) -> bool:
        """``self[row] == key``, without building ``self[row]`` (``0 <= row < len``)."""
        packed = self.packed
        if row >= packed:
            return self.recent[row - packed] == key
        totals = self._totals[row >> SHIFT] or self._placed(row >> SHIFT)
        low = row & LOW
        before = totals[low]
        if totals[low + 1] - before != len(key):
            return False
        return self._chunks[row >> SHIFT].startswith(key, before + low)

    def snapshot(self, count: int | None = None) -> IdList:
        """Rows ``0..count`` (all: None) as an ``IdList`` of their own, sharing the packed
        chunks (immutable): costs the unpacked rows' pointers, not a str per row."""
        count = len(self) if count is None else max(0, min(count, len(self)))
        whole = min(count, self.packed) >> SHIFT
        copy = IdList()
        copy._chunks = self._chunks[:whole]
        copy._totals = self._totals[:whole]
        copy._splittable = self._splittable[:whole]
        copy.packed = whole << SHIFT
        copy.recent = self._rows(copy.packed, count)
        copy.append, copy.extend = copy.recent.append, copy.recent.extend
        return copy

    def _slice(self, wanted: slice) -> list[str]:
        start, stop, step = wanted.indices(len(self))
        if step == 1:
            return self._rows(start, stop)
        if step > 0 and stop > start:
            return self._rows(start, stop)[::step]
        return [self[row] for row in range(start, stop, step)]

    def _rows(self, start: int, stop: int) -> list[str]:
        """Rows ``start..stop`` as a list (``0 <= start``, ``stop <= len``)."""
        packed = self.packed
        if start >= packed or start >= stop:
            return self.recent[start - packed : stop - packed] if stop > start else []
        found: list[str] = []
        row = start
        while row < stop and row < packed:
            chunk = row >> SHIFT
            base = chunk << SHIFT
            end = min(stop, base + CHUNK)
            found += self._chunk_rows(chunk, row - base, end - base)
            row = end
        if stop > packed:
            found += self.recent[: stop - packed]
        return found

    def _chunk_ids(self, chunk: int) -> list[str]:
        return self._chunk_rows(chunk, 0, CHUNK)

    def _chunk_rows(self, chunk: int, low: int, high: int) -> list[str]:
        """Rows ``low..high`` of a chunk (offsets within it, ``low < high``)."""
        text = self._chunks[chunk]
        if high - low >= SPLIT_FROM and self._splittable[chunk]:
            if low == 0 and high == CHUNK:
                return text.split(SEP)
            totals = self._totals[chunk]
            if totals is None:
                return text.split(SEP)[low:high]
            return text[totals[low] + low : totals[high] + high - 1].split(SEP)
        totals = self._totals[chunk] or self._placed(chunk)
        return [text[totals[k] + k : totals[k + 1] + k] for k in range(low, high)]

    def _placed(self, chunk: int) -> array[int]:
        """The running totals of a chunk's id lengths, computed on its first single-row read."""
        totals = self._totals[chunk] = _running_totals(self._chunks[chunk].split(SEP))
        return totals

    # ----- writing ------------------------------------------------------------------------

    def truncate(self, count: int) -> None:
        """Drop rows ``count..``; they must not be packed yet."""
        if count < self.packed:
            raise ValueError(f"rows from {count} on are packed: only unpacked rows can be dropped")
        del self.recent[count - self.packed :]

    def __delitem__(self, rows: slice) -> None:
        """``del ids[count:]`` only: ``truncate(count)``."""
        if not isinstance(rows, slice) or rows.step not in (None, 1) or rows.stop is not None:
            raise TypeError("an IdList drops only its last rows: del ids[count:]")
        self.truncate(rows.indices(len(self))[0])

    def pack(self) -> None:
        """Pack every full chunk of unpacked rows (the oldest first)."""
        recent = self.recent
        full = len(recent) >> SHIFT
        if not full:
            return
        for k in range(full):
            self._add_chunk(recent[k << SHIFT : (k + 1) << SHIFT])
        del recent[: full << SHIFT]
        self.packed += full << SHIFT

    def _add_chunk(self, ids: list[str]) -> None:
        text = SEP.join(ids)
        splittable = text.count(SEP) == CHUNK - 1
        self._chunks.append(text)
        self._splittable.append(splittable)
        # Splitting finds the lengths again later; an id holding SEP makes them needed now.
        self._totals.append(None if splittable else _running_totals(ids))


def _running_totals(ids: list[str]) -> array[int]:
    return array("I", accumulate(map(len, ids), initial=0))
