"""A big campaign for the client-side scale benchmarks: N iterations x M candidates, deterministic.

A copy of the generator part of ``bench/big_campaign.py`` (branch ``scale-server``,
which also publishes it): the same bytes for the same shape, kept here so the
client benchmarks need nothing of the server's. ``write_recording`` writes what
``materia-tui replay`` and ``watch --plain`` of a recording read.

The shape of issue 17: 6 parameters (5 continuous, one categorical), 2 objectives
(maximized ``water_flux``, ``salt_rejection``), each candidate with predictions,
uncertainties and an acquisition value, then measured. Per iteration six events
(``iteration_started``, ``surrogate_trained``, ``candidates_proposed``,
``candidates_evaluated``, ``iteration_completed``, ``convergence_update``), then
one ``campaign_completed``: 6N + 1 events.

Event JSON is built as text (``repr`` of floats, the same text ``json.dumps``
writes), which makes a million candidates in a few seconds; ``events()`` yields
one event's JSON at a time, so nothing holds the whole campaign. The same
(seed, N, M) always gives the same bytes, except for no timestamps: publishers
stamp them.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OBJECTIVES = ("water_flux", "salt_rejection")
FLOAT_PARAMETERS = (
    ("pore_size_nm", 0.3, 2.0),
    ("thickness_um", 0.05, 5.0),
    ("temperature_c", 20.0, 90.0),
    ("pressure_bar", 5.0, 60.0),
    ("additive_wt", 0.0, 10.0),
)
POLYMERS = ("PVDF", "PES", "PSf", "PA")


@dataclass(frozen=True, slots=True)
class Shape:
    iterations: int = 200
    candidates: int = 5000  # per iteration
    seed: int = 17

    @property
    def total_candidates(self) -> int:
        return self.iterations * self.candidates

    @property
    def total_events(self) -> int:
        return 6 * self.iterations + 1


def metadata(campaign_id: str, shape: Shape) -> dict[str, Any]:
    """The Campaign object (PROTOCOL.md section 5) of the generated campaign."""
    parameters: list[dict[str, Any]] = [
        {"name": name, "type": "float", "low": low, "high": high} for name, low, high in FLOAT_PARAMETERS
    ]
    parameters.append({"name": "polymer", "type": "categorical", "choices": list(POLYMERS)})
    return {
        "id": campaign_id,
        "name": f"Big screen {shape.iterations}x{shape.candidates}",
        "status": "completed",
        "objectives": [
            {"name": "water_flux", "direction": "maximize", "unit": "L/m2/h"},
            {"name": "salt_rejection", "direction": "maximize", "unit": "%"},
        ],
        "parameters": parameters,
        "max_iterations": shape.iterations,
        "batch_size": shape.candidates,
    }


def _proposal(iteration: int, shape: Shape, rng: random.Random) -> tuple[str, list[tuple[float, float]]]:
    """The ``candidates_proposed`` JSON, and the true objectives the evaluation will report."""
    uniform = rng.random
    parts: list[str] = []
    truths: list[tuple[float, float]] = []
    for k in range(shape.candidates):
        values = [low + (high - low) * uniform() for _, low, high in FLOAT_PARAMETERS]
        polymer = POLYMERS[int(uniform() * 4)]
        flux = 10.0 + 50.0 * uniform() + iteration * 0.05
        rejection = 80.0 + 19.9 * uniform()
        truths.append((flux + 2.0 * (uniform() - 0.5), min(99.99, rejection + uniform() - 0.5)))
        parts.append(
            f'{{"id":"c{iteration}-{k}","parameters":{{"pore_size_nm":{values[0]!r},'
            f'"thickness_um":{values[1]!r},"temperature_c":{values[2]!r},"pressure_bar":{values[3]!r},'
            f'"additive_wt":{values[4]!r},"polymer":"{polymer}"}},'
            f'"predicted":{{"water_flux":{flux!r},"salt_rejection":{rejection!r}}},'
            f'"uncertainty":{{"water_flux":{uniform() * 3.0!r},"salt_rejection":{uniform()!r}}},'
            f'"acquisition_value":{uniform()!r}}}'
        )
    text = (
        f'{{"type":"candidates_proposed","iteration":{iteration},"candidates":[' + ",".join(parts) + "]}"
    )
    return text, truths


def _evaluation(iteration: int, truths: list[tuple[float, float]]) -> str:
    parts = [
        f'{{"candidate_id":"c{iteration}-{k}","objectives":{{"water_flux":{flux!r},"salt_rejection":{rej!r}}}}}'
        for k, (flux, rej) in enumerate(truths)
    ]
    return f'{{"type":"candidates_evaluated","iteration":{iteration},"results":[' + ",".join(parts) + "]}"


def events(shape: Shape) -> Iterator[str]:
    """Every event of the campaign as compact JSON text (no seq, no timestamp), in order."""
    rng = random.Random(shape.seed)
    best = 0.0
    for iteration in range(1, shape.iterations + 1):
        yield f'{{"type":"iteration_started","iteration":{iteration},"timestamp":"{_clock(iteration, 0)}"}}'
        train, val = 1.0 / (iteration + 1), 1.2 / (iteration + 1)
        yield f'{{"type":"surrogate_trained","metrics":{{"train_loss":{train!r},"val_loss":{val!r}}}}}'
        proposal, truths = _proposal(iteration, shape, rng)
        yield proposal
        yield _evaluation(iteration, truths)
        best = max(best, max(flux for flux, _ in truths))
        front = min(shape.candidates, 5 + iteration % 20)
        yield (
            f'{{"type":"iteration_completed","iteration":{iteration},"best_value":{best!r},'
            f'"pareto_size":{front}}}'
        )
        converged = "true" if iteration == shape.iterations else "false"
        yield f'{{"type":"convergence_update","metric":{1.0 / iteration!r},"converged":{converged}}}'
    yield (
        f'{{"type":"campaign_completed","total_iterations":{shape.iterations},'
        f'"total_evaluations":{shape.total_candidates}}}'
    )


def _clock(iteration: int, second: int) -> str:
    # A fixed, valid ISO time per iteration: the same bytes on every run.
    hours, rest = divmod(iteration * 60 + second, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"2026-01-01T{hours % 24:02d}:{minutes:02d}:{seconds:02d}.000Z"


def write_jsonl(path: Path, shape: Shape) -> int:
    """Write the events as JSON lines (``materia-tui publish`` input). Returns bytes written."""
    written = 0
    with path.open("w", encoding="utf-8") as out:
        for text in events(shape):
            written += out.write(text + "\n")
    return written


def write_recording(path: Path, shape: Shape, campaign_id: str) -> int:
    """A recording ``materia-tui replay`` reads: metadata line, then events with seqs."""
    written = 0
    with path.open("w", encoding="utf-8") as out:
        meta = json.dumps({"metadata": metadata(campaign_id, shape), "received_at": 0.0})
        written += out.write(meta + "\n")
        for seq, text in enumerate(events(shape), start=1):
            written += out.write(f'{{"seq":{seq},"campaign_id":"{campaign_id}",{text[1:]}\n')
    return written
