"""The top line: campaign, connection status, counters, freshness, pause marker."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from materia_tui.sanitize import clean
from materia_tui.source import ConnectionStatus
from materia_tui.state import CampaignState
from materia_tui.ui import format as fmt
from materia_tui.ui.widgets.text_panel import TextPanel


@dataclass(slots=True)
class LinkStatus:
    """What the app knows about the connection (from ConnectionChanged items)."""

    status: ConnectionStatus = "connecting"
    attempt: int = 0
    retry_at: float | None = None  # clock time of the next attempt, when reconnecting
    detail: str = ""
    error: str | None = None  # a final source error, shown after the first event


STATUS_STYLES = {
    "live": "bold green",
    "completed": "bold green",
    "failed": "bold red",
    "reconnecting": "bold yellow",
    "error": "bold red",
}


def status_label(state: CampaignState, link: LinkStatus, now: float) -> str:
    if state.status in ("completed", "failed", "cancelled"):
        return state.status
    if link.error is not None:
        return "error"
    if link.status == "reconnecting":
        label = f"reconnecting (attempt {link.attempt}"
        if link.retry_at is not None:
            label += f", in {max(0, round(link.retry_at - now))}s"
        return label + ")"
    return link.status


class StatusBar(TextPanel):
    def sync(self, state: CampaignState, link: LinkStatus, now: float, paused_new: int | None) -> None:
        label = status_label(state, link, now)
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" {label.upper()} ", STATUS_STYLES.get(label.split(" ")[0], "bold") + " reverse")
        text.append("  ")
        if state.name:
            text.append(clean(state.name, 40), "bold")
            text.append(" · ")
        text.append(clean(state.campaign_id, 40))
        counters = state.counters
        text.append(f"  events {fmt.count(counters.received)}")
        if counters.rejected or counters.unknown_type:
            text.append(f"  rejected {fmt.count(counters.rejected + counters.unknown_type)}", "yellow")
        if state.last_event_at is not None and not state.is_finished:
            text.append(f"  last {fmt.since(now - state.last_event_at)}")
        if paused_new is not None:
            text.append("  ")
            text.append(f" PAUSED, {fmt.count(paused_new)} new ", "reverse")
        fatal = [e for e in state.errors if e.fatal] if state.status == "failed" else []
        if fatal:
            text.append("\n")
            text.append(" campaign error: ", "bold red")
            text.append(clean(fatal[-1].message, 200))
        elif link.error is not None:
            text.append("\n")
            text.append(" error: ", "bold red")
            text.append(clean(link.error, 200))
        elif link.detail and link.status in ("reconnecting", "failed", "closed"):
            text.append("\n ")
            text.append(clean(link.detail, 200), "dim")
        self.show(text)
