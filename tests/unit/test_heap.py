"""The heap trimmer of the intake path (state/heap.py)."""

from __future__ import annotations

import platform

import pytest

from materia_tui.state.heap import HeapTrimmer


def test_trims_once_every_so_many_folded_items() -> None:
    calls: list[int] = []

    def trim(pad: int) -> int:
        calls.append(pad)
        return 1

    trimmer = HeapTrimmer(every=10, trim=trim)
    assert [trimmer.folded(4) for _ in range(5)] == [False, False, True, False, False]
    assert calls == [0]
    assert trimmer.folded(12) and calls == [0, 0]


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_the_real_trim_runs_on_glibc() -> None:
    trimmer = HeapTrimmer(every=1)
    assert trimmer.folded(1)


def test_the_mmap_threshold_is_pinned_on_glibc() -> None:
    from materia_tui.state.heap import fix_mmap_threshold

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt is glibc's")
    assert fix_mmap_threshold()


def test_the_c_library_is_opened_once_for_both_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    import ctypes

    from materia_tui.state import heap

    opened: list[object] = []
    monkeypatch.setattr(ctypes, "CDLL", lambda name: opened.append(name))
    heap._load_trim()  # both read the library opened at import
    heap.fix_mmap_threshold()
    assert opened == []
