"""One line per event, newest last, including rejected frames and their reason."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from materia_tui.protocol import Event, Rejected
from materia_tui.sanitize import clean
from materia_tui.state import BatchSummary, CampaignState, LogEntry, Note
from materia_tui.state.changes import ChangeSet
from materia_tui.ui import format as fmt
from materia_tui.ui.panel import Cadence
from materia_tui.ui.textual_compat import set_virtual_size

MAX_LINES = 1000


def describe(
    item: Event | BatchSummary | Rejected | Note, batch: int | None = None, failed: int | None = None
) -> str:
    """Plain text for one log line; every network string goes through ``clean``.
    ``batch`` and ``failed``: a batch event's counts, when the log kept it without its items."""
    if isinstance(item, Note):
        where = f"iteration {item.iteration}" if item.iteration is not None else "campaign"
        return f"note ({where}): {clean(item.text, 300)}"
    if isinstance(item, Rejected):
        return f"rejected frame ({item.kind}): {clean(item.reason, 300)}"
    seq = f"#{item.seq} " if item.seq is not None else ""
    match item.type:
        case "iteration_started":
            body = f"iteration {item.iteration} started"
        case "surrogate_trained":
            body = (
                f"surrogate trained: train {fmt.number(item.metrics.train_loss)}"
                f" val {fmt.number(item.metrics.val_loss)}"
            )
        case "candidates_proposed":
            count = len(item.candidates) if batch is None and not isinstance(item, BatchSummary) else batch
            body = f"iteration {item.iteration}: {count} candidates proposed"
        case "candidates_evaluated":
            if (batch is None or failed is None) and not isinstance(item, BatchSummary):
                batch, failed = len(item.results), sum(1 for r in item.results if r.error)
            body = f"iteration {item.iteration}: {batch} evaluated" + (
                f" ({failed} failed)" if failed else ""
            )
        case "iteration_completed":
            body = (
                f"iteration {item.iteration} completed: best {fmt.number(item.best_value)},"
                f" front {item.pareto_size}"
            )
        case "campaign_completed":
            body = (
                f"campaign completed: {item.total_iterations} iterations,"
                f" {item.total_evaluations} evaluations"
            )
        case "campaign_error":
            kind = "fatal error" if item.fatal else "error"
            body = f"{kind}: {clean(item.error, 300)}"
        case "convergence_update":
            body = f"convergence {fmt.number(item.metric)}" + (" (converged)" if item.converged else "")
        case _:
            body = clean(item.type)
    return seq + body


def log_line(entry: LogEntry) -> str:
    return f"{fmt.clock(entry.received_at)} {describe(entry.item, entry.batch, entry.failed)}"


class EventLog(ScrollView, can_focus=True):
    """The newest ``MAX_LINES`` log lines, newest last, following the end unless
    scrolled up; appends only the entries it has not written yet (the state's log
    is a bounded deque).

    A line-API view rather than Textual's ``Log``: each line is one segment in
    one style (``Log`` writes the text and its padding as two), growing does
    not lay the screen out again once the scrollbar shows, and only what moved
    is repainted."""

    DEFAULT_CSS = """
    EventLog {
        background: $surface;
        color: $text;
        overflow: scroll;
        &:focus {
            background-tint: $foreground 5%;
        }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._lines: list[str] = []
        self._widths: list[int] = []
        self._width = 0  # the widest kept line, in cells

    @property
    def lines(self) -> Sequence[str]:
        return self._lines

    @property
    def line_count(self) -> int:
        return len(self._lines)

    cadence: ClassVar[Cadence] = "bulk"

    def apply_changes(self, state: CampaignState, changes: ChangeSet, now: float) -> None:
        new = changes.log_added
        if new <= 0:
            return
        log = state.log
        self.write_lines(log_line(e) for e in itertools.islice(log, max(0, len(log) - new), None))

    def write_lines(self, lines: Iterable[str]) -> None:
        following = self.is_vertical_scroll_end
        added = [_one_line(line) for line in lines]
        widths = [cell_len(line) for line in added]
        self._lines += added
        self._widths += widths
        self._width = max([self._width, *widths])
        pruned = len(self._lines) - MAX_LINES
        if pruned > 0:
            del self._lines[:pruned], self._widths[:pruned]
            self._width = max(self._widths)
        set_virtual_size(self, Size(self._width, len(self._lines)))
        if following:
            self._scroll_to_end()
            # A layout pending (first lines, a scrollbar appearing) moves the end: land on it again then.
            self.call_after_refresh(self._scroll_to_end)
        # A scroll repaints the visible lines by itself; otherwise only lines
        # that moved (pruned from the top) or appeared in view need it.
        top = round(self.scroll_y)
        first_new = len(self._lines) - len(added)
        if pruned > 0 and not following:
            self.refresh(self.size.region)
        elif first_new < top + self.size.height:
            self.refresh_lines(first_new, len(added))

    def _scroll_to_end(self) -> None:
        self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True, force=True)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        style = self.rich_style
        index = scroll_y + y
        if not 0 <= index < len(self._lines):
            return Strip.blank(width, style)
        line, cells = self._lines[index], self._widths[index]
        pad = scroll_x + width - cells
        return Strip([Segment(line + " " * pad if pad > 0 else line, style)]).crop(scroll_x, scroll_x + width)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.refresh()


def _one_line(text: str) -> str:
    """Log lines are plain text already (``describe`` cleans network strings); keep them one line."""
    return text.replace("\n", " ").replace("\r", " ").replace("\t", " ")
