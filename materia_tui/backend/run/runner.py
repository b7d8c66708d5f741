"""The campaign loop of ``materia-tui run``: propose, evaluate, publish, journal.

Per iteration it publishes (PROTOCOL.md section 4) iteration_started,
surrogate_trained (once there is a surrogate), candidates_proposed,
candidates_evaluated, iteration_completed and convergence_update; at the end
campaign_completed, or a fatal campaign_error (after the status says failed).
Every event is journaled before it is published, with the seq it gets, so the
journal is the campaign's truth: ``prepare(resume=True)`` rebuilds the ledger
from it, re-publishes what the sink lacks, and the loop continues at the first
event the journal does not hold. Optimizer work runs in a thread, evaluations
in the executor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal, Protocol

from materia_tui.backend.run.config import CategoricalSpec, ContinuousSpec, LoadedConfig
from materia_tui.backend.run.evaluation import CANCELLED, EvaluationOutcome, EvaluationTask
from materia_tui.backend.run.executor import Executor
from materia_tui.backend.run.journal import Journal, JournalContents, check_journal, read_journal
from materia_tui.backend.run.ledger import Candidate, Ledger
from materia_tui.backend.run.optimizer import Observation, Optimizer, Proposal
from materia_tui.backend.run.progress import convergence, pareto_ids
from materia_tui.backend.run.space import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    ObjectiveSpec,
    Parameter,
    SearchSpace,
)

logger = logging.getLogger(__name__)

FAILED_ITERATIONS_LIMIT: Final = 3  # iterations in a row with every evaluation failed: the campaign fails
# Seconds each phase should appear to take at pace 1 (``demo --speed``), computation included.
PHASE_SECONDS: Final = {"train": 0.6, "propose": 0.6, "evaluate": 1.5}

FinalStatus = Literal["completed", "failed", "cancelled"]


class CampaignSink(Protocol):
    """Where events go (MemoryPublisher, AsyncPublisher): metadata writes and event publishing."""

    async def set_metadata(self, campaign: dict[str, Any]) -> None: ...

    async def publish(self, campaign_id: str, event: dict[str, Any]) -> int: ...


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def search_space(loaded: LoadedConfig) -> SearchSpace:
    parameters: list[Parameter] = []
    for name, spec in loaded.config.parameters.items():
        if isinstance(spec, ContinuousSpec):
            parameters.append(ContinuousParameter(name, spec.low, spec.high, log=spec.log))
        elif isinstance(spec, CategoricalSpec):
            parameters.append(CategoricalParameter(name, tuple(spec.choices)))
        else:
            parameters.append(IntegerParameter(name, spec.low, spec.high, log=spec.log))
    return SearchSpace(tuple(parameters))


class CampaignRunner:
    def __init__(
        self,
        loaded: LoadedConfig,
        sink: CampaignSink,
        executor: Executor,
        *,
        campaign_id: str,
        seed: int,
        journal_path: Path,
        pace: float = 0.0,
    ) -> None:
        self.loaded = loaded
        self.config = loaded.config
        self.sink = sink
        self.executor = executor
        self.campaign_id = campaign_id
        self.seed = seed
        self.journal_path = journal_path
        self.pace = pace
        self.ledger = Ledger(loaded)
        self.optimizer = Optimizer(
            search_space(loaded),
            [ObjectiveSpec(name, o.direction) for name, o in self.config.objectives.items()],
            seed=seed,
            initial_samples=self.config.initial_design_size(),
        )
        self.seq = 0
        self.outcomes: dict[str, EvaluationOutcome] = {}
        self.journal: Journal | None = None
        self.created_at = utc_now()
        self.status: FinalStatus | Literal["running"] = "running"
        self.error: str | None = None
        self.resumed_from: int = 0  # events already in the journal when resumed

    # ----- start ----------------------------------------------------------------------

    async def prepare(self, *, resume: bool, sink_seq: int = 0) -> None:
        """Open the journal (rebuilding from it with ``resume``), then write the metadata.
        ``sink_seq``: the last seq the sink already holds for this campaign (Redis)."""
        check_journal(self.journal_path, resume=resume, campaign_id=self.campaign_id)
        contents = read_journal(self.journal_path) if self.journal_path.exists() else JournalContents()
        if contents.metadata is not None:
            self.loaded.check_same_campaign(contents.metadata, self.journal_path)
        self.journal = Journal(self.journal_path)
        if contents.metadata is not None:
            self.created_at = str(contents.metadata.get("created_at") or self.created_at)
        for event in contents.events:
            self.ledger.apply(event)
        self.outcomes = dict(contents.outcomes)
        self.seq = contents.last_seq
        self.resumed_from = self.seq
        await self._set_metadata(self.ledger.finished or "running")
        for event in contents.events[sink_seq:]:
            await self.sink.publish(self.campaign_id, event)

    def metadata(self, status: str) -> dict[str, Any]:
        finished = None if status == "running" else utc_now()
        return {
            "id": self.campaign_id,
            "name": self.loaded.name,
            "status": status,
            "objectives": self.loaded.objective_metadata(),
            "parameters": self.loaded.parameter_metadata(),
            "max_iterations": self.config.iterations,
            "batch_size": self.config.batch_size,
            "created_at": self.created_at,
            "started_at": self.created_at,
            "finished_at": finished,
        }

    async def _set_metadata(self, status: str) -> None:
        meta = self.metadata(status)
        assert self.journal is not None
        self.journal.metadata(meta)
        await self.sink.set_metadata(meta)

    # ----- the loop ---------------------------------------------------------------------

    async def run(self) -> FinalStatus:
        """Run to the end; ``prepare`` first. Cancellation marks the campaign cancelled."""
        if self.ledger.finished is not None:
            self.status = "completed" if self.ledger.finished == "completed" else "failed"
            return self.status
        try:
            return await self._loop()
        except asyncio.CancelledError:
            await self._stop("cancelled")
            raise
        finally:
            if self.journal is not None:
                self.journal.close()

    async def _loop(self) -> FinalStatus:
        ledger = self.ledger
        first = ledger.iteration + 1 if ledger.phase == "done" else ledger.iteration
        # Resumed at an iteration boundary: the last iteration may already have ended the campaign.
        ending = await self._ending(ledger.iteration) if ledger.phase == "done" and ledger.iteration else None
        for iteration in range(max(1, first), self.config.iterations + 1):
            if ending is not None:
                break
            try:
                await self._iteration(iteration)
            except Exception as exc:
                logger.exception("campaign %s: the optimizer failed", self.campaign_id)
                return await self._fail(f"optimizer failed: {type(exc).__name__}: {exc}", iteration)
            ending = await self._ending(iteration)
        if ending == "failed":
            return "failed"
        total = len(ledger.results)
        await self.emit(
            {"type": "campaign_completed", "total_iterations": ledger.iteration, "total_evaluations": total}
        )
        self.status = "completed"
        await self._set_metadata("completed")
        self._sync()
        return "completed"

    async def _ending(self, iteration: int) -> Literal["failed", "converged"] | None:
        """Whether the campaign ends after ``iteration``: failed (and published), or converged."""
        if self.ledger.failed_streak() >= FAILED_ITERATIONS_LIMIT:
            await self._fail(self._failure_reason(iteration), iteration)
            return "failed"
        threshold = self.config.stop.convergence
        if threshold is not None and convergence(self.ledger.measured(), iteration, threshold)[1]:
            return "converged"
        return None

    async def _iteration(self, iteration: int) -> None:
        ledger = self.ledger
        if ledger.iteration < iteration:
            await self.emit({"type": "iteration_started", "iteration": iteration})
        if ledger.phase in ("started", "trained"):
            await self._propose(iteration)
            self._sync()
        if ledger.phase == "proposed":
            await self._evaluate(iteration)
            self._sync()
        if ledger.phase == "evaluated":
            best = ledger.best_primary()
            await self.emit(
                {
                    "type": "iteration_completed",
                    "iteration": iteration,
                    "best_value": best if best is not None else 0.0,
                    "pareto_size": len(pareto_ids(ledger.measured())),
                }
            )
        metric, converged = convergence(ledger.measured(), iteration, self.config.stop.convergence)
        if ledger.phase == "completed":
            await self.emit({"type": "convergence_update", "metric": metric, "converged": converged})
            self._sync()

    def observations(self) -> list[Observation]:
        out = []
        for candidate in self.ledger.candidates.values():
            result = self.ledger.results.get(candidate.id)
            if result is not None:
                failed = result.error is not None
                out.append(Observation(candidate.parameters, result.objectives, result.feasible, failed))
        return out

    async def _propose(self, iteration: int) -> None:
        observations = self.observations()
        started = time.monotonic()
        model = await asyncio.to_thread(self.optimizer.fit, observations, iteration)
        if model is not None:
            await self._pace("train", started)
            metrics = {"train_loss": model.metrics.train_loss, "val_loss": model.metrics.val_loss}
            # Not a number (a degenerate fit) is no metric to publish; the proposals still count.
            if self.ledger.phase == "started" and all(math.isfinite(v) for v in metrics.values()):
                await self.emit({"type": "surrogate_trained", "metrics": metrics})
        started = time.monotonic()
        proposals = await asyncio.to_thread(
            self.optimizer.propose, model, observations, self.config.batch_size, iteration
        )
        await self._pace("propose", started)
        candidates = self._candidates(iteration, proposals)
        events = [c.event() for c in candidates]
        await self.emit({"type": "candidates_proposed", "iteration": iteration, "candidates": events})

    def _candidates(self, iteration: int, proposals: Sequence[Proposal]) -> list[Candidate]:
        first = len(self.ledger.candidates)
        return [
            Candidate(
                f"c-{first + k + 1:04d}",
                iteration,
                dict(p.parameters),
                dict(p.predicted),
                dict(p.uncertainty),
                p.acquisition_value,
            )
            for k, p in enumerate(proposals)
        ]

    async def _evaluate(self, iteration: int) -> None:
        started = time.monotonic()
        pending = self.ledger.pending()
        spec = self.loaded.evaluator_spec()
        tasks = [
            EvaluationTask(self.campaign_id, c.id, iteration, dict(c.parameters), spec)
            for c in pending
            if c.id not in self.outcomes  # measured before an interruption: never twice
        ]
        if tasks:
            async for outcome in self.executor.run(tasks):
                if outcome.error == CANCELLED:
                    continue  # stopped by a cancel: evaluated again on resume
                assert self.journal is not None
                self.journal.outcome(outcome)
                self.outcomes[outcome.candidate_id] = outcome
        missing = [c.id for c in pending if c.id not in self.outcomes]
        if missing:
            raise asyncio.CancelledError  # the executor was cancelled under us
        await self._pace("evaluate", started)
        results = [self.ledger.to_result(self.outcomes[c.id]) for c in pending]
        await self.emit(
            {"type": "candidates_evaluated", "iteration": iteration, "results": [r.event() for r in results]}
        )

    # ----- publishing -------------------------------------------------------------------

    async def emit(self, event: dict[str, Any]) -> int:
        """Journal, then publish; the ledger follows the same event."""
        self.seq += 1
        full = {**event, "seq": self.seq, "campaign_id": self.campaign_id, "timestamp": utc_now()}
        assert self.journal is not None
        self.journal.event(full)
        self.ledger.apply(full)
        await self.sink.publish(self.campaign_id, full)
        return self.seq

    def _sync(self) -> None:
        if self.journal is not None:
            self.journal.sync()

    async def _pace(self, phase: str, started: float) -> None:
        if self.pace > 0:
            await asyncio.sleep(max(0.0, PHASE_SECONDS[phase] / self.pace - (time.monotonic() - started)))

    async def _fail(self, reason: str, iteration: int) -> FinalStatus:
        self.status, self.error = "failed", reason
        # PROTOCOL.md: the status says failed before the fatal error is published.
        await self._set_metadata("failed")
        await self.emit({"type": "campaign_error", "error": reason, "iteration": iteration, "fatal": True})
        self._sync()
        return "failed"

    def _failure_reason(self, iteration: int) -> str:
        last = self.ledger.iteration_results(iteration)
        example = last[-1].error if last else None
        return f"every evaluation failed in {FAILED_ITERATIONS_LIMIT} iterations in a row" + (
            f"; the last: {example}" if example else ""
        )

    async def _stop(self, status: FinalStatus) -> None:
        """Cancelled: stop evaluations, mark the campaign, keep the journal resumable."""
        self.status = status
        with contextlib.suppress(Exception):
            await self.executor.cancel()
        with contextlib.suppress(Exception):
            await asyncio.shield(self._set_metadata(status))
        self._sync()
