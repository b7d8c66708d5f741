"""Which seqs have been seen: the one implementation of "each seq once"
(docs/PROTOCOL.md section 5, docs/RELIABILITY.md "Who drops duplicates").

The state owns the verdict (``CampaignState.apply`` returns "duplicate"); a
``watch --record`` recording asks the same question with the same rule, so it
holds exactly what the state applied. The WebSocket source needs no ledger: it
delivers in seq order and resumes after the last seq it handed on.
"""

from __future__ import annotations

from typing import Literal

SeqVerdict = Literal["next", "gap", "late", "duplicate"]

# Seqs held above the watermark (seen after a hole) before the oldest holes are given up.
MAX_HELD_ABOVE = 65_536


class SeqLedger:
    """The seqs seen so far, in bounded memory.

    Held as a watermark (every seq up to it has been seen) plus the seqs seen
    above it, after a hole. ``admit`` says what a seq is: ``next`` (the usual
    case), ``gap`` (new, and it opens a hole), ``late`` (new, it fills a hole)
    or ``duplicate``. When more than ``max_above`` seqs are held above holes
    that never fill, the older half is folded into the watermark: a frame for
    one of those old holes would then count as a duplicate. That costs an
    event already given up on, never memory.
    """

    __slots__ = ("_above", "_max_above", "newest", "watermark")

    def __init__(self, max_above: int = MAX_HELD_ABOVE) -> None:
        self.watermark = 0
        self.newest = 0  # the highest seq seen
        self._above: set[int] = set()
        self._max_above = max(1, max_above)

    def __repr__(self) -> str:
        return f"SeqLedger(watermark={self.watermark}, newest={self.newest}, held={len(self._above)})"

    def __contains__(self, seq: int) -> bool:
        return seq <= self.watermark or seq in self._above

    @property
    def held(self) -> int:
        """How many seqs are held above the watermark (the memory in use)."""
        return len(self._above)

    def admit(self, seq: int) -> SeqVerdict:
        """Record ``seq`` as seen, and say what it was."""
        above = self._above
        if seq == self.watermark + 1 and not above:
            self.watermark = self.newest = seq  # in order, no holes: the hot path
            return "next"
        if seq in self:
            return "duplicate"
        verdict: SeqVerdict = "gap" if seq > self.newest + 1 else "late" if seq <= self.newest else "next"
        self.newest = max(self.newest, seq)
        if seq == self.watermark + 1:
            self.watermark = seq
            self._drain()
        else:
            above.add(seq)
            if len(above) > self._max_above:
                self._forget_oldest_holes()
        return verdict

    def _drain(self) -> None:
        above = self._above
        while self.watermark + 1 in above:
            self.watermark += 1
            above.discard(self.watermark)

    def _forget_oldest_holes(self) -> None:
        held = sorted(self._above)
        cut = len(held) // 2
        self.watermark = held[cut - 1] if cut else held[0]
        self._above = set(held[cut:]) if cut else set(held[1:])
        self._drain()
