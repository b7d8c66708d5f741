"""The newest candidates, as many as fit: fills the compact overview's spare rows.

One line per candidate (newest last): Pareto mark, id, iteration, status and
each objective's measured value with its unit (or ``~`` the prediction while
it is only proposed).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text

from materia_tui.sanitize import clean
from materia_tui.state import CampaignState, CandidateLike
from materia_tui.state.changes import ChangeSet
from materia_tui.ui import format as fmt
from materia_tui.ui.panel import Cadence
from materia_tui.ui.widgets.text_panel import TextPanel

ID_WIDTH = 10
STATUS_WIDTH = 10
MAX_OBJECTIVES = 3
STATUS_STYLES = {"proposed": "dim", "failed": "bold", "infeasible": "italic"}


def objective_cell(cand: CandidateLike, name: str, unit: str | None) -> str:
    if name in cand.objectives:
        return fmt.value_with_unit(cand.objectives[name], unit)
    if name in cand.predicted:
        return "~" + fmt.value_with_unit(cand.predicted[name], unit)
    return "-"


class NewestPanel(TextPanel):
    """``apply_changes`` shows the newest ``height - 1`` candidates under a header."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._state: CampaignState | None = None

    cadence: ClassVar[Cadence] = "small"

    def apply_changes(self, state: CampaignState, changes: ChangeSet, now: float) -> None:
        if changes.rows or self._state is None:
            self._show(state)

    def _show(self, state: CampaignState) -> None:
        self._state = state
        rows = max(0, (self.content_size.height or 6) - 1)
        objectives = state.objectives[:MAX_OBJECTIVES]
        newest = state.candidate_list[-rows:] if rows else []
        widths = [
            max(
                [len(clean(name, 20))] + [len(objective_cell(c, name, state.units.get(name))) for c in newest]
            )
            for name in objectives
        ]
        text = Text(no_wrap=True, overflow="ellipsis")
        header = f"  {'newest':<{ID_WIDTH}} {'it':>3} {'status':<{STATUS_WIDTH}}"
        for name, width in zip(objectives, widths, strict=True):
            header += f" {clean(name, 20):>{width}}"
        text.append(header, "bold")
        if not newest:
            text.append("\n  (no candidate yet)", "dim")
        for cand in newest:
            text.append("\n")
            text.append("★ " if cand.on_front else "  ", "bold")
            iteration = str(cand.iteration) if cand.iteration is not None else "-"
            text.append(f"{clean(cand.id, ID_WIDTH):<{ID_WIDTH}} {iteration:>3} ")
            text.append(f"{cand.status:<{STATUS_WIDTH}}", STATUS_STYLES.get(cand.status, ""))
            for name, width in zip(objectives, widths, strict=True):
                text.append(f" {objective_cell(cand, name, state.units.get(name)):>{width}}")
        self.show(text)

    def on_resize(self) -> None:
        if self._state is not None:
            self._show(self._state)
