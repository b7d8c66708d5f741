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
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
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
from materia_tui.state.best_series import best_by_iteration
from materia_tui.state.candidates import CandidateRecord as CandidateRecord
from materia_tui.state.candidates import CandidateStatus as CandidateStatus
from materia_tui.state.changes import ChangeSet
from materia_tui.state.pareto import ParetoFront, Point
from materia_tui.state.store import CandidateRows, CandidatesById, CandidateStore

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
NAN = math.nan
LOG_LENGTH = 1000
ETA_WINDOW = 5
_NAN_ROW = array("d", [NAN])


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


@dataclass(slots=True, frozen=True)
class LogEntry:
    """One line of the event log: an applied event, a rejected frame or a note.

    A batch event of more than ``LOG_BATCH_KEPT`` candidates or results is kept
    without them (a thousand log lines of 5,000-candidate events would hold the
    whole campaign twice): ``batch`` is then its size and ``failed`` its failed
    evaluations."""

    received_at: float
    item: Event | Rejected | Note
    batch: int | None = None
    failed: int = 0


LOG_BATCH_KEPT = 32


def log_entry(received_at: float, event: Event) -> LogEntry:
    if isinstance(event, CandidatesProposed) and len(event.candidates) > LOG_BATCH_KEPT:
        return LogEntry(received_at, event.model_copy(update={"candidates": []}), len(event.candidates))
    if isinstance(event, CandidatesEvaluated) and len(event.results) > LOG_BATCH_KEPT:
        failed = sum(1 for r in event.results if r.error)
        return LogEntry(received_at, event.model_copy(update={"results": []}), len(event.results), failed)
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


