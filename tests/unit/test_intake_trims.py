"""apply_item and the heap trimmer: only large batches count towards a trim."""

from __future__ import annotations

import json

import pytest

from materia_tui.protocol import parse
from materia_tui.source import EventReceived
from materia_tui.state import CampaignState, intake
from materia_tui.state.heap import HeapTrimmer
from materia_tui.state.intake import TRIMMED_BATCH, apply_item


def proposal(seq: int, size: int) -> EventReceived:
    candidates = [{"id": f"c{seq}-{k}", "parameters": {"x": float(k)}} for k in range(size)]
    body = {"type": "candidates_proposed", "iteration": 1, "seq": seq, "candidates": candidates}
    return EventReceived(parse(json.dumps(body)), float(seq))  # type: ignore[arg-type]


def evaluation(seq: int, ids: list[str]) -> EventReceived:
    results = [{"candidate_id": key, "objectives": {"y": 1.0}} for key in ids]
    body = {"type": "candidates_evaluated", "iteration": 1, "seq": seq, "results": results}
    return EventReceived(parse(json.dumps(body)), float(seq))  # type: ignore[arg-type]


def test_small_batches_never_trim_and_large_ones_count(monkeypatch: pytest.MonkeyPatch) -> None:
    trims: list[int] = []

    def trim(pad: int) -> int:
        trims.append(pad)
        return 1

    monkeypatch.setattr(intake, "TRIMMER", HeapTrimmer(every=2 * TRIMMED_BATCH, trim=trim))
    state = CampaignState("c")
    for seq in range(1, 101):  # 5-candidate frames: 500 items, more than a trim's worth
        apply_item(state, proposal(seq, 5))
    assert trims == []
    apply_item(state, proposal(101, TRIMMED_BATCH))
    assert trims == []  # one large batch: half a trim's worth
    apply_item(state, evaluation(102, [f"c101-{k}" for k in range(TRIMMED_BATCH)]))
    assert trims == [0]  # a large evaluation counts as a large proposal does
    assert len(state.candidates) == 600 and state.evaluations == TRIMMED_BATCH
