"""An in-memory ``EventSource`` whose items the test releases on demand, and a
deterministic campaign script (events, timestamps and values are fixed by a
seed) for pilot tests, snapshots and screenshots.

Pacing is in the test's hands: nothing is yielded until ``release`` (or
``release_all``) is called, so tests wait for named conditions, never sleep.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any

from materia_tui.errors import MateriaError
from materia_tui.protocol import (
    Campaign,
    CampaignCompleted,
    CampaignError,
    Candidate,
    CandidatesEvaluated,
    CandidatesProposed,
    ConvergenceUpdate,
    EvaluationResult,
    Event,
    IterationCompleted,
    IterationStarted,
    Objective,
    ParameterSpec,
    Rejected,
    SurrogateMetrics,
    SurrogateTrained,
    dump_event,
)
from materia_tui.source import (
    ConnectionChanged,
    EventReceived,
    FrameRejected,
    MetadataReceived,
    SourceItem,
)

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z: every scripted time is an offset from it
ITERATION_SECONDS = 30.0
POLYMERS = ("PVDF", "PES", "PSf", "PA")

_END = object()


class FakeSource:
    """Holds ``items``; yields them only as the test releases them."""

    def __init__(self, items: Iterable[SourceItem] = ()) -> None:
        self.pending: list[SourceItem] = list(items)
        self.consumed = 0
        self.closed = False
        self._queue: asyncio.Queue[object] = asyncio.Queue()

    def add(self, *items: SourceItem) -> None:
        self.pending.extend(items)

    def release(self, n: int | None = None) -> int:
        """Hand the next ``n`` pending items (all when None) to the consumer."""
        count = len(self.pending) if n is None else min(n, len(self.pending))
        for item in self.pending[:count]:
            self._queue.put_nowait(item)
        del self.pending[:count]
        return count

    @property
    def drained(self) -> bool:
        """The consumer has taken every released item."""
        return self._queue.empty()

    def release_all(self) -> int:
        return self.release(None)

    def fail(self, error: MateriaError) -> None:
        """After the released items, raise ``error`` from the iterator."""
        self._queue.put_nowait(error)

    def end(self) -> None:
        """After the released items, end the stream (like ``stop_at_end``)."""
        self._queue.put_nowait(_END)

    async def __aiter__(self) -> AsyncIterator[SourceItem]:
        while True:
            item = await self._queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            self.consumed += 1
            yield item  # type: ignore[misc]

    async def aclose(self) -> None:
        self.closed = True


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def campaign_metadata(
    campaign_id: str = "camp-123",
    name: str = "RO membrane screen",
    max_iterations: int = 12,
    status: str = "running",
) -> Campaign:
    return Campaign.model_validate(
        {
            "id": campaign_id,
            "name": name,
            "status": status,
            "objectives": [
                Objective(name="water_flux", direction="maximize", unit="L/m2/h"),
                Objective(name="salt_rejection", direction="maximize", unit="%"),
            ],
            "parameters": [
                ParameterSpec(name="pore_size_nm", type="float", low=0.3, high=2.0),
                ParameterSpec(name="polymer", type="categorical", choices=list(POLYMERS)),
            ],
            "max_iterations": max_iterations,
            "batch_size": 5,
        }
    )


class CampaignScript:
    """Builds a campaign's events with consecutive ``seq`` and fixed clocks."""

    def __init__(self, campaign_id: str = "camp-123", *, batch: int = 5, seed: int = 7) -> None:
        self.campaign_id = campaign_id
        self.batch = batch
        self.rng = random.Random(seed)
        self.seq = 0
        self.best = 0.0
        self.front = 0
        self.candidates = 0
        self.at = T0

    def _item(self, event: Event, offset: float) -> EventReceived:
        self.at = offset
        return EventReceived(event, offset)

    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def iteration(
        self, number: int, *, evaluate: bool = True, complete: bool = True, converged: bool = False
    ) -> list[SourceItem]:
        start = T0 + (number - 1) * ITERATION_SECONDS
        rng = self.rng
        items: list[SourceItem] = [
            self._item(IterationStarted(iteration=number, timestamp=iso(start), seq=self._next_seq()), start)
        ]
        if number > 1:
            metrics = SurrogateMetrics(train_loss=round(0.5 / number, 4), val_loss=round(0.8 / number, 4))
            items.append(
                self._item(
                    SurrogateTrained(metrics=metrics, seq=self._next_seq(), timestamp=iso(start + 8)),
                    start + 8,
                )
            )
        batch: list[Candidate] = []
        for _ in range(self.batch):
            self.candidates += 1
            pore = round(rng.uniform(0.3, min(2.0, 0.9 + 0.1 * number)), 3)  # improves over time
            batch.append(
                Candidate(
                    id=f"c-{self.candidates:04d}",
                    parameters={"pore_size_nm": pore, "polymer": rng.choice(POLYMERS)},
                    predicted={
                        "water_flux": round(20 + 30 * pore, 1),
                        "salt_rejection": round(99 - 6 * pore**2, 1),
                    },
                    uncertainty={"water_flux": round(rng.uniform(0.5, 4), 1), "salt_rejection": 0.4},
                    acquisition_value=round(rng.uniform(0, 1), 3),
                )
            )
        items.append(
            self._item(
                CandidatesProposed(
                    candidates=batch, iteration=number, seq=self._next_seq(), timestamp=iso(start + 12)
                ),
                start + 12,
            )
        )
        if not evaluate:
            return items
        results: list[EvaluationResult] = []
        for index, cand in enumerate(batch):
            pore = float(cand.parameters["pore_size_nm"])
            if number % 4 == 0 and index == 4:
                results.append(EvaluationResult(candidate_id=cand.id, error="membrane tore in test cell"))
                continue
            flux = round(18 + 32 * pore + rng.uniform(-4, 4), 2)
            rejection = round(99.5 - 6.5 * pore**2 + rng.uniform(-1.5, 1.0), 2)
            self.best = max(self.best, flux)
            results.append(
                EvaluationResult(
                    candidate_id=cand.id,
                    objectives={"water_flux": flux, "salt_rejection": rejection},
                    feasible=not (number % 3 == 0 and index == 3),
                )
            )
        items.append(
            self._item(
                CandidatesEvaluated(
                    results=results, iteration=number, seq=self._next_seq(), timestamp=iso(start + 25)
                ),
                start + 25,
            )
        )
        if not complete:
            return items
        items.append(
            self._item(
                ConvergenceUpdate(
                    metric=round(0.4 / number**1.5, 4),
                    converged=converged,
                    seq=self._next_seq(),
                    timestamp=iso(start + 27),
                ),
                start + 27,
            )
        )
        self.front = min(self.candidates, 3 + number // 2)
        items.append(
            self._item(
                IterationCompleted(
                    iteration=number,
                    best_value=self.best,
                    pareto_size=self.front,
                    seq=self._next_seq(),
                    timestamp=iso(start + 29),
                ),
                start + 29,
            )
        )
        return items

    def completed(self, iterations: int) -> list[SourceItem]:
        at = self.at + 1
        event = CampaignCompleted(
            total_iterations=iterations,
            total_evaluations=self.candidates,
            seq=self._next_seq(),
            timestamp=iso(at),
        )
        return [self._item(event, at)]

    def error(self, message: str, *, fatal: bool, iteration: int | None = None) -> list[SourceItem]:
        at = self.at + 1
        event = CampaignError(
            error=message, iteration=iteration, fatal=fatal, seq=self._next_seq(), timestamp=iso(at)
        )
        return [self._item(event, at)]

    def rejected(self, reason: str) -> list[SourceItem]:
        return [FrameRejected(Rejected("malformed", reason), self.at)]


def campaign_items(
    iterations: int,
    *,
    campaign_id: str = "camp-123",
    name: str = "RO membrane screen",
    max_iterations: int = 12,
    complete: bool = False,
    fail: str | None = None,
    converge_at: int | None = None,
    partial_last: bool = False,
    seed: int = 7,
) -> list[SourceItem]:
    """A whole deterministic stream: connection changes, metadata, then events."""
    script = CampaignScript(campaign_id, seed=seed)
    items: list[SourceItem] = [
        ConnectionChanged("connecting"),
        MetadataReceived(campaign_metadata(campaign_id, name, max_iterations)),
        ConnectionChanged("live"),
    ]
    for number in range(1, iterations + 1):
        last = number == iterations
        converged = converge_at is not None and number >= converge_at
        if last and partial_last:
            items += script.iteration(number, evaluate=False)
        else:
            items += script.iteration(number, converged=converged)
        if number == 2:
            items += script.rejected("invalid candidates_evaluated: results.0.objectives: not a number")
    if fail is not None:
        items += script.error(fail, fatal=True, iteration=iterations)
    elif complete:
        items += script.completed(iterations)
    return items


def frozen_clock(at: float) -> float:
    return at


def event_dicts(items: list[Any]) -> list[dict[str, Any]]:
    """Events without seq: the server numbers them."""
    out = []
    for item in items:
        if isinstance(item, EventReceived):
            event = dump_event(item.event)
            event.pop("seq", None)
            out.append(event)
    return out
