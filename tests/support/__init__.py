"""Test helpers shared by functional tests: campaign event scripts and source collectors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from materia_tui.source import ConnectionChanged, EventReceived, FrameRejected, SourceItem
from materia_tui.source.settings import ConnectionSettings


def campaign_events(
    iterations: int = 3, batch: int = 5, *, complete: bool = True, start: int = 1
) -> list[dict[str, Any]]:
    """A realistic event script (no seqs): every iteration's full cycle, then campaign_completed."""
    events: list[dict[str, Any]] = []
    for it in range(start, start + iterations):
        started_at = f"2025-01-01T00:{it % 60:02d}:00Z"
        events.append({"type": "iteration_started", "iteration": it, "timestamp": started_at})
        if it > 1:
            events.append({"type": "surrogate_trained", "metrics": {"train_loss": 0.1, "val_loss": 0.03}})
        events.append(proposed(it, batch))
        events.append(
            {
                "type": "candidates_evaluated",
                "iteration": it,
                "results": [
                    {"candidate_id": f"c-{it}-{k}", "objectives": {"water_flux": 40.0 + it + k / 10}}
                    for k in range(batch)
                ],
            }
        )
        completed = {
            "type": "iteration_completed",
            "iteration": it,
            "best_value": 40.0 + it,
            "pareto_size": 1,
        }
        events.append(completed)
    if complete:
        total = {"total_iterations": iterations, "total_evaluations": iterations * batch}
        events.append({"type": "campaign_completed", **total})
    return events


def proposed(iteration: int, batch: int = 5) -> dict[str, Any]:
    return {
        "type": "candidates_proposed",
        "iteration": iteration,
        "candidates": [
            {
                "id": f"c-{iteration}-{k}",
                "parameters": {"pore_size_nm": 0.5 + k / 10, "polymer": "PVDF"},
                "predicted": {"water_flux": 41.0 + k},
                "uncertainty": {"water_flux": 2.0},
                "acquisition_value": 0.1 * k,
            }
            for k in range(batch)
        ],
    }


class Collected:
    """What a source yielded, sorted by kind."""

    def __init__(self) -> None:
        self.items: list[SourceItem] = []

    @property
    def seqs(self) -> list[int | None]:
        return [i.event.seq for i in self.items if isinstance(i, EventReceived)]

    @property
    def rejected(self) -> list[FrameRejected]:
        return [i for i in self.items if isinstance(i, FrameRejected)]

    @property
    def statuses(self) -> list[str]:
        return [i.status for i in self.items if isinstance(i, ConnectionChanged)]

    def changes(self, status: str) -> list[ConnectionChanged]:
        return [i for i in self.items if isinstance(i, ConnectionChanged) and i.status == status]


async def collect(source: AsyncIterator[SourceItem], into: Collected, timeout: float = 10.0) -> Collected:
    """Drain ``source`` into ``into`` (so a failing test still shows what arrived)."""

    async def drain() -> None:
        async for item in source:
            into.items.append(item)

    await asyncio.wait_for(drain(), timeout)
    return into


async def wait_until(predicate: Any, timeout: float = 5.0, interval: float = 0.01) -> None:
    """Wait for a named condition; fails the test with TimeoutError instead of hanging."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(interval)


def fast_settings(base_url: str, token: str | None = None, **overrides: Any) -> ConnectionSettings:
    """Settings for tests: tiny backoff and short timeouts, so failures show in seconds."""
    from tests.support.scripted_server import DEFAULT_TOKEN

    values: dict[str, Any] = {
        "token": DEFAULT_TOKEN if token is None else token,
        "backoff_initial": 0.01,
        "backoff_max": 0.05,
        "ping_interval": 2.0,
        "ping_timeout": 2.0,
        "open_timeout": 2.0,
    }
    values.update(overrides)
    return ConnectionSettings(base_url, **values)
