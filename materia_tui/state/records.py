"""The records a ``CampaignState`` keeps: iterations, best values, convergence
points, errors, notes, log entries and counters, and the state's literal types.

Plain dataclasses with no behaviour beyond derived properties; the reducer
(``materia_tui.state.reducer``) fills them in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from materia_tui.protocol import CandidatesEvaluated, CandidatesProposed, Event, Rejected

RunStatus = Literal["waiting", "pending", "running", "completed", "failed", "cancelled"]
Phase = Literal[
    "waiting",
    "training surrogate",
    "optimizing acquisition",
    "evaluating candidates",
    "iteration complete",
    "completed",
    "failed",
]
ApplyResult = Literal["applied", "duplicate"]
TERMINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "cancelled"})


@dataclass(slots=True)
class IterationRecord:
    number: int
    started_at: float | None = None
    trained_at: float | None = None
    proposed_at: float | None = None
    evaluated_at: float | None = None
    completed_at: float | None = None
    train_loss: float | None = None
    val_loss: float | None = None
    proposed: int = 0
    evaluated: int = 0
    best_value: float | None = None
    pareto_size: int | None = None
    local_pareto_size: int | None = None

    @property
    def training_seconds(self) -> float | None:
        return _span(self.started_at, self.trained_at)

    @property
    def acquisition_seconds(self) -> float | None:
        return _span(self.trained_at or self.started_at, self.proposed_at)

    @property
    def evaluation_seconds(self) -> float | None:
        return _span(self.proposed_at, self.evaluated_at)

    @property
    def duration(self) -> float | None:
        return _span(self.started_at, self.completed_at)


@dataclass(slots=True, frozen=True)
class BestValue:
    value: float
    candidate_id: str
    iteration: int | None


@dataclass(slots=True, frozen=True)
class ConvergencePoint:
    iteration: int
    metric: float
    converged: bool


@dataclass(slots=True, frozen=True)
class ErrorRecord:
    iteration: int | None
    message: str
    fatal: bool | None


@dataclass(slots=True, frozen=True)
class Note:
    """A short note a user pinned to an iteration (kept in recordings and exports)."""

    iteration: int | None
    text: str
    at: float


MAX_NOTE_LENGTH = 500


class BatchSummary(NamedTuple):
    """A ``candidates_proposed``/``candidates_evaluated`` event as the log keeps it:
    what its line shows, without the candidates or results (the entry has the counts)."""

    type: Literal["candidates_proposed", "candidates_evaluated"]
    seq: int | None
    iteration: int


class LogEntry(NamedTuple):
    """One line of the event log: an applied event, a rejected frame or a note.

    A batch event is kept as a ``BatchSummary``: ``batch`` is then its size and
    ``failed`` its failed evaluations. Keeping the parsed event would keep its
    candidates alive for a thousand more events: a thousand log lines of
    5,000-candidate events would hold the whole campaign twice, and at 5
    candidates the ~30 objects per frame kept alive cost the collector and the
    allocator more than the rest of the fold. (A named tuple: one is built per
    event, and a frozen dataclass costs three times as much to build.)"""

    received_at: float
    item: Event | BatchSummary | Rejected | Note
    batch: int | None = None
    failed: int = 0


# A named tuple's own constructor is a Python function; ``tuple.__new__`` builds the
# same tuple at a third of the cost (one log entry is built per event).
_new_tuple = tuple.__new__


def log_entry(received_at: float, event: Event) -> LogEntry:
    # ``isinstance`` narrows as ``cast`` would, without ``cast``'s call (one entry an event).
    if isinstance(event, CandidatesProposed):
        summary = _new_tuple(BatchSummary, ("candidates_proposed", event.seq, event.iteration))
        return _new_tuple(LogEntry, (received_at, summary, len(event.candidates), 0))
    if isinstance(event, CandidatesEvaluated):
        failed = sum(1 for r in event.results if r.error)
        summary = _new_tuple(BatchSummary, ("candidates_evaluated", event.seq, event.iteration))
        return _new_tuple(LogEntry, (received_at, summary, len(event.results), failed))
    return LogEntry(received_at, event)


@dataclass(slots=True)
class Counters:
    applied: int = 0
    duplicates: int = 0
    rejected: int = 0
    unknown_type: int = 0
    gaps: int = 0
    by_type: dict[str, int] = field(default_factory=dict)

    @property
    def received(self) -> int:
        return self.applied + self.duplicates + self.rejected + self.unknown_type



def _span(start: float | None, end: float | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, end - start)


