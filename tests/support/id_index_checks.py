"""What an IdIndex must answer, checked against a dict of the same ids."""

from __future__ import annotations

from materia_tui.state.id_index import IdIndex


def assert_finds_what_a_dict_finds(index: IdIndex, keys: list[str], probes: list[str]) -> None:
    """``index`` holds ``keys`` at rows 0..; ``probes`` may or may not be among them."""
    reference = {key: row for row, key in enumerate(keys)}
    for key in keys + probes:
        assert index.get(key) == reference.get(key)
        assert (key in index) == (key in reference)
    assert index.get_many(keys + probes) == [reference.get(key) for key in keys + probes]
    assert len(index) == len(keys) and list(index) == keys
