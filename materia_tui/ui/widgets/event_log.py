"""One line per event, newest last, including rejected frames and their reason."""

from __future__ import annotations

from textual.widgets import Log

from materia_tui.protocol import Event, Rejected
from materia_tui.sanitize import clean
from materia_tui.state import CampaignState, LogEntry
from materia_tui.ui import format as fmt

MAX_LINES = 1000


def describe(item: Event | Rejected) -> str:
    """Plain text for one log line; every network string goes through ``clean``."""
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
            body = f"iteration {item.iteration}: {len(item.candidates)} candidates proposed"
        case "candidates_evaluated":
            failed = sum(1 for r in item.results if r.error)
            body = f"iteration {item.iteration}: {len(item.results)} evaluated" + (
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
    return f"{fmt.clock(entry.received_at)} {describe(entry.item)}"


class EventLog(Log):
    """Appends only the entries it has not written yet (the state's log is a bounded deque)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(max_lines=MAX_LINES, id=id, classes=classes)
        self._written = 0  # total log entries ever written (applied + rejected)

    def sync(self, state: CampaignState) -> None:
        counters = state.counters
        total = counters.applied + counters.rejected + counters.unknown_type
        new = total - self._written
        if new <= 0:
            return
        entries = list(state.log)[-min(new, len(state.log)) :]
        self.write_lines(log_line(e) for e in entries)
        self._written = total
