"""A pure reducer from campaign events to campaign state.

No I/O, no clocks, no Textual: every time it uses is handed to it (the
receive time of each event, ``now`` for elapsed/ETA). It mutates one
``CampaignState`` in place because a monitor applies tens of thousands of
events a second; "pure" here means the result depends only on the inputs.

Duplicates (by ``seq``) are dropped, so the final state depends neither on
duplicated frames nor on the overlap of a backfill after a reconnect.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import Any, Literal, cast

from materia_tui.protocol import (
    Campaign,
    CampaignCompleted,
    CampaignError,
    CandidatesEvaluated,
    CandidatesProposed,
    ConvergenceUpdate,
    Direction,
    EvaluationResult,
    Event,
    IterationCompleted,
    IterationStarted,
    Rejected,
    SurrogateTrained,
)
from materia_tui.protocol.seqs import SeqLedger
from materia_tui.protocol.timestamps import event_time as _event_time
from materia_tui.state.candidates import CandidateStatus as CandidateStatus
from materia_tui.state.changes import ChangeSet
from materia_tui.state.pareto import ParetoFront, Point
from materia_tui.state.records import (
    MAX_NOTE_LENGTH,
    TERMINAL_STATUSES,
    ApplyResult,
    BestValue,
    ConvergencePoint,
    ErrorRecord,
    IterationRecord,
    LogEntry,
    Note,
    Phase,
    RunStatus,
    log_entry,
)
from materia_tui.state.records import Counters as Counters
from materia_tui.state.scoring import FrontScoring, _skyline_2d
from materia_tui.state.store import CandidateStore
from materia_tui.state.views import CandidateRows, CandidatesById

NAN = math.nan
LOG_LENGTH = 1000
ETA_WINDOW = 5


class CampaignState(FrontScoring):
    """Everything a monitor shows about one campaign."""

    def __init__(self, campaign_id: str, metadata: Campaign | None = None) -> None:
        self.campaign_id = campaign_id
        self.metadata: Campaign | None = None
        self.status: RunStatus = "waiting"
        self.phase: Phase = "waiting"
        self.current_iteration: int = 0
        self.iterations: dict[int, IterationRecord] = {}
        # The columnar store; ``candidates`` and ``candidate_list`` are views over it.
        self.store = CandidateStore()
        self.candidates = CandidatesById(self.store)
        self.candidate_list = CandidateRows(self.store)
        self.latest_batch: list[str] = []
        self.evaluations: int = 0
        self.objectives: list[str] = []
        self.directions: dict[str, Direction] = {}
        self.units: dict[str, str] = {}
        self.best: dict[str, BestValue] = {}
        self.best_history: list[tuple[int, float]] = []  # the backend's best_value per iteration
        # Each objective's best measured value (``best``) as each iteration completed:
        # what the convergence sparkline plots. Rebuilt when ``best`` is recomputed.
        self.best_by_iteration: dict[str, list[tuple[int, float]]] = {}
        self.convergence: list[ConvergencePoint] = []
        self.converged_at: int | None = None
        self.errors: list[ErrorRecord] = []
        self.total_iterations: int | None = None
        self.total_evaluations: int | None = None
        self.pareto_mismatches: list[tuple[int, int, int]] = []
        self.counters = Counters()
        self.log: deque[LogEntry] = deque(maxlen=LOG_LENGTH)
        self.notes: list[Note] = []
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.last_event_at: float | None = None
        self.last_seq: int = 0
        # Bumped per applied item; a row's ``revision`` is the value when it last changed.
        self.revision: int = 0
        self.changes = ChangeSet()  # what changed since the last take_changes()
        self._completed_count = 0
        self._front = ParetoFront()
        # Per objective: 1.0, or -1.0 when it is minimized (signed values: bigger is better).
        self._signs: list[float] = []
        self._seqs = SeqLedger()  # docs/RELIABILITY.md "Who drops duplicates"
        if metadata is not None:
            self.set_metadata(metadata)

    # ----- queries --------------------------------------------------------

    @property
    def max_iterations(self) -> int | None:
        return self.metadata.max_iterations if self.metadata else None

    @property
    def name(self) -> str | None:
        return self.metadata.name if self.metadata else None

    @property
    def is_finished(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def completed_iterations(self) -> int:
        return self._completed_count  # kept by the reducer: monitors ask on every refresh

    def take_changes(self) -> ChangeSet:
        """What changed since the last call (and start a new change set)."""
        changes, self.changes = self.changes, ChangeSet()
        return changes

    def front_ids(self) -> list[str]:
        return self._front.ids()

    @property
    def pareto_size(self) -> int:
        return len(self._front)

    def elapsed(self, now: float) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at if self.finished_at is not None else now
        return max(0.0, end - self.started_at)

    def mean_iteration_seconds(self) -> float | None:
        # From the newest record back, so the cost does not grow with the campaign.
        recent: list[float] = []
        for it in reversed(self.iterations.values()):
            duration = it.duration
            if duration is not None:
                recent.append(duration)
                if len(recent) == ETA_WINDOW:
                    break
        return sum(recent) / len(recent) if recent else None

    def eta(self, now: float) -> float | None:
        """Seconds until the last iteration completes, from recent iteration durations."""
        if self.is_finished:
            return 0.0
        total = self.max_iterations
        mean = self.mean_iteration_seconds()
        if total is None or mean is None:
            return None
        current = self.iterations.get(self.current_iteration)
        in_progress = current is not None and current.completed_at is None
        remaining_full = max(0, total - self.completed_iterations - (1 if in_progress else 0))
        eta = remaining_full * mean
        if in_progress and current is not None and current.started_at is not None:
            eta += max(0.0, mean - (now - current.started_at))
        return eta

    # ----- reducer --------------------------------------------------------

    def set_metadata(self, metadata: Campaign) -> None:
        """Apply REST metadata. Objective directions change what "best" means, so
        best values and the front are recomputed when they change."""
        self.metadata = metadata
        old = (list(self.objectives), dict(self.directions))
        if metadata.objectives:
            names = [o.name for o in metadata.objectives]
            extra = [n for n in self.objectives if n not in names]
            self.objectives = names + extra
            for o in metadata.objectives:
                self.directions[o.name] = o.direction
                if o.unit:
                    self.units[o.name] = o.unit
        if metadata.status in TERMINAL_STATUSES:
            self._finish(metadata.status, None)  # type: ignore[arg-type]
        elif metadata.status in ("pending", "running") and self.status == "waiting":
            self.status = metadata.status
        if (self.objectives, self.directions) != old:
            self._recompute_scores()
        self.revision += 1
        self.changes.metadata = self.changes.progress = True

    def add_note(self, iteration: int | None, text: str, at: float) -> Note:
        """Pin a note (one line, at most ``MAX_NOTE_LENGTH`` characters) to ``iteration``."""
        note = Note(iteration, " ".join(text.split())[:MAX_NOTE_LENGTH], at)
        self.notes.append(note)
        self.log.append(LogEntry(at, note))
        self.revision += 1
        self.changes.log_added += 1
        return note

    def apply_rejected(self, rejected: Rejected, received_at: float) -> None:
        if rejected.kind == "unknown_type":
            self.counters.unknown_type += 1
        else:
            self.counters.rejected += 1
        self.log.append(LogEntry(received_at, rejected))
        self.revision += 1
        changes = self.changes
        changes.log_added += 1
        changes.progress = True

    def apply(self, event: Event, received_at: float) -> ApplyResult:
        """Fold one event in. ``received_at`` (epoch seconds) stands in for a
        missing or unreadable event timestamp."""
        seq = event.seq
        counters = self.counters
        if seq is not None:
            verdict = self._seqs.admit(seq)
            if verdict == "duplicate":
                counters.duplicates += 1
                self.changes.progress = True
                return "duplicate"
            if verdict == "gap":
                counters.gaps += 1
            self.last_seq = self._seqs.newest
        timestamp = event.timestamp
        at = _event_time(timestamp, received_at) if timestamp else received_at
        self.last_event_at = received_at
        counters.applied += 1
        by_type = counters.by_type
        kind = event.type
        by_type[kind] = by_type.get(kind, 0) + 1
        self.revision += 1
        self.log.append(log_entry(received_at, event))
        changes = self.changes
        changes.log_added += 1
        changes.progress = True
        if self.status in ("waiting", "pending"):
            self.status = "running"
        _HANDLERS[kind](self, event, at)
        return "applied"

    # ----- handlers --------------------------------------------------------

    def _iteration(self, number: int) -> IterationRecord:
        record = self.iterations.get(number)
        if record is None:
            record = IterationRecord(number)
            self.iterations[number] = record
        return record

    def _on_iteration_started(self, event: IterationStarted, at: float) -> None:
        record = self._iteration(event.iteration)
        record.started_at = at
        self.current_iteration = max(self.current_iteration, event.iteration)
        if self.started_at is None or at < self.started_at:
            self.started_at = at
        if not self.is_finished:
            self.phase = "training surrogate"

    def _on_surrogate_trained(self, event: SurrogateTrained, at: float) -> None:
        record = self._iteration(max(self.current_iteration, 1))
        record.trained_at = at
        record.train_loss = event.metrics.train_loss
        record.val_loss = event.metrics.val_loss
        if not self.is_finished:
            self.phase = "optimizing acquisition"

    def _on_candidates_proposed(self, event: CandidatesProposed, at: float) -> None:
        batch = event.candidates
        iteration = event.iteration
        record = self.iterations.get(iteration) or self._iteration(iteration)
        record.proposed_at = at
        record.proposed += len(batch)
        added, changed = self.store.propose(batch, iteration, self.revision)
        changes = self.changes
        if changed:
            changes.rows_changed_many(changed)
        changes.rows_added += added
        if self.status not in TERMINAL_STATUSES:
            self.phase = "evaluating candidates"

    def _on_candidates_evaluated(self, event: CandidatesEvaluated, at: float) -> None:
        record = self._iteration(event.iteration)
        record.evaluated_at = at
        record.evaluated += len(event.results)
        self.latest_batch = [r.candidate_id for r in event.results]
        fresh = self._fresh_rows(event.results)
        if fresh is not None:
            self._evaluate_fresh(fresh, event.results)
            return
        needs_recompute = False
        changes = self.changes
        changes.best = True
        store = self.store
        index, status, on_front = store.index, store.status, store.on_front
        best, directions, revision = self.best, self.directions, self.revision
        for r in event.results:
            row = index.get(r.candidate_id)
            if row is None:
                row = self._new_candidate(r.candidate_id, event.iteration)
            if status[row] == 0:  # proposed
                self.evaluations += 1
            if not needs_recompute:  # what the previous measurement holds, in today's terms
                old_point = self._point(row) if on_front[row] else None
                held = [name for name, b in best.items() if b.candidate_id == r.candidate_id] if best else []
            for name in r.objectives:
                if name not in directions:
                    needs_recompute = True  # "best" and the front gain a dimension
                    self.objectives.append(name)
                    directions[name] = "maximize"
            store.measure(row, r.objectives, r.feasible, r.error, revision)
            changes.row_changed(row)
            if needs_recompute:
                continue
            if old_point is not None or held:
                self._demote(row, old_point, held)
            self._score(row)
        if needs_recompute:
            self._recompute_scores()

    def _fresh_rows(self, results: list[EvaluationResult]) -> list[int] | None:
        """The rows of a batch of first measurements of known, distinct candidates
        with known objectives (the usual batch), or None."""
        if not results:
            return None
        store = self.store
        ids = [r.candidate_id for r in results]
        first = store.index.get(ids[0])
        if first is not None and store.ids[first : first + len(ids)] == ids:
            found = list(range(first, first + len(ids)))  # measured in the order proposed: the usual case
        else:
            rows = store.index.get_many(ids)
            if None in rows:
                return None
            found = cast(list[int], rows)
            if len(set(found)) != len(found):
                return None
        status = self.store.status
        if any(map(status.__getitem__, found)):  # measured before: the general path undoes that
            return None
        directions = self.directions
        for keys in set(map(tuple, (r.objectives for r in results))):
            if any(name not in directions for name in keys):
                return None
        return found

    def _evaluate_fresh(self, rows: list[int], results: list[EvaluationResult]) -> None:
        """First measurements of a batch, a column at a time: what the general path
        gives (best values, front), without a call per candidate."""
        store = self.store
        store.measure_fresh(rows, results, self.revision)
        self.evaluations += len(rows)
        self.changes.rows_changed_many(rows)
        status = store.status
        evaluated = [row for row in rows if status[row] == 1]
        if not evaluated:
            return
        best = self.best
        signed_values: list[list[float] | None] = []  # per objective, per evaluated row
        for name, sign in zip(self.objectives, self._signs, strict=True):
            source = store.float_column("obj:" + name)
            signed = None if source is None else [sign * source[row] for row in evaluated]
            signed_values.append(signed)
            finite = [] if signed is None else [k for k, value in enumerate(signed) if value == value]
            if not finite:
                continue
            assert signed is not None and source is not None
            top = max(finite, key=signed.__getitem__)  # the first of the largest
            current = best.get(name)
            if current is None or signed[top] > sign * current.value:
                row = evaluated[top]
                best[name] = BestValue(source[row], store.ids[row], self._iteration_of(row))
        offered: list[tuple[Point, int]] = []
        if len(signed_values) == 2:
            xs, ys = signed_values
            if xs is not None and ys is not None:
                points: list[tuple[Point, int]] = [
                    ((x, y), row) for x, y, row in zip(xs, ys, evaluated, strict=True) if x == x and y == y
                ]
                points.sort(key=lambda item: item[0], reverse=True)
                offered = _skyline_2d(points)
        else:
            arrays = self._objective_arrays()
            offered = [(point, row) for row in evaluated if (point := self._point(row, arrays)) is not None]
        for point, row in offered:
            self._offer_to_front(row, point)

    def _on_iteration_completed(self, event: IterationCompleted, at: float) -> None:
        record = self._iteration(event.iteration)
        if record.completed_at is None:
            self._completed_count += 1
        record.completed_at = at
        record.best_value = event.best_value
        record.pareto_size = event.pareto_size
        record.local_pareto_size = len(self._front)
        if event.pareto_size != len(self._front):
            self.pareto_mismatches.append((event.iteration, event.pareto_size, len(self._front)))
        self.best_history.append((event.iteration, event.best_value))
        for name, best in self.best.items():
            self.best_by_iteration.setdefault(name, []).append((event.iteration, best.value))
        self.changes.convergence = True
        self.current_iteration = max(self.current_iteration, event.iteration)
        if not self.is_finished:
            self.phase = "iteration complete"

    def _on_campaign_completed(self, event: CampaignCompleted, at: float) -> None:
        self.total_iterations = event.total_iterations
        self.total_evaluations = event.total_evaluations
        self._finish("completed", at)

    def _on_campaign_error(self, event: CampaignError, at: float) -> None:
        self.errors.append(ErrorRecord(event.iteration, event.error, event.fatal))
        if event.fatal:
            self._finish("failed", at)

    def _on_convergence_update(self, event: ConvergenceUpdate, at: float) -> None:
        iteration = self.current_iteration
        self.convergence.append(ConvergencePoint(iteration, event.metric, event.converged))
        self.changes.convergence = True
        if event.converged and self.converged_at is None:
            self.converged_at = iteration

    def _finish(self, status: Literal["completed", "failed", "cancelled"], at: float | None) -> None:
        if self.status == "failed" and status == "completed":
            return
        self.status = status
        self.phase = "failed" if status == "failed" else "completed"
        if at is not None and self.finished_at is None:
            self.finished_at = at

    # ----- candidates (best values and the front: scoring.FrontScoring) ----

    def _new_candidate(self, candidate_id: str, iteration: int | None) -> int:
        row = self.store.add_rows([candidate_id], iteration)
        self.store.revisions[row] = self.revision
        self.changes.rows_added += 1
        return row


_HANDLERS: dict[str, Callable[[CampaignState, Any, float], None]] = {
    "iteration_started": CampaignState._on_iteration_started,
    "surrogate_trained": CampaignState._on_surrogate_trained,
    "candidates_proposed": CampaignState._on_candidates_proposed,
    "candidates_evaluated": CampaignState._on_candidates_evaluated,
    "iteration_completed": CampaignState._on_iteration_completed,
    "campaign_completed": CampaignState._on_campaign_completed,
    "campaign_error": CampaignState._on_campaign_error,
    "convergence_update": CampaignState._on_convergence_update,
}
