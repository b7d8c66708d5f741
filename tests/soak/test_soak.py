"""Soak (bench/soak.py): many events through parser + reducer, a headless monitor and
WebSocket, with bounded memory and no slowdown (ratios, never absolute timings).

CI runs a reduced size in seconds; ``MATERIA_SOAK_FULL=1`` runs one million
events (100,000 over WebSocket), which takes minutes.
"""

from __future__ import annotations

import os

import pytest

from bench.soak import (
    FULL_EVENTS,
    FULL_WS_EVENTS,
    QUICK_EVENTS,
    QUICK_WS_EVENTS,
    SoakRun,
    run_isolated,
)
from materia_tui.state import ETA_WINDOW, CampaignState, IterationRecord

FULL = os.environ.get("MATERIA_SOAK_FULL") == "1"
EVENTS = FULL_EVENTS if FULL else QUICK_EVENTS
UI_EVENTS = FULL_EVENTS if FULL else QUICK_EVENTS // 2
WS_EVENTS = FULL_WS_EVENTS if FULL else QUICK_WS_EVENTS
TIMEOUT = 3600 if FULL else 120


def check(run: SoakRun) -> None:
    print(f"\n{run.summary()}")
    assert len(run.samples) == 11
    assert not run.failures(), run.failures()


# Each run in a fresh process, so memory freed by another test cannot hide growth.
@pytest.mark.timeout(TIMEOUT)
def test_parser_and_reducer_soak() -> None:
    check(run_isolated("reducer", EVENTS))


@pytest.mark.timeout(TIMEOUT)
def test_headless_monitor_soak() -> None:
    check(run_isolated("ui", UI_EVENTS))


@pytest.mark.timeout(TIMEOUT)
def test_websocket_soak() -> None:
    check(run_isolated("websocket", WS_EVENTS))


def test_eta_and_progress_queries_cost_the_same_for_a_long_campaign(monkeypatch: pytest.MonkeyPatch) -> None:
    """The monitor asks for ETA and progress on every refresh: a cost growing with the
    number of iterations made the full soak's monitor 4x slower by the millionth event."""
    from materia_tui.protocol import IterationCompleted, IterationStarted

    state = CampaignState("camp-long")
    for number in range(1, 20_001):
        state.apply(IterationStarted(iteration=number, timestamp="2026-01-01T00:00:00Z"), 0.0)
        state.apply(IterationCompleted(iteration=number, best_value=1.0, pareto_size=0), 0.0)
    calls = 0
    original = IterationRecord.duration

    def counting(record: IterationRecord) -> float | None:
        nonlocal calls
        calls += 1
        return original.fget(record)  # type: ignore[attr-defined, no-any-return]

    monkeypatch.setattr(IterationRecord, "duration", property(counting))
    assert state.completed_iterations == 20_000
    state.eta(1.0)
    assert state.mean_iteration_seconds() == 0.0
    assert calls <= 4 * ETA_WINDOW, f"{calls} iteration records read for one ETA"


def test_the_soak_checks_can_fail() -> None:
    """A run whose rate halves and whose memory grows late must be flagged."""
    from bench.soak import Sample

    run = SoakRun("synthetic", 1000)
    for k in range(11):
        seconds = k * 1.0 if k < 8 else 7 + (k - 7) * 3.0  # the last three tenths three times slower
        rss = 100 * 2**20 + (k > 5) * (k - 5) * 50 * 2**20  # +50 MiB a tenth, late only
        run.samples.append(Sample(k * 100, seconds, rss))
    problems = " ".join(run.failures())
    assert "slowed down" in problems and "grows faster late" in problems
