"""SeqLedger: the one "each seq once" rule, checked against a plain set, and its memory bound."""

from __future__ import annotations

import random

import pytest

from materia_tui.protocol.seqs import SeqLedger


def test_verdicts_in_order_after_a_gap_late_and_again() -> None:
    ledger = SeqLedger()
    assert [ledger.admit(s) for s in (1, 2, 5, 3, 5, 4, 6, 2)] == [
        "next", "next", "gap", "late", "duplicate", "late", "next", "duplicate",
    ]
    assert ledger.watermark == ledger.newest == 6 and ledger.held == 0


@pytest.mark.parametrize("seed", range(20))
def test_it_agrees_with_an_unbounded_set_while_under_its_bound(seed: int) -> None:
    rng = random.Random(seed)
    seqs = [rng.randint(1, 300) for _ in range(2000)]
    ledger, seen, newest = SeqLedger(max_above=1000), set[int](), 0
    for seq in seqs:
        verdict = ledger.admit(seq)
        if seq in seen:
            assert verdict == "duplicate"
        else:
            assert verdict == ("gap" if seq > newest + 1 else "late" if seq <= newest else "next")
        seen.add(seq)
        newest = max(newest, seq)
        assert ledger.newest == newest


def test_holes_that_never_fill_cost_bounded_memory() -> None:
    ledger = SeqLedger(max_above=100)
    for seq in range(2, 100_000, 2):  # every odd seq is missing for good
        assert ledger.admit(seq) != "duplicate"
        assert ledger.held <= 100
    assert ledger.newest == 99_998
    assert ledger.admit(99_998) == "duplicate"  # recent seqs are still known
    assert ledger.admit(99_997) == "late"  # and recent holes can still fill
    assert ledger.admit(3) == "duplicate"  # an old hole was given up on: its late frame is dropped
