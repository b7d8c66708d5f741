"""Soak (bench/soak.py): many events through parser + reducer, a headless monitor and
WebSocket, with bounded memory and no slowdown (ratios, never absolute timings).

CI runs a reduced size in seconds; ``MATERIA_SOAK_FULL=1`` runs one million
events (100,000 over WebSocket), which takes minutes.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from bench.soak import (
    FULL_EVENTS,
    FULL_WS_EVENTS,
    QUICK_EVENTS,
    QUICK_WS_EVENTS,
    SoakRun,
    soak_reducer,
    soak_ui,
    soak_websocket,
)

FULL = os.environ.get("MATERIA_SOAK_FULL") == "1"
EVENTS = FULL_EVENTS if FULL else QUICK_EVENTS
UI_EVENTS = FULL_EVENTS if FULL else QUICK_EVENTS // 2
WS_EVENTS = FULL_WS_EVENTS if FULL else QUICK_WS_EVENTS
TIMEOUT = 3600 if FULL else 120


def check(run: SoakRun) -> None:
    print(f"\n{run.summary()}")
    assert len(run.samples) == 11
    assert not run.failures(), run.failures()


@pytest.mark.timeout(TIMEOUT)
def test_parser_and_reducer_soak() -> None:
    check(soak_reducer(EVENTS))


@pytest.mark.timeout(TIMEOUT)
def test_headless_monitor_soak() -> None:
    check(asyncio.run(soak_ui(UI_EVENTS)))


@pytest.mark.timeout(TIMEOUT)
def test_websocket_soak() -> None:
    check(asyncio.run(soak_websocket(WS_EVENTS)))


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
