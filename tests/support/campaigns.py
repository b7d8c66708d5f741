"""Deterministic synthetic campaigns (event dicts with seq and timestamps) for tests."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

OBJECTIVES = [
    {"name": "water_flux", "direction": "maximize", "unit": "L/m2/h"},
    {"name": "salt_rejection", "direction": "maximize", "unit": "%"},
    {"name": "cost", "direction": "minimize", "unit": "$/m2"},
]


def campaign_meta(
    campaign_id: str = "camp-test",
    *,
    iterations: int = 5,
    batch: int = 3,
    objectives: int = 2,
    status: str = "running",
) -> dict[str, Any]:
    return {
        "id": campaign_id,
        "name": "RO membrane screen",
        "status": status,
        "objectives": OBJECTIVES[:objectives],
        "parameters": [
            {"name": "pore_size_nm", "type": "float", "low": 0.3, "high": 2.0},
            {"name": "polymer", "type": "categorical", "choices": ["PVDF", "PES", "PSf", "PA"]},
        ],
        "max_iterations": iterations,
        "batch_size": batch,
    }


def campaign_events(
    seed: int = 0,
    *,
    iterations: int = 5,
    batch: int = 3,
    objectives: int = 2,
    campaign_id: str = "camp-test",
    fail_at: int | None = None,
    start: datetime | None = None,
) -> list[dict[str, Any]]:
    """Every event of a campaign in publish order, seq 1..N, timestamps 1 s apart."""
    rng = random.Random(seed)
    clock = start or datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    names = [o["name"] for o in OBJECTIVES[:objectives]]
    events: list[dict[str, Any]] = []
    best = float("-inf")

    def emit(event: dict[str, Any], seconds: float = 1.0) -> None:
        nonlocal clock
        clock += timedelta(seconds=seconds)
        event["seq"] = len(events) + 1
        event["campaign_id"] = campaign_id
        event["timestamp"] = clock.isoformat()
        events.append(event)

    counter = 0
    for it in range(1, iterations + 1):
        emit({"type": "iteration_started", "iteration": it})
        if it > 1:
            emit(
                {
                    "type": "surrogate_trained",
                    "metrics": {
                        "train_loss": round(rng.uniform(0.01, 0.1), 4),
                        "val_loss": round(rng.uniform(0.01, 0.2), 4),
                    },
                },
                0.8,
            )
        cands = []
        for _ in range(batch):
            counter += 1
            cands.append(
                {
                    "id": f"c-{counter:04d}",
                    "parameters": {
                        "pore_size_nm": round(rng.uniform(0.3, 2.0), 3),
                        "polymer": rng.choice(["PVDF", "PES", "PSf", "PA"]),
                    },
                    "predicted": {n: round(rng.uniform(0, 100), 2) for n in names},
                    "uncertainty": {n: round(rng.uniform(0, 5), 2) for n in names},
                    "acquisition_value": round(rng.random(), 4),
                }
            )
        emit({"type": "candidates_proposed", "iteration": it, "candidates": cands}, 1.2)
        results = []
        for c in cands:
            roll = rng.random()
            result: dict[str, Any] = {
                "candidate_id": c["id"],
                "objectives": {n: round(rng.uniform(0, 100), 1) for n in names},
            }
            if roll < 0.1:
                result["feasible"] = False
            elif roll < 0.15:
                result["error"] = "simulation diverged"
                result["objectives"] = {}
            results.append(result)
            if result.get("feasible", True) and not result.get("error"):
                best = max(best, result["objectives"][names[0]])
        emit({"type": "candidates_evaluated", "iteration": it, "results": results}, 0.3)
        if fail_at == it:
            emit({"type": "campaign_error", "iteration": it, "error": "worker lost", "fatal": True})
            return events
        emit(
            {
                "type": "iteration_completed",
                "iteration": it,
                "best_value": best if best > float("-inf") else 0.0,
                "pareto_size": 0,
            },
            0.1,
        )
        emit({"type": "convergence_update", "metric": round(1.0 / it, 4), "converged": it == iterations}, 0.1)
    emit(
        {
            "type": "campaign_completed",
            "total_iterations": iterations,
            "total_evaluations": iterations * batch,
        }
    )
    return events
