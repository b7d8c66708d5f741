"""Reconnect backoff: capped exponential bound, full jitter, deterministic with a seeded rng."""

from __future__ import annotations

import random

import pytest

from materia_tui.source.backoff import Backoff


def test_bound_doubles_from_initial_and_is_capped() -> None:
    backoff = Backoff(0.5, 30.0)
    assert [backoff.bound(n) for n in range(1, 9)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert backoff.bound(10_000) == 30.0  # no overflow for very long outages


def test_delays_are_jittered_within_the_bound() -> None:
    backoff = Backoff(0.5, 30.0, random.Random(1))
    for attempt in range(1, 12):
        delays = [backoff.delay(attempt) for _ in range(200)]
        assert all(0.0 <= d <= backoff.bound(attempt) for d in delays)
        assert len(set(delays)) > 150  # really random, not a constant
        assert max(delays) > 0.8 * backoff.bound(attempt)  # full jitter spans the range


def test_a_seeded_rng_gives_the_same_delays() -> None:
    first = [Backoff(1.0, 60.0, random.Random(42)).delay(n) for n in range(1, 10)]
    second = [Backoff(1.0, 60.0, random.Random(42)).delay(n) for n in range(1, 10)]
    assert first == second


def test_nonpositive_delays_are_refused() -> None:
    with pytest.raises(ValueError):
        Backoff(0.0, 1.0)
