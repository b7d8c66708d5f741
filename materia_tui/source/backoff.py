"""Capped exponential backoff with full jitter for reconnect delays.

Full jitter (a uniform draw between 0 and the capped exponential bound) keeps
many clients that lost the same server from reconnecting in lockstep.
"""

from __future__ import annotations

import random


class Backoff:
    """Delays for consecutive failed attempts: ``delay(n)`` for attempt n >= 1."""

    def __init__(self, initial: float, maximum: float, rng: random.Random | None = None) -> None:
        if initial <= 0 or maximum <= 0:
            raise ValueError("backoff delays must be positive")
        self.initial = initial
        self.maximum = max(initial, maximum)
        self._rng = rng if rng is not None else random.Random()

    def bound(self, attempt: int) -> float:
        """The largest delay attempt ``attempt`` may wait: initial * 2**(attempt-1), capped."""
        exponent = min(max(attempt, 1) - 1, 62)  # 2**62 already exceeds any sane cap
        return min(self.maximum, self.initial * (2.0**exponent))

    def delay(self, attempt: int) -> float:
        """A jittered delay in [0, bound(attempt)]."""
        return self._rng.uniform(0.0, self.bound(attempt))
