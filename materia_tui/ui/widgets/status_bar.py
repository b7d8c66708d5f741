"""The top line: campaign, connection status, counters, freshness, pause marker.

The first line never wraps: when the terminal is narrow the least important
items are shortened, then dropped (see ``fit_items``), and whatever is still
too long is cut with an ellipsis. A second line (wrapped, up to four) appears
only for a final error or a reconnect reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text

from materia_tui.sanitize import clean
from materia_tui.source import ConnectionStatus, ReplaySteering
from materia_tui.state import CampaignState
from materia_tui.state.changes import ChangeSet
from materia_tui.ui import format as fmt
from materia_tui.ui.panel import Cadence
from materia_tui.ui.widgets.text_panel import TextPanel


@dataclass(slots=True)
class LinkStatus:
    """What the app knows about the connection (from ConnectionChanged items)."""

    status: ConnectionStatus = "connecting"
    attempt: int = 0
    retry_at: float | None = None  # clock time of the next attempt, when reconnecting
    detail: str = ""
    degraded: bool = False  # live, but without history or metadata: the detail says what is missing
    error: str | None = None  # a final source error, shown after the first event
    history: tuple[int, int] | None = None  # while a long history loads: the seqs it runs from and to

    def follow_history(self, status: ConnectionStatus, history: tuple[int, int] | None) -> None:
        """Keep the history being loaded while backfilling (announced once), drop it after."""
        if status != "backfilling":
            self.history = None
        elif history is not None:
            self.history = history

    @property
    def loading_history(self) -> bool:
        return self.status == "backfilling" and self.history is not None


STATUS_STYLES = {
    "live": "bold green",
    "completed": "bold green",
    "failed": "bold red",
    "reconnecting": "bold yellow",
    "error": "bold red",
}
GAP = "  "
SECOND_LINE_MAX = 4  # lines for the error or reconnect reason under the status line


@dataclass(slots=True)
class Item:
    """One status-bar item: ``forms`` from longest to shortest; ``drop`` orders removal
    (lower goes first; 0 = never dropped)."""

    forms: tuple[str, ...]
    style: str = ""
    drop: int = 0
    form: int = 0

    @property
    def text(self) -> str:
        return self.forms[self.form]


def status_label(state: CampaignState, link: LinkStatus, now: float) -> str:
    if link.loading_history and link.history is not None:  # even of a campaign that ended
        percent = history_percent(state, link.history)
        # Past the history announced and still paging: the campaign grew meanwhile (a
        # producer as fast as the paging). "loading history 100%" stayed up for a minute.
        return f"loading history {percent}%" if percent < 100 else "catching up"
    if state.status in ("completed", "failed", "cancelled") and not _ended_unseen(state, link):
        return state.status
    if link.error is not None:
        return "error"
    if link.status == "reconnecting":
        label = f"reconnecting (attempt {link.attempt}"
        if link.retry_at is not None:
            label += f", in {max(0, round(link.retry_at - now))}s"
        return label + ")"
    return link.status


def _ended_unseen(state: CampaignState, link: LinkStatus) -> bool:
    """The metadata says the campaign ended, but its last event is not in (no end event
    folded) and the link that would bring the rest is down or not up yet: "COMPLETED"
    over a third of a history cut off by a lost server would pass for all of it."""
    down = link.error is not None or link.status in ("connecting", "reconnecting", "failed")
    return down and state.finished_at is None


def history_percent(state: CampaignState, history: tuple[int, int]) -> int:
    """How much of the history being loaded the state holds, in whole percent (100 only when all)."""
    start, end = history
    if end <= start:
        return 100
    done = (state.last_seq - start) / (end - start)
    return 100 if done >= 1 else max(0, min(99, int(done * 100)))


def fit_items(items: list[Item], width: int) -> list[Item]:
    """Shorten, then drop, the least important items until the line fits ``width``."""
    kept = list(items)

    def length() -> int:
        return sum(cell_len(i.text) for i in kept) + cell_len(GAP) * max(0, len(kept) - 1)

    for victim in sorted((i for i in items if i.drop), key=lambda i: i.drop):
        while length() > width and victim.form < len(victim.forms) - 1:
            victim.form += 1
        if length() > width:
            kept.remove(victim)
    return kept


def status_items(
    state: CampaignState, link: LinkStatus, now: float, paused_new: int | None, replay: str | None = None
) -> list[Item]:
    label = status_label(state, link, now)
    items = [Item((f" {label.upper()} ",), STATUS_STYLES.get(label.split(" ")[0], "bold") + " reverse")]
    if replay is not None:
        items.append(Item((f" REPLAY {replay.upper()} ",), "reverse", drop=5))
    if paused_new is not None:
        items.append(Item((f" PAUSED, {fmt.count(paused_new)} new ", " PAUSED "), "reverse", drop=6))
    # What changes goes first: a change repaints its line from the left edge up to
    # the changed cell (Textual), so the counter and the clock near the start cost
    # ~60 bytes a change instead of ~160 behind the campaign's name and id.
    counters = state.counters
    events = fmt.count(counters.received)
    items.append(Item((f"events {events}", f"ev {events}"), drop=4))
    rejected = counters.rejected + counters.unknown_type
    if rejected:
        items.append(
            Item((f"rejected {fmt.count(rejected)}", f"rej {fmt.count(rejected)}"), "yellow", drop=3)
        )
    if state.last_event_at is not None and not state.is_finished:
        # A clock time, not "Ns ago": an idle monitor must write nothing, and a
        # silent stream is flagged by the "quiet" marker at a few coarse steps.
        last = fmt.clock(state.last_event_at)
        items.append(Item((f"last {last}", last), drop=2))
        # A replay's events carry their recorded times: silence there means nothing.
        silent = fmt.quiet(now - state.last_event_at) if replay is None else None
        if silent is not None:
            items.append(Item((silent,), "yellow", drop=7))
    if state.name:
        items.append(Item((clean(state.name, 40), clean(state.name, 16)), "bold", drop=1))
    items.append(Item((clean(state.campaign_id, 40),)))
    return items


class StatusBar(TextPanel):
    """The campaign's one or two status lines: link, phase, counts, last event, errors."""

    cadence: ClassVar[Cadence] = "small"
    paints_while_paused: ClassVar[bool] = True  # it says "PAUSED, N new"
    shows_time: ClassVar[bool] = True  # the "quiet" marker moves without events

    def __init__(
        self, link: LinkStatus, replay: ReplaySteering | None = None, *, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.link = link
        self.replay = replay
        self.paused_at: int | None = None  # events received when the display was paused

    def apply_changes(self, state: CampaignState, changes: ChangeSet, now: float) -> None:
        link = self.link
        paused_new = state.counters.received - self.paused_at if self.paused_at is not None else None
        replay = self.replay.describe() if self.replay is not None else None
        width = self.content_size.width or self.app.size.width
        text = Text(no_wrap=True, overflow="ellipsis")
        items = status_items(state, link, now, paused_new, replay)
        for index, item in enumerate(fit_items(items, width)):
            if index:
                text.append(GAP)
            text.append(item.text, item.style)
        text.truncate(width, overflow="ellipsis")
        second = _second_line(state, link)
        if second is not None:
            # Wrapped, not cut: a reason such as "the host name does not resolve,
            # the URL comes from ..., point elsewhere with ..." is read in full.
            lines = second.wrap(self.app.console, max(1, width - 1), overflow="ellipsis")
            for index, line in enumerate(lines[:SECOND_LINE_MAX]):
                if index == SECOND_LINE_MAX - 1 and len(lines) > SECOND_LINE_MAX:
                    line.truncate(width - 2)
                    line.append("…")
                text.append("\n" if index == 0 else "\n ")  # continued lines align with the first
                text.append_text(line)
        self.show(text)


def _second_line(state: CampaignState, link: LinkStatus) -> Text | None:
    fatal = [e for e in state.errors if e.fatal] if state.status == "failed" else []
    if fatal:
        return Text.assemble((" campaign error: ", "bold red"), clean(fatal[-1].message, 200))
    if link.error is not None:
        return Text.assemble((" error: ", "bold red"), clean(link.error, 200))
    if link.detail and link.status in ("reconnecting", "connecting", "failed", "closed"):
        return Text.assemble(" ", (clean(link.detail, 400), "dim"))
    if link.degraded and link.detail and link.status == "live":
        return Text.assemble((" degraded: ", "bold yellow"), clean(link.detail, 200))
    return None
