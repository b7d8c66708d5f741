"""The vocabulary of a ``CampaignView``: its sections and plots, when its layout is
compact, what an app hands through to it, and how its source failed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypedDict

from materia_tui.state import CampaignState

Section = Literal[
    "overview", "candidates", "pareto", "log", "parity", "importance", "hypervolume", "slices", "parallel"
]
SECTIONS: tuple[Section, ...] = (
    "overview",
    "candidates",
    "pareto",
    "log",
    "parity",
    "importance",
    "hypervolume",
    "slices",
    "parallel",
)
# The plots that share the wide layout's plot slot, in the order ``w`` cycles them.
PLOTS: tuple[Section, ...] = ("pareto", "parity", "importance", "hypervolume", "slices", "parallel")
TAB_LABELS: dict[Section, str] = {
    "importance": "Importance",
    "hypervolume": "Hypervol.",
    "parallel": "Parallel",
}
WIDE_MIN_WIDTH = 120  # below this, or below WIDE_MIN_HEIGHT, one section at a time
WIDE_MIN_HEIGHT = 30


class ViewOptions(TypedDict, total=False):
    """What a monitor app hands through to its ``CampaignView``."""

    state: CampaignState | None  # a state to show (default: a new, empty one)
    now: Callable[[], float]  # the clock of shown times (default: time.time)


@dataclass(frozen=True, slots=True)
class SourceFailure:
    exit_code: int
    message: str  # one plain, cleaned sentence


def is_compact(width: int, height: int) -> bool:
    return width < WIDE_MIN_WIDTH or height < WIDE_MIN_HEIGHT
