"""The intake's fast paths give what the plain ones give: the id index's batch check
and its undo, arrays packed with struct, the cheap ``EventReceived`` constructor and
the live buffer's ``offer``."""

from __future__ import annotations

import asyncio
import dataclasses
from array import array
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from materia_tui.source import EventReceived, event_received
from materia_tui.source.websocket_link import LiveBuffer
from materia_tui.state.id_index import IdIndex
from materia_tui.state.id_list import IdList
from materia_tui.state.typed_columns import packed_array

keys = st.text(alphabet="abcdef", min_size=1, max_size=4)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(keys, min_size=0, max_size=8), min_size=1, max_size=200))
def test_a_batch_is_indexed_whole_or_not_at_all(batches: list[list[str]]) -> None:
    """Batches with known or repeated ids (likely: few distinct keys, a small table that
    grows and collides) are refused and leave the table byte for byte as it was."""
    ids = IdList()
    index = IdIndex(ids)
    reference: dict[str, int] = {}
    for batch in batches:
        start = len(ids)
        ids.extend(batch)
        all_new = len(set(batch)) == len(batch) and not any(key in reference for key in batch)
        before = None if 2 * len(ids) > len(index._table) else bytes(index._table)
        assert index.added_if_new(start) == all_new
        if all_new:
            reference.update((key, row) for row, key in enumerate(batch, start))
        else:
            del ids[start:]
            if before is not None:
                assert bytes(index._table) == before
        probes = batch + list(reference)[-5:] + ["zzz"]
        assert index.get_many(probes) == [reference.get(key) for key in probes]
    assert [index.get(key) for key in reference] == list(reference.values())


@pytest.mark.parametrize(
    ("typecode", "values"),
    [
        ("d", [0.5 * k for k in range(100)]),
        ("d", [1, 2**60, True, -3.25] * 20),  # ints and bools become floats, as array makes them
        ("i", list(range(-50, 50))),
        ("I", list(range(100))),
        ("d", [1.0, 2.0]),  # short: array itself
    ],
)
def test_packed_arrays_equal_arrays(typecode: str, values: list[Any]) -> None:
    packed = packed_array(typecode, values)
    assert packed.typecode == typecode and packed == array(typecode, values)


@pytest.mark.parametrize(
    ("typecode", "values"),
    [("d", [1.0] * 40 + [None]), ("i", [1] * 40 + [2**40]), ("I", [-1] * 40), ("i", [1] * 40 + ["x"])],
)
def test_packed_arrays_refuse_what_arrays_refuse_with_the_same_error(typecode: str, values: list[Any]) -> None:
    with pytest.raises((TypeError, OverflowError)) as expected:
        array(typecode, values)
    with pytest.raises(expected.type):
        packed_array(typecode, values)


def test_the_cheap_constructor_builds_the_same_frozen_item() -> None:
    fast, plain = event_received("event", 12.5), EventReceived("event", 12.5)  # type: ignore[arg-type]
    assert type(fast) is EventReceived and fast == plain and hash(fast) == hash(plain)
    assert repr(fast) == repr(plain)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.received_at = 1.0  # type: ignore[misc]


async def test_offer_takes_what_put_would_take_without_waiting() -> None:
    buffer = LiveBuffer(max_frames=2, max_bytes=10)
    assert buffer.offer("a", 4) and buffer.offer("b", 4)
    assert not buffer.offer("c", 1)  # full by count
    assert buffer.get_nowait() == "a"
    assert not buffer.offer("c", 7)  # full by bytes (4 + 7 > 10)
    assert buffer.offer("c", 6)
    waiting = asyncio.create_task(buffer.put("d", 1))
    await asyncio.sleep(0)
    assert not waiting.done()  # put waits where offer refuses
    assert buffer.get_nowait() == "b"
    await asyncio.wait_for(waiting, 1)
    assert [buffer.get_nowait(), buffer.get_nowait()] == ["c", "d"]
    huge = LiveBuffer(max_frames=4, max_bytes=10)
    assert huge.offer("x" * 100, 100)  # one frame is always admitted, however large
