"""An Optuna study as a campaign: the pure half of the Optuna source (no I/O, no ``import optuna``).

``StudyMapper.take(trials)`` turns trials that are new or changed since the
last call into source items, in order, with ``seq`` counting up from 1:

- the study is a campaign: its directions are the objectives (named by
  ``study.metric_names`` when set, else ``value`` / ``values_N``, with a unit
  from the study's ``unit`` / ``units`` user attributes), the distributions
  seen so far are the parameter specs (``MetadataReceived`` again whenever
  they widen, and once the iteration size is known);
- trial N is candidate ``trial-N``: RUNNING -> proposed with its parameters,
  COMPLETE -> evaluated, PRUNED and FAIL -> failed with a reason, and its
  constraint values (Optuna's ``constraints`` system attributes) -> feasible
  when all are <= 0, Optuna's own rule;
- Optuna has no iterations: finished trials are grouped by completion into
  iterations of ``batch`` trials (default: the most trials that ran at once,
  as seen when the first trial finishes, or 1). Iteration k starts when
  iteration k-1's last trial finished (the first when the first trial
  started), so durations and the ETA are the study's own;
- with ``n_trials``, the campaign completes once that many trials have
  finished (a last, partial iteration is closed first).

Every event carries the time it happened in the study (Optuna stores naive
local datetimes: they are read as this machine's local time), and so does
its item's ``received_at``, so a monitor, a recording and its replay all show
the study's timings. Objective values of +-inf (which Optuna allows and the
protocol cannot carry) are clamped to +-1.8e308, which keeps their order, so
best values and the Pareto front stay Optuna's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from materia_tui.protocol import (
    Campaign,
    CampaignCompleted,
    CandidatesEvaluated,
    CandidatesProposed,
    Event,
    IterationCompleted,
    IterationStarted,
    Objective,
    ParameterSpec,
)
from materia_tui.source import EventReceived, MetadataReceived, SourceItem
from materia_tui.source.optuna_study import (
    FINISHED_STATES,
    FrontSize,
    StudyInfo,
    TrialLike,
    epoch,
    failure_reason,
    finite,
    is_feasible,
    iso,
    merge_specs,
    most_at_once,
    parameter_spec,
    parameter_value,
)


@dataclass(slots=True)
class _Proposal:
    parameters: dict[str, Any]
    iteration: int


class StudyMapper:
    """Folds trial updates into campaign events; ``take`` returns the items to hand on."""

    def __init__(
        self,
        campaign_id: str,
        info: StudyInfo,
        *,
        batch: int | None = None,
        n_trials: int | None = None,
    ) -> None:
        if batch is not None and batch < 1:
            raise ValueError("batch must be at least 1")
        self.campaign_id = campaign_id
        self.info = info
        self.batch = batch
        self.n_trials = n_trials
        self.seq = 0
        self.iteration = 1  # the open iteration: the next finished trial goes into it
        self.completed_iterations = 0
        self.finished_trials = 0
        self.completed = False
        self._started = False  # iteration_started sent for the open iteration
        self._in_iteration = 0  # finished trials in the open iteration
        self._next_start: float | None = None  # when the open iteration started
        self._first_start: float | None = None
        self._finished: set[int] = set()
        self._proposals: dict[int, _Proposal] = {}
        self._intervals: dict[int, tuple[float, float]] = {}  # by trial number, until the batch is decided
        self._specs: dict[str, ParameterSpec] = {}
        self._distributions: dict[str, Any] = {}  # the last distribution seen per parameter
        self._iso_cache = (math.nan, "")  # events of one trial share their times
        self._front = FrontSize()
        self._signs = [-1.0 if d == "minimize" else 1.0 for d in info.directions]
        self._names = info.objective_names
        # (start, end) epoch seconds of the trials of the current take(): read once each
        self._times: dict[int, tuple[float, float]] = {}
        self._best: float | None = None  # primary objective, sign-adjusted, feasible
        self._best_any: float | None = None  # the same over all complete trials
        self._metadata_sent: Campaign | None = None

    # ----- metadata ----------------------------------------------------------------

    def campaign(self) -> Campaign:
        units = self.info.units()
        objectives = [
            Objective(name=name, direction=direction, unit=units.get(name))
            for name, direction in zip(self.info.objective_names, self.info.directions, strict=True)
        ]
        per = "trial" if self.batch == 1 else "trials"
        name = f"Optuna study, {self.batch} {per}/iteration" if self.batch else "Optuna study"
        total = math.ceil(self.n_trials / self.batch) if self.n_trials and self.batch else None
        return Campaign(
            id=self.campaign_id,
            name=name,
            status="completed" if self.completed else "running",
            objectives=objectives,
            parameters=list(self._specs.values()),
            max_iterations=total,
            batch_size=self.batch,
            started_at=iso(self._first_start) if self._first_start is not None else None,
        )

    def set_info(self, info: StudyInfo) -> None:
        """New study details (metric names and units may be set after the study starts)."""
        if info.directions != self.info.directions:
            return  # a study's directions never change; a different study under the same name
        self.info = info
        self._names = info.objective_names

    def _metadata_item(self) -> MetadataReceived | None:
        campaign = self.campaign()
        if campaign == self._metadata_sent:
            return None
        self._metadata_sent = campaign
        return MetadataReceived(campaign)

    # ----- trials ---------------------------------------------------------------------

    def take(self, trials: Iterable[TrialLike], now: float) -> list[SourceItem]:
        """The items for trials that are new or changed since the last call (any order)."""
        if self.completed:
            return []
        running: list[TrialLike] = []
        finished: list[TrialLike] = []
        for trial in trials:
            number, state = trial.number, trial.state.name
            if number in self._finished:
                continue
            if state in FINISHED_STATES:
                finished.append(trial)
            elif state == "RUNNING":
                proposal = self._proposals.get(number)
                if proposal is None or proposal.parameters != trial.params:
                    running.append(trial)
            else:
                continue  # WAITING: enqueued, not started
            self._note_trial(trial, state, now)
        events: list[tuple[Event, float]] = []
        if finished:
            self._finish(finished, now, events)
        if running:
            self._propose_running(running, now, events)
        if self.n_trials is not None and self.finished_trials >= self.n_trials:
            self._complete(now, events)
        items: list[SourceItem] = []
        metadata = self._metadata_item()
        if metadata is not None:
            items.append(metadata)
        items += [EventReceived(event, at) for event, at in events]
        self._times.clear()
        return items

    def _note_trial(self, trial: TrialLike, state: str, now: float) -> None:
        start = epoch(trial.datetime_start)
        end = epoch(trial.datetime_complete) if state in FINISHED_STATES else None
        # Times in the future (another machine's clock) are taken as now.
        self._times[trial.number] = (
            now if start is None else min(start, now),
            now if end is None else min(end, now),
        )
        if start is not None and (self._first_start is None or start < self._first_start):
            self._first_start = start
        if self.batch is None and start is not None:
            if state not in FINISHED_STATES:
                end = math.inf
            self._intervals[trial.number] = (start, end if end is not None else now)
        seen = self._distributions
        for name, distribution in trial.distributions.items():
            if seen.get(name) == distribution:  # the usual case: as the previous trial's
                continue
            seen[name] = distribution
            spec = parameter_spec(name, distribution)
            old = self._specs.get(name)
            self._specs[name] = spec if old is None else merge_specs(old, spec)

    def _finish(self, trials: list[TrialLike], now: float, events: list[tuple[Event, float]]) -> None:
        if self.batch is None:
            self.batch = max(1, most_at_once(self._intervals.values()))
            self._intervals = {}
        times = self._times
        trials.sort(key=lambda t: (times[t.number][1], t.number))
        group: list[TrialLike] = []
        for trial in trials:
            group.append(trial)
            self._in_iteration += 1
            if self._in_iteration == self.batch:
                self._flush(group, now, events, close=True)
                group = []
        if group:
            self._flush(group, now, events, close=False)

    def _flush(
        self, group: list[TrialLike], now: float, events: list[tuple[Event, float]], *, close: bool
    ) -> None:
        """Evaluate one iteration's share of the finished trials (and close it)."""
        self._start_iteration(now, events)
        iteration = self.iteration
        unproposed = [
            t
            for t in group
            if (p := self._proposals.get(t.number)) is None
            or p.iteration != iteration
            or p.parameters != t.params
        ]
        times = self._times
        if unproposed:
            at = max(times[t.number][0] for t in unproposed)
            events.append(self._proposed(unproposed, iteration, at))
        results = [self._result(t) for t in group]
        at = max(times[t.number][1] for t in group)
        events.append((self._event(CandidatesEvaluated, results=results, iteration=iteration, at=at), at))
        for trial in group:
            self._finished.add(trial.number)
            self._proposals.pop(trial.number, None)
        self.finished_trials += len(group)
        if close:
            self._close_iteration(at, events)

    def _close_iteration(self, at: float, events: list[tuple[Event, float]]) -> None:
        # The protocol needs a number: the best feasible value, else the best of any
        # complete trial, else 0 (nothing has completed yet).
        best = self._best if self._best is not None else self._best_any
        best_value = 0.0 if best is None or not self._signs else best * self._signs[0]
        event = self._event(
            IterationCompleted,
            iteration=self.iteration,
            best_value=best_value,
            pareto_size=len(self._front),
            at=at,
        )
        events.append((event, at))
        self.completed_iterations += 1
        self.iteration += 1
        self._started = False
        self._in_iteration = 0
        self._next_start = at

    def _propose_running(
        self, trials: list[TrialLike], now: float, events: list[tuple[Event, float]]
    ) -> None:
        self._start_iteration(now, events)
        trials.sort(key=lambda t: t.number)
        at = max(self._times[t.number][0] for t in trials)
        events.append(self._proposed(trials, self.iteration, at))

    def _complete(self, now: float, events: list[tuple[Event, float]]) -> None:
        at = max((at for _, at in events), default=self._next_start or now)
        if self._in_iteration:
            self._close_iteration(at, events)
        event = self._event(
            CampaignCompleted,
            total_iterations=self.completed_iterations,
            total_evaluations=self.finished_trials,
            at=at,
        )
        events.append((event, at))
        self.completed = True

    def _start_iteration(self, now: float, events: list[tuple[Event, float]]) -> None:
        if self._started:
            return
        self._started = True
        start = self._next_start if self._next_start is not None else self._first_start
        at = start if start is not None else now
        events.append((self._event(IterationStarted, iteration=self.iteration, at=at), at))

    # ----- events ---------------------------------------------------------------------

    def _event(self, model: type[Any], *, at: float, **fields: Any) -> Event:
        """The event, validated by its model (nested parts given as plain dicts): ~1-2 us,
        where ``model_construct`` costs several times that. The values come from the
        sanitizing helpers, so validation never fails here."""
        self.seq += 1
        cached_at, stamp = self._iso_cache
        if at != cached_at:
            stamp = iso(at)
            self._iso_cache = (at, stamp)
        fields.update(seq=self.seq, campaign_id=self.campaign_id, timestamp=stamp)
        event: Event = model.__pydantic_validator__.validate_python(fields)
        return event

    def _proposed(self, trials: list[TrialLike], iteration: int, at: float) -> tuple[Event, float]:
        candidates = []
        for trial in trials:
            parameters = {name: parameter_value(v) for name, v in trial.params.items()}
            candidates.append({"id": f"trial-{trial.number}", "parameters": parameters})
            self._proposals[trial.number] = _Proposal(dict(trial.params), iteration)
        return self._event(CandidatesProposed, candidates=candidates, iteration=iteration, at=at), at

    def _result(self, trial: TrialLike) -> dict[str, Any]:
        """One ``EvaluationResult``, as the dict its event validates."""
        names = self._names
        values = [finite(v) for v in trial.values or ()]
        objectives = {n: v for n, v in zip(names, values, strict=False) if not math.isnan(v)}
        candidate_id = f"trial-{trial.number}"
        if trial.state.name != "COMPLETE":
            return {"candidate_id": candidate_id, "objectives": objectives, "error": failure_reason(trial)}
        feasible = is_feasible(trial.system_attrs)
        if len(objectives) == len(names) and names:
            self._score([values[i] * sign for i, sign in enumerate(self._signs)], feasible)
        return {"candidate_id": candidate_id, "objectives": objectives, "feasible": feasible}

    def _score(self, point: list[float], feasible: bool) -> None:
        primary = point[0]
        if self._best_any is None or primary > self._best_any:
            self._best_any = primary
        if not feasible:
            return
        if self._best is None or primary > self._best:
            self._best = primary
        self._front.add(tuple(point))