class CampaignState:
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
        # Each objective's measured value per row, sign-adjusted so bigger is
        # better (NaN: none): what re-scoring a re-measured leader scans.
        self._signs: list[float] = []
        self._columns: list[array[float]] = []
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
        record = self._iteration(event.iteration)
        record.proposed_at = at
        record.proposed += len(batch)
        added, changed = self.store.propose(batch, event.iteration, self.revision)
        changes = self.changes
        for row in changed:
            changes.row_changed(row)
        changes.rows_added += added
        if added and self._columns:  # the new rows' measurements: none yet
            gap = _NAN_ROW * added
            for column in self._columns:
                column.extend(gap)
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
            self._store_columns(row)
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
        for name, sign, column in zip(self.objectives, self._signs, self._columns, strict=True):
            source = store.float_column("obj:" + name)
            if source is None:
                continue
            signed = [sign * source[row] for row in evaluated]
            column_set = column.__setitem__
            for row, value in zip(evaluated, signed, strict=True):
                column_set(row, value)
            finite = [k for k, value in enumerate(signed) if value == value]
            if not finite:
                continue
            top = max(finite, key=signed.__getitem__)  # the first of the largest
            current = best.get(name)
            if current is None or signed[top] > sign * current.value:
                row = evaluated[top]
                best[name] = BestValue(source[row], store.ids[row], self._iteration_of(row))
        columns = self._columns
        if len(columns) == 2:
            xs, ys = columns
            points: list[tuple[Point, int]] = [((xs[row], ys[row]), row) for row in evaluated]
            points = [item for item in points if item[0][0] == item[0][0] and item[0][1] == item[0][1]]
            points.sort(key=lambda item: item[0], reverse=True)
            offered: list[tuple[Point, int]] = _skyline_2d(points)
        else:
            offered = [(point, row) for row in evaluated if (point := self._point(row)) is not None]
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

    # ----- candidates, best values and the front ---------------------------

    def _new_candidate(self, candidate_id: str, iteration: int | None) -> int:
        row = self.store.add_rows([candidate_id], iteration)
        self.store.revisions[row] = self.revision
        self.changes.rows_added += 1
        for column in self._columns:
            column.append(NAN)
        return row

    def _point(self, row: int) -> Point | None:
        if self.store.status[row] != 1:  # evaluated
            return None
        # The columns hold exactly this candidate's measurement (NaN where missing).
        point = tuple(column[row] for column in self._columns)
        return None if any(value != value for value in point) else point

    def _store_columns(self, row: int) -> None:
        store = self.store
        evaluated = store.status[row] == 1
        for name, sign, column in zip(self.objectives, self._signs, self._columns, strict=True):
            value = store.measured(row, name) if evaluated else None
            column[row] = sign * value if value is not None and math.isfinite(value) else NAN

    def _score(self, row: int) -> None:
        store = self.store
        if store.status[row] != 1:
            return
        best = self.best
        layout = store.layout_of(row)
        columns = store.sections[3]
        for name in layout.keys[3]:
            value = cast(float, columns[name].get(row))
            current = best.get(name)
            minimize = self.directions.get(name) == "minimize"
            if current is None or (value < current.value if minimize else value > current.value):
                best[name] = BestValue(value, store.ids[row], self._iteration_of(row))
        point = self._point(row)
        if point is not None:
            self._offer_to_front(row, point)

    def _iteration_of(self, row: int) -> int | None:
        value = self.store.iterations[row]
        return None if value < 0 else value

    def _offer_to_front(self, row: int, point: Point) -> None:
        store = self.store
        joined, removed = self._front.add(store.ids[row], point)
        changes = self.changes
        if joined:
            store.on_front[row] = 1
            store.revisions[row] = self.revision
            changes.front = True
            changes.row_changed(row)
        for key in removed:
            left = store.index[key]
            store.on_front[left] = 0
            store.revisions[left] = self.revision
            changes.row_changed(left)

    def _demote(self, row: int, old_point: Point | None, held: list[str]) -> None:
        """Undo what the row's previous measurement gave it, before its new one is
        scored. Re-measuring a leader is routine in long campaigns, so this looks
        only at what the old measurement could have held down: the candidates its
        old point dominated and the best values it held, not a full recompute."""
        store = self.store
        if old_point is not None:
            self._front.discard(store.ids[row])
            store.on_front[row] = 0
            self.changes.front = True
            self._readmit_dominated_by(old_point, row)
        for name in held:
            value = store.measured(row, name) if store.status[row] == 1 else None
            if value is not None and not self._better(name, self.best[name].value, value):
                self.best[name] = BestValue(value, store.ids[row], self._iteration_of(row))
            else:
                self._rescan_best(name, skip=row)

    def _readmit_dominated_by(self, old_point: Point, skip: int) -> None:
        # Transitivity: a candidate dominated only by the departed point is
        # dominated by nothing left, so only those the old point dominated are
        # looked at (a scan of the value columns: NaN compares false, so rows
        # without a full measurement drop out), and of those only their own
        # front is offered.
        held_down: list[tuple[Point, int]] = []
        if len(old_point) == 2:
            ox, oy = old_point
            # A front member at least as good in one objective dominates every
            # point worse than it in the other: only a thin box can re-enter.
            low_x = max((fx for fx, fy in self._front.values() if fy >= oy), default=-math.inf)
            low_y = max((fy for fx, fy in self._front.values() if fx >= ox), default=-math.inf)
            xs, ys = self._columns
            for row, (x, y) in enumerate(zip(xs, ys, strict=True)):
                if low_x <= x <= ox and low_y <= y <= oy and (x < ox or y < oy):
                    held_down.append(((x, y), row))
        else:
            for row, point in enumerate(zip(*self._columns, strict=True)):
                # Spelled out rather than dominates(): NaN must fail, not pass, the test.
                if all(v <= o for v, o in zip(point, old_point, strict=True)) and point != old_point:
                    held_down.append((point, row))
        on_front = self.store.on_front
        held_down = [item for item in held_down if item[1] != skip and not on_front[item[1]]]
        held_down.sort(key=lambda item: item[0], reverse=True)
        for point, other in _skyline_2d(held_down) if len(old_point) == 2 else held_down:
            self._offer_to_front(other, point)

    def _rescan_best(self, name: str, skip: int) -> None:
        column = self._columns[self.objectives.index(name)]
        best_row, best_signed = -1, -math.inf
        for row, signed in enumerate(column):
            if signed > best_signed and row != skip:  # NaN: never
                best_row, best_signed = row, signed
        if best_row < 0:
            self.best.pop(name, None)
            return
        value = self.store.measured(best_row, name)
        assert value is not None  # a finite column entry came from this measurement
        self.best[name] = BestValue(value, self.store.ids[best_row], self._iteration_of(best_row))

    def _better(self, name: str, value: float, than: float) -> bool:
        return value < than if self.directions.get(name) == "minimize" else value > than

    def _recompute_scores(self) -> None:
        self._signs = [-1.0 if self.directions.get(n) == "minimize" else 1.0 for n in self.objectives]
        count = len(self.store)
        self._columns = [array("d", [NAN]) * count for _ in self.objectives]
        self.best.clear()
        self._front.clear()
        self.changes.every_row()
        self.changes.front = self.changes.best = True
        on_front = self.store.on_front
        on_front[:] = array("b", [0]) * count
        for row in range(count):
            self._store_columns(row)
            self._score(row)
        self._rebuild_best_by_iteration()

    def _rebuild_best_by_iteration(self) -> None:
        """``best_by_iteration`` under today's objectives and directions (what ``best``
        held as each iteration completed, unless a re-measurement moved it since)."""
        measured = (c for c in self.candidate_list if c.status == "evaluated")
        completed = [iteration for iteration, _ in self.best_history]
        self.best_by_iteration = best_by_iteration(measured, completed, self._better)
        self.changes.convergence = True



def _skyline_2d(items: list[tuple[Point, int]]) -> list[tuple[Point, int]]:
    """The non-dominated items of a list sorted by point, descending (equal points all stay)."""
    kept: list[tuple[Point, int]] = []
    top = -math.inf
    for item in items:
        point = item[0]
        if point[1] > top or (kept and point == kept[-1][0]):
            kept.append(item)
            top = max(top, point[1])
    return kept


def _span(start: float | None, end: float | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, end - start)


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
