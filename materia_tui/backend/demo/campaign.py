"""The demo campaign: a real Bayesian optimization of the membrane model, published as events.

``run_campaign`` drives the loop and publishes, through any ``CampaignSink``
(the in-process bus, the Redis publisher, or ``MemorySink`` in tests), the
Campaign metadata of docs/PROTOCOL.md section 5 and, per iteration, the events of
section 4 in this order: iteration_started, surrogate_trained (from the first
iteration that has data to learn from), candidates_proposed,
candidates_evaluated, iteration_completed, convergence_update; and finally
campaign_completed. The returned ``CampaignRecord`` is the ground truth a
watcher's state must agree with.

GP fits and acquisition run in a worker thread, so the event loop (and a
server sharing it) stays responsive. ``speed`` paces the phases so a person
can watch them; ``speed=0`` runs flat out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal, Protocol

import numpy as np

from materia_tui.backend.demo import membrane
from materia_tui.backend.demo.membrane import OBJECTIVE_NAMES, WATER_FLUX
from materia_tui.backend.demo.optimizer import (
    BayesianOptimizer,
    Observation,
    Proposal,
    Surrogate,
    hypervolume,
    to_hv_space,
)
from materia_tui.state.pareto import brute_force_front

logger = logging.getLogger(__name__)

DEFAULT_CAMPAIGN_ID: Final = "demo-ro-membrane"
# Seconds each phase should appear to take at speed 1 (computation time counts towards it).
TRAINING_SECONDS: Final = 0.6
ACQUISITION_SECONDS: Final = 0.6
EVALUATION_SECONDS: Final = 1.5
CONVERGENCE_WINDOW: Final = 3  # iterations over which hypervolume growth is measured
# Relative hypervolume growth over the window below which the campaign counts as converged.
CONVERGENCE_THRESHOLD: Final = 0.05

FinalStatus = Literal["running", "completed", "failed", "cancelled"]


class CampaignSink(Protocol):
    """Where a campaign goes: metadata writes and event publishing (the sink assigns ``seq``)."""

    async def set_metadata(self, campaign: dict[str, Any]) -> None: ...

    async def publish(self, campaign_id: str, event: dict[str, Any]) -> int: ...


@dataclass(frozen=True, slots=True)
class EvaluationRecord:
    candidate_id: str
    iteration: int
    parameters: dict[str, float | str]
    objectives: dict[str, float]
    feasible: bool
    error: str | None
    predicted: dict[str, float]
    uncertainty: dict[str, float]
    acquisition_value: float | None

    @property
    def counts(self) -> bool:
        """Whether it competes for best values and the front (feasible and measured)."""
        return self.feasible and self.error is None


@dataclass(frozen=True, slots=True)
class IterationStats:
    iteration: int
    fit_seconds: float | None  # None when no surrogate was trained
    acquisition_seconds: float
    train_loss: float | None
    val_loss: float | None
    hypervolume: float  # in (water_flux, log reduction value) space, reference (0, 0)
    convergence_metric: float
    converged: bool


@dataclass(slots=True)
class CampaignRecord:
    """What the campaign really did: the ground truth for any watcher."""

    campaign_id: str
    status: FinalStatus = "running"
    evaluations: list[EvaluationRecord] = field(default_factory=list)
    iterations: list[IterationStats] = field(default_factory=list)
    best_values: dict[str, float] = field(default_factory=dict)
    best_candidate_ids: dict[str, str] = field(default_factory=dict)
    pareto_front_ids: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def total_evaluations(self) -> int:
        return len(self.evaluations)

    @property
    def iterations_completed(self) -> int:
        return len(self.iterations)

    def add(self, evaluations: list[EvaluationRecord]) -> None:
        """Fold in a batch; "best" keeps the first candidate to reach a value, as the state does."""
        self.evaluations.extend(evaluations)
        for e in evaluations:
            if not e.counts:
                continue
            for name, value in e.objectives.items():
                if name not in self.best_values or value > self.best_values[name]:
                    self.best_values[name] = value
                    self.best_candidate_ids[name] = e.candidate_id
        measured = [(e.candidate_id, tuple(e.objectives[n] for n in OBJECTIVE_NAMES)) for e in self.counted()]
        front = brute_force_front(measured)
        self.pareto_front_ids = [key for key, _ in measured if key in front]

    def counted(self) -> list[EvaluationRecord]:
        return [e for e in self.evaluations if e.counts]

    def hypervolume(self) -> float:
        points = np.array([to_hv_space(e.objectives) for e in self.counted()]).reshape(-1, 2)
        return hypervolume(points)


class MemorySink:
    """A sink that keeps everything in memory and numbers events itself (tests, recordings)."""

    def __init__(self) -> None:
        self.metadata: dict[str, Any] | None = None
        self.metadata_history: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []

    async def set_metadata(self, campaign: dict[str, Any]) -> None:
        self.metadata = dict(campaign)
        self.metadata_history.append(dict(campaign))

    async def publish(self, campaign_id: str, event: dict[str, Any]) -> int:
        seq = len(self.events) + 1
        self.events.append({**event, "seq": seq, "campaign_id": campaign_id})
        return seq


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def campaign_metadata(
    campaign_id: str, *, iterations: int, batch: int, seed: int, status: FinalStatus, created_at: str
) -> dict[str, Any]:
    return {
        "id": campaign_id,
        "name": f"RO membrane screen (demo, seed {seed})",
        "status": status,
        "objectives": membrane.objective_metadata(),
        "parameters": membrane.parameter_metadata(),
        "max_iterations": iterations,
        "batch_size": batch,
        "created_at": created_at,
        "started_at": created_at,
        "finished_at": None,
    }


async def run_campaign(
    sink: CampaignSink,
    *,
    campaign_id: str = DEFAULT_CAMPAIGN_ID,
    iterations: int = 12,
    batch: int = 5,
    seed: int = 0,
    speed: float = 1.0,
) -> CampaignRecord:
    """Run the whole campaign, publishing as it goes. Returns the record (status
    ``completed``, or ``failed`` after publishing a fatal ``campaign_error``).
    Sink failures propagate; cancellation marks the campaign ``cancelled``."""
    if iterations < 1 or batch < 1:
        raise ValueError("iterations and batch must be at least 1")
    if speed < 0:
        raise ValueError("speed must be >= 0 (0 disables pacing)")
    metadata = campaign_metadata(
        campaign_id, iterations=iterations, batch=batch, seed=seed, status="running", created_at=utc_now()
    )
    await sink.set_metadata(metadata)
    runner = _CampaignRunner(sink, campaign_id, batch=batch, seed=seed, speed=speed)
    try:
        for iteration in range(1, iterations + 1):
            await runner.run_iteration(iteration)
    except asyncio.CancelledError:
        runner.record.status = "cancelled"
        await sink.set_metadata({**metadata, "status": "cancelled", "finished_at": utc_now()})
        raise
    except Exception as exc:
        logger.exception("demo campaign %s failed", campaign_id)
        runner.record.status = "failed"
        runner.record.error = f"optimizer failed: {type(exc).__name__}: {exc}"
        # docs/PROTOCOL.md: the status says failed before the fatal error is published.
        await sink.set_metadata({**metadata, "status": "failed", "finished_at": utc_now()})
        await runner.emit(
            {
                "type": "campaign_error",
                "error": runner.record.error,
                "iteration": runner.iteration,
                "fatal": True,
            }
        )
        return runner.record
    await runner.emit(
        {
            "type": "campaign_completed",
            "total_iterations": runner.record.iterations_completed,
            "total_evaluations": runner.record.total_evaluations,
        }
    )
    runner.record.status = "completed"
    # After the final event, so a watcher that stops on "completed" already holds the totals.
    await sink.set_metadata({**metadata, "status": "completed", "finished_at": utc_now()})
    return runner.record


class _CampaignRunner:
    def __init__(self, sink: CampaignSink, campaign_id: str, *, batch: int, seed: int, speed: float) -> None:
        self.sink = sink
        self.campaign_id = campaign_id
        self.batch = batch
        self.seed = seed
        self.speed = speed
        self.optimizer = BayesianOptimizer(seed)
        self.record = CampaignRecord(campaign_id)
        self.observations: list[Observation] = []
        self.hypervolumes: list[float] = []
        self.iteration = 0

    async def emit(self, event: dict[str, Any]) -> int:
        event.setdefault("timestamp", utc_now())
        return await self.sink.publish(self.campaign_id, event)

    async def pace(self, seconds: float, already_spent: float = 0.0) -> None:
        if self.speed > 0:
            await asyncio.sleep(max(0.0, seconds / self.speed - already_spent))

    async def run_iteration(self, iteration: int) -> None:
        self.iteration = iteration
        await self.emit({"type": "iteration_started", "iteration": iteration})
        surrogate, fit_seconds = await self._train(iteration)
        started = time.perf_counter()
        if surrogate is None:
            proposals = self.optimizer.initial_design(self.batch, iteration)
        else:
            proposals = await asyncio.to_thread(
                self.optimizer.propose, surrogate, list(self.observations), self.batch, iteration
            )
        acquisition_seconds = time.perf_counter() - started
        await self.pace(ACQUISITION_SECONDS, acquisition_seconds)
        first_index = self.record.total_evaluations
        ids = [f"c-{first_index + k + 1:04d}" for k in range(len(proposals))]
        await self.emit(
            {
                "type": "candidates_proposed",
                "iteration": iteration,
                "candidates": [_candidate_event(i, p) for i, p in zip(ids, proposals, strict=True)],
            }
        )
        evaluations = self._evaluate(iteration, ids, proposals, first_index)
        await self.pace(EVALUATION_SECONDS)
        await self.emit(
            {
                "type": "candidates_evaluated",
                "iteration": iteration,
                "results": [_result_event(e) for e in evaluations],
            }
        )
        self.record.add(evaluations)
        await self._complete(iteration, surrogate, fit_seconds, acquisition_seconds)

    async def _train(self, iteration: int) -> tuple[Surrogate | None, float | None]:
        if iteration == 1 or not self.optimizer.can_fit(self.observations):
            return None, None
        started = time.perf_counter()
        surrogate = await asyncio.to_thread(self.optimizer.fit, list(self.observations), iteration)
        fit_seconds = time.perf_counter() - started
        await self.pace(TRAINING_SECONDS, fit_seconds)
        metrics = {
            "train_loss": _sig(surrogate.metrics.train_loss),
            "val_loss": _sig(surrogate.metrics.val_loss),
        }
        await self.emit({"type": "surrogate_trained", "metrics": metrics})
        return surrogate, fit_seconds

    def _evaluate(
        self, iteration: int, ids: list[str], proposals: list[Proposal], first_index: int
    ) -> list[EvaluationRecord]:
        evaluations = []
        for k, (candidate_id, proposal) in enumerate(zip(ids, proposals, strict=True)):
            measurement = membrane.measure(proposal.parameters, seed=self.seed, index=first_index + k)
            self.observations.append(
                Observation(
                    proposal.parameters,
                    measurement.objectives,
                    measurement.feasible,
                    failed=measurement.error is not None,
                )
            )
            evaluations.append(
                EvaluationRecord(
                    candidate_id=candidate_id,
                    iteration=iteration,
                    parameters=proposal.parameters,
                    objectives=measurement.objectives,
                    feasible=measurement.feasible,
                    error=measurement.error,
                    predicted=proposal.predicted,
                    uncertainty=proposal.uncertainty,
                    acquisition_value=proposal.acquisition_value,
                )
            )
        return evaluations

    async def _complete(
        self,
        iteration: int,
        surrogate: Surrogate | None,
        fit_seconds: float | None,
        acquisition_seconds: float,
    ) -> None:
        record = self.record
        await self.emit(
            {
                "type": "iteration_completed",
                "iteration": iteration,
                # No feasible measurement yet leaves nothing to report; 0 is "no flux".
                "best_value": record.best_values.get(WATER_FLUX, 0.0),
                "pareto_size": len(record.pareto_front_ids),
            }
        )
        self.hypervolumes.append(record.hypervolume())
        metric, converged = convergence(self.hypervolumes)
        await self.emit({"type": "convergence_update", "metric": metric, "converged": converged})
        record.iterations.append(
            IterationStats(
                iteration=iteration,
                fit_seconds=fit_seconds,
                acquisition_seconds=acquisition_seconds,
                train_loss=surrogate.metrics.train_loss if surrogate else None,
                val_loss=surrogate.metrics.val_loss if surrogate else None,
                hypervolume=self.hypervolumes[-1],
                convergence_metric=metric,
                converged=converged,
            )
        )


def convergence(hypervolumes: list[float]) -> tuple[float, bool]:
    """Relative hypervolume growth over the last few iterations, and whether it has stalled."""
    current = hypervolumes[-1]
    if current <= 0.0:
        return 1.0, False
    before = hypervolumes[-1 - CONVERGENCE_WINDOW] if len(hypervolumes) > CONVERGENCE_WINDOW else 0.0
    metric = _sig((current - before) / current)
    return metric, len(hypervolumes) > CONVERGENCE_WINDOW and metric < CONVERGENCE_THRESHOLD


def _candidate_event(candidate_id: str, proposal: Proposal) -> dict[str, Any]:
    event: dict[str, Any] = {"id": candidate_id, "parameters": dict(proposal.parameters)}
    if proposal.predicted:
        event["predicted"] = dict(proposal.predicted)
        event["uncertainty"] = dict(proposal.uncertainty)
    if proposal.acquisition_value is not None:
        event["acquisition_value"] = proposal.acquisition_value
    return event


def _result_event(evaluation: EvaluationRecord) -> dict[str, Any]:
    return {
        "candidate_id": evaluation.candidate_id,
        "objectives": dict(evaluation.objectives),
        "feasible": evaluation.feasible,
        "error": evaluation.error,
    }


def _sig(value: float, digits: int = 6) -> float:
    return float(f"{value:.{digits}g}")
