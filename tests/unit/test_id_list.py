"""IdList (row -> id, packed a chunk at a time) reads back exactly what a plain list
holds, through every operation the store uses; IdIndex over it finds what a dict finds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from materia_tui.state import id_list
from materia_tui.state.id_index import IdIndex
from materia_tui.state.id_list import SEP, IdList
from tests.support.id_index_checks import assert_finds_what_a_dict_finds

SMALL_CHUNK = 3  # 8 rows a chunk: many chunks, and reads across their edges, in a small example

ascii_ids = st.text(alphabet="abc-0123456789", max_size=5)
any_ids = st.text(max_size=4)  # non-ASCII, empty, and the separator itself (a chunk not split)
ids = st.one_of(ascii_ids, any_ids)

operation = st.one_of(
    st.tuples(st.just("extend"), st.lists(ids, max_size=20)),
    st.tuples(st.just("append"), ids),
    st.tuples(st.just("truncate"), st.integers(0, 30)),  # rows dropped from the unpacked end
    st.tuples(st.just("pack"), st.none()),
)


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(id_list, "SHIFT", SMALL_CHUNK)
    monkeypatch.setattr(id_list, "CHUNK", 1 << SMALL_CHUNK)
    monkeypatch.setattr(id_list, "LOW", (1 << SMALL_CHUNK) - 1)
    monkeypatch.setattr(id_list, "SPLIT_FROM", 3)


def apply(ids: IdList, reference: list[str], name: str, argument: object) -> None:
    if name == "extend":
        ids.extend(argument)  # type: ignore[arg-type]
        reference.extend(argument)  # type: ignore[arg-type]
    elif name == "append":
        ids.append(argument)  # type: ignore[arg-type]
        reference.append(argument)  # type: ignore[arg-type]
    elif name == "truncate":
        keep = max(ids.packed, len(reference) - int(argument))  # type: ignore[call-overload]
        ids.truncate(keep)
        del reference[keep:]
    else:
        ids.pack()


def assert_reads_as(ids: IdList, reference: list[str]) -> None:
    count = len(reference)
    assert len(ids) == count
    assert list(ids) == reference and ids.materialized() == reference and ids == reference
    for start in range(-2, count + 2, 3):  # first: slices of chunks whose rows were never read alone
        for stop in (None, start + 1, start + 5, start + 13, count):
            for step in (None, 1, 2, -1, -3):
                assert ids[start:stop:step] == reference[start:stop:step], (start, stop, step)
    assert [ids[row] for row in range(count)] == reference
    assert [ids[row] for row in range(-count, 0)] == reference
    assert ids[2:11] == reference[2:11]  # and once they were
    assert all(ids.equals(row, key) for row, key in enumerate(reference))
    assert not any(ids.equals(row, key + "x") for row, key in enumerate(reference))
    rows = list(range(count - 1, -1, -2))
    assert ids.take(rows) == [reference[row] for row in rows]
    for row in (count, -count - 1):
        with pytest.raises(IndexError):
            ids[row]


@settings(max_examples=200, deadline=None)
@given(st.lists(operation, max_size=25))
def test_an_id_list_reads_as_the_list_it_was_given(operations: list[tuple[str, object]]) -> None:
    ids, reference = IdList(), list[str]()
    for name, argument in operations:
        apply(ids, reference, name, argument)
        assert ids.packed <= len(reference) and ids.packed % id_list.CHUNK == 0
        assert len(ids.recent) < id_list.CHUNK or name != "pack"
    assert_reads_as(ids, reference)
    for count in {0, len(reference) // 2, len(reference) - 1, len(reference)}:
        snapshot = ids.snapshot(max(count, 0))
        assert_reads_as(snapshot, reference[: max(count, 0)])
    # a snapshot is a copy: the list goes on growing and packing without changing it
    frozen = ids.snapshot()
    ids.extend(["later"] * 20)
    ids.pack()
    assert_reads_as(frozen, reference)


def test_a_chunk_whose_ids_hold_the_separator_is_read_row_by_row() -> None:
    keys = [f"a{SEP}{k}" if k % 3 == 0 else "" if k % 5 == 0 else f"é{k}" for k in range(20)]
    ids = IdList(keys)
    ids.pack()
    assert ids.packed == 16 and ids._splittable == [False, False]
    assert_reads_as(ids, keys)
    plain = IdList([f"r{k}" for k in range(16)])
    plain.pack()
    assert plain._splittable == [True, True]


def test_packed_rows_are_never_dropped() -> None:
    ids = IdList([str(k) for k in range(10)])
    ids.pack()
    ids.truncate(8)  # the unpacked rows 8 and 9: fine
    with pytest.raises(ValueError, match="packed"):
        ids.truncate(7)
    with pytest.raises(ValueError, match="packed"):
        del ids[3:]
    del ids[8:]
    assert list(ids) == [str(k) for k in range(8)]


def test_packing_keeps_only_the_newest_rows_as_strs() -> None:
    ids = IdList()
    ids.extend(str(k) for k in range(21))
    ids.pack()
    assert ids.packed == 16 and ids.recent == [str(k) for k in range(16, 21)]
    ids.pack()  # nothing more to pack
    assert ids.packed == 16


@settings(max_examples=60, deadline=None)
@given(
    st.lists(ids, max_size=400, unique=True),
    st.lists(ids, max_size=30),
    st.lists(st.integers(1, 40), min_size=1, max_size=20),
)
def test_the_id_index_over_packed_ids_finds_what_a_dict_finds(
    keys: list[str], probes: list[str], batch_sizes: list[int]
) -> None:
    """Batches added as the store adds them (appended, indexed, then packed), some of them
    offered with a known or repeated id first (refused, the index left as it was)."""
    ids = IdList()
    index = IdIndex(ids)
    start = 0
    sizes = iter(batch_sizes * 400)
    while start < len(keys):
        batch = keys[start : start + next(sizes)]
        if start and len(batch) > 1:  # a batch holding a known id, then one repeating an id
            for bad in ([*batch, keys[start - 1]], [*batch, batch[0]]):
                ids.extend(bad)
                assert not index.added_if_new(start)
                ids.truncate(start)
        ids.extend(batch)
        assert index.added_if_new(start)
        ids.pack()
        start += len(batch)
    assert_finds_what_a_dict_finds(index, keys, probes)


def test_the_id_index_is_built_over_rows_already_packed() -> None:
    keys = [f"k{n}" for n in range(3000)]
    ids = IdList(keys)
    ids.pack()
    index = IdIndex(ids)  # more rows than its first table holds: it grows
    assert index.get_many(keys) == list(range(3000))
    ids.extend(["new", "k5"])
    with pytest.raises(ValueError, match="packed"):
        index.added_if_new(0)
    assert not index.added_if_new(3000)
    ids.truncate(3000)
    ids.append("new")
    index.added(3000)
    assert index["new"] == 3000 and index.get("k5") == 5 and "nope" not in index


class Colliding(str):
    """An id whose hash is every other one's: each probe must confirm by the id itself."""

    def __hash__(self) -> int:
        return 7


