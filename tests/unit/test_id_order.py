"""The order by id with numpy (byte keys): Python's own str order, for any ids."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from materia_tui.state import ordering
from materia_tui.state.id_list import CHUNK
from materia_tui.state.store import CandidateStore

# Any code point but NUL, lone surrogates included (JSON's "\ud800" escapes make them).
id_char = st.one_of(st.characters(exclude_characters="\0"), st.sampled_from(["\ud800", "\udfff", "\U0010ffff"]))
unique_ids = st.lists(st.text(id_char, max_size=8), unique=True, max_size=40)


def store_of(ids: list[str]) -> CandidateStore:
    store = CandidateStore()
    store.add_rows(ids, 1)
    return store


def python_order(ids: list[str], rows: list[int], reverse: bool = False) -> list[int]:
    return sorted(rows, key=ids.__getitem__, reverse=reverse)


@settings(max_examples=150, deadline=None)
@given(unique_ids, st.data())
def test_byte_keys_order_ids_as_python_does(ids: list[str], data: st.DataObject) -> None:
    store = store_of(ids)
    everything = range(len(ids))
    assert [int(r) for r in ordering._id_order(store, everything)] == python_order(ids, list(everything))
    subset = data.draw(st.lists(st.sampled_from(list(everything)), unique=True) if ids else st.just([]))
    assert [int(r) for r in ordering._id_order(store, subset)] == python_order(ids, subset)


@pytest.mark.parametrize("reverse", [False, True])
def test_the_table_sort_by_id_reads_packed_chunks_and_reverses(reverse: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = [f"c{n % 97}-{n}é" for n in range(2 * CHUNK + 300)]  # two packed chunks and a tail
    store = store_of(ids)
    assert store.ids.packed == 2 * CHUNK
    monkeypatch.setattr(ordering, "NUMPY_ROWS", 0)
    rows = range(len(ids))
    assert [int(r) for r in ordering.sort_rows(store, "id", rows, reverse)] == python_order(ids, list(rows), reverse)
    some = list(range(0, len(ids), 7))
    assert [int(r) for r in ordering.sort_rows(store, "id", some, reverse)] == python_order(ids, some, reverse)


@pytest.mark.parametrize(
    "odd_id",
    ["a\0b", "x" * (ordering.MAX_ID_KEY_BYTES + 1)],
    ids=["an id holding NUL", "an id longer than the keys"],
)
def test_ids_unfit_for_byte_keys_still_sort_in_python(odd_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = ["b", odd_id, "a", "a\0", "x"]
    store = store_of(ids)
    assert ordering._id_order(store, range(len(ids))) is None
    monkeypatch.setattr(ordering, "NUMPY_ROWS", 0)
    for reverse in (False, True):
        order = ordering.sort_rows(store, "id", range(len(ids)), reverse)
        assert [int(r) for r in order] == python_order(ids, list(range(len(ids))), reverse)


def test_the_last_id_ends_where_the_text_does() -> None:
    ids = ["aa", "b", "a"]  # the last id is a prefix of the first: its key must stop at its end
    assert [int(r) for r in ordering._id_order(store_of(ids), range(3))] == [2, 0, 1]
