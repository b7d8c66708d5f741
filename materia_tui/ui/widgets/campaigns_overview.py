"""The "All" tab: one compact row per campaign, and the status dot of each tab.

A status is shown by a symbol AND a colour, so it still reads under NO_COLOR
(Textual then draws every colour as a grey).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import DataTable

from materia_tui.sanitize import clean
from materia_tui.state import CampaignState
from materia_tui.ui import format as fmt

# status -> (symbol, style)
DOTS: dict[str, tuple[str, str]] = {
    "connecting": ("○", "dim"),
    "waiting": ("○", "dim"),
    "live": ("●", "bold green"),
    "reconnecting": ("◐", "bold yellow"),
    "closed": ("■", "dim"),
    "completed": ("✔", "bold green"),
    "cancelled": ("■", "yellow"),
    "failed": ("✖", "bold red"),
    "error": ("✖", "bold red"),
}
COLUMNS = ("", "campaign", "status", "iter", "best", "last")
# Fixed widths (the first rows arrive before any data): the whole row fits 80 columns.
WIDTHS = (1, 22, 12, 7, 18, 8)


def status_dot(status: str) -> Text:
    symbol, style = DOTS.get(status, ("?", "bold"))
    return Text(symbol, style)


def tab_label(campaign_id: str, status: str) -> Content:
    """``● camp-1``: the tab of one campaign (Content: a str label would be read as markup)."""
    label = status_dot(status)
    label.append(" " + clean(campaign_id, 32))
    return Content.from_rich_text(label)


def best_text(state: CampaignState) -> str:
    """The best value of the primary objective, with its unit (the tab shows which objective)."""
    primary = state.objectives[0] if state.objectives else None
    if primary is not None and primary in state.best:
        return fmt.value_with_unit(state.best[primary].value, state.units.get(primary))
    if state.best_history:
        return fmt.number(state.best_history[-1][1])
    return "-"


def overview_cells(campaign_id: str, status: str, state: CampaignState, now: float) -> tuple[Text, ...]:
    total = state.max_iterations
    iteration = f"{state.current_iteration}/{total if total else '?'}"
    last = state.last_event_at
    silent = fmt.quiet(now - last) if last is not None and not state.is_finished else None
    # The "last" column is 8 cells: a clock time, or for a silent stream "5m+" in yellow.
    shown = fmt.clock(last) if last is not None else "-"
    age = Text(silent.removeprefix("quiet "), "yellow") if silent else Text(shown)
    name = clean(campaign_id, 32) + (f" · {clean(state.name, 32)}" if state.name else "")
    return (
        status_dot(status),
        Text(name),
        Text(status, DOTS.get(status, ("", ""))[1]),
        Text(iteration, justify="right"),
        Text(best_text(state)),
        age,
    )


class CampaignsOverview(DataTable[Text]):
    """Rows keyed by campaign id; ``enter`` opens the campaign's tab (RowSelected)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Open", show=False)]

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = False
        for label, width in zip(COLUMNS, WIDTHS, strict=True):
            self.add_column(label, width=width, key=label or "dot")

    def show(self, campaign_id: str, status: str, state: CampaignState, now: float) -> None:
        cells = overview_cells(campaign_id, status, state, now)
        if campaign_id not in self.rows:
            self.add_row(*cells, key=campaign_id)
            return
        for key, cell in zip(("dot", *COLUMNS[1:]), cells, strict=True):
            if self.get_cell(campaign_id, key) != cell:
                self.update_cell(campaign_id, key, cell)