def test_ids_with_equal_hashes_are_told_apart_by_the_ids_themselves() -> None:
    keys = [Colliding(f"k{n}") for n in range(40)]
    ids = IdList()
    index = IdIndex(ids)
    for start in range(0, 40, 10):
        ids.extend(keys[start : start + 10])
        assert index.added_if_new(start)
        ids.pack()  # rows 0..31 packed: compared in their chunks
    assert index.get_many([*keys, Colliding("nope")]) == [*range(40), None]
    ids.extend([Colliding("new"), Colliding("k3")])
    assert not index.added_if_new(40)
    ids.truncate(40)
    assert index.get(Colliding("new")) is None and index.get(Colliding("k39")) == 39


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from([f"c{k}" for k in range(60)] + ["ü", "", "a\0b"]), min_size=1, max_size=12),
             min_size=1, max_size=15),
    st.booleans(),
)  # fmt: skip
def test_a_store_with_packed_ids_reads_them_back_everywhere(batches: list[list[str]], numpy_sort: bool) -> None:
    """Proposals (some re-proposing known ids) and evaluations folded with 8-row chunks:
    the ids, the index, the order by id, the snapshots and the filter read what came."""
    import json

    from materia_tui.protocol import Rejected, parse
    from materia_tui.state import CampaignState, ordering
    from materia_tui.state.columns import filter_columns_of, snapshot_columns

    state = CampaignState("c")
    seen: dict[str, None] = {}
    for seq, batch in enumerate(batches, start=1):
        kind = "candidates_evaluated" if seq % 3 == 0 else "candidates_proposed"
        if kind == "candidates_proposed":
            body = {"candidates": [{"id": key, "parameters": {"x": 1.0}} for key in batch]}
        else:
            body = {"results": [{"candidate_id": key, "objectives": {"f": float(len(key))}} for key in batch]}
        event = parse(json.dumps({"type": kind, "iteration": 1, "seq": seq, **body}))
        assert not isinstance(event, Rejected), event
        state.apply(event, float(seq))
        seen.update(dict.fromkeys(batch))
    store, expected = state.store, list(seen)
    assert list(store.ids) == expected and [c.id for c in state.candidate_list] == expected
    assert len(store.status) == len(expected)  # a column read writes the tail, and packs its ids
    assert store.ids.packed == len(expected) >> 3 << 3
    assert [store.index.get(key) for key in expected] == list(range(len(expected)))
    if numpy_sort:
        ordering.NUMPY_ROWS, saved = 1, ordering.NUMPY_ROWS
    try:
        for rows in (range(len(expected)), list(range(0, len(expected), 3))):
            for reverse in (False, True):
                order = ordering.sort_rows(store, "id", rows, reverse)
                assert [int(row) for row in order] == sorted(rows, key=expected.__getitem__, reverse=reverse)
    finally:
        if numpy_sort:
            ordering.NUMPY_ROWS = saved
    assert snapshot_columns(state).columns().ids == expected
    assert list(filter_columns_of(state, frozenset({"id"}))["id"]) == expected  # type: ignore[call-overload]
