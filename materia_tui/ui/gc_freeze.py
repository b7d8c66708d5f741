"""The campaign's long-lived objects kept out of the cyclic collector's scans (issue 18: no stall).

A campaign of 100k candidates is about a million tracked objects that live as
long as the monitor. Every full (generation-2) collection walks all of them
with the GIL held, so the UI thread stops: 40-80 ms a pass at 100k, measured
as single ticks of the event loop 90-160 ms late, whichever thread happened to
trigger it. ``gc.freeze()`` moves every tracked object into the permanent
generation, which no collection scans; doing it each time the state has grown
by a tenth keeps what the collector walks proportional to the growth, not to
the campaign.

A young collection (generations 0 and 1) runs first, so that garbage cycles
still waiting there are freed rather than frozen. An object frozen that later
becomes part of a garbage cycle is never freed (plain reference counting still
frees everything else): the price, small because a campaign's candidates are
never dropped. Below ``MINIMUM`` candidates nothing is frozen: a full pass
over a small campaign is short.
"""

from __future__ import annotations

import gc

MINIMUM = 5_000  # candidates before the first freeze, and the least growth between two
GROWTH = 0.10  # the growth, as a fraction of what was frozen, that freezes again


class GcFreezer:
    """Freezes the collector's tracked objects when a campaign has grown enough (``note``)."""

    def __init__(self) -> None:
        self.frozen_at = 0  # candidates held at the last freeze
        self.freezes = 0

    def due(self, candidates: int) -> bool:
        return candidates >= self.frozen_at + max(MINIMUM, int(self.frozen_at * GROWTH))

    def note(self, candidates: int) -> bool:
        """Freeze if ``candidates`` grew enough since the last freeze; whether it did."""
        if not self.due(candidates):
            return False
        gc.collect(1)
        gc.freeze()
        self.frozen_at = candidates
        self.freezes += 1
        return True
