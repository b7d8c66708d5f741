"""The one contract between the state and every panel of the monitor.

A panel is told what changed and repaints what it must: ``apply_changes(state,
changes, now)``. ``changes`` holds everything folded in since the panel last
painted (the scheduler keeps a change set per panel, so a hidden or throttled
panel misses nothing); ``now`` moves shown times along. The panel's
``cadence`` says how often the scheduler may call it while data streams in.
"""

from __future__ import annotations

from typing import ClassVar, Literal, Protocol, runtime_checkable

from materia_tui.state import CampaignState
from materia_tui.state.changes import ChangeSet

# small: a few changed cells a paint (status, progress, convergence, newest), up to 20 Hz;
# bulk: follow-scrolls rewrite every visible line (table, log), about once a second;
# plot: the most bytes a paint, about every 2 s.
Cadence = Literal["small", "bulk", "plot"]
CADENCES: tuple[Cadence, ...] = ("small", "bulk", "plot")


@runtime_checkable
class Panel(Protocol):
    cadence: ClassVar[Cadence]

    def apply_changes(self, state: CampaignState, changes: ChangeSet, now: float) -> None: ...
