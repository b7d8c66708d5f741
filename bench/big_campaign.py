"""A big campaign for tests and benchmarks: N iterations x M candidates, deterministic.

    .venv/bin/python bench/big_campaign.py --iterations 200 --candidates 5000 -o big.jsonl
    .venv/bin/python bench/big_campaign.py --iterations 200 --candidates 5000 --publish ID --redis URL
    .venv/bin/python bench/big_campaign.py ... --post ID --server http://127.0.0.1:8765/api/v1

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

import argparse
import json
import random
import sys
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
POST_BATCH_BYTES = 12 * 1024 * 1024  # under serve's 16 MiB body limit


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
    """The Campaign object (docs/PROTOCOL.md section 5) of the generated campaign."""
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
        del proposal  # held here, it would outlive its consumer's use (memory benchmarks)
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


def publish_redis(redis_url: str, campaign_id: str, shape: Shape) -> int:
    """Publish into Redis as docs/PROTOCOL.md section 6 lays it out, with the publishers'
    own Lua script (``layout.PUBLISH_LUA``), in batches of a few MB. The bodies are
    stamped as text (``campaign_id``, and a ``timestamp`` where the event has none):
    ``Publisher.publish`` would validate and re-encode each 2 MB event. Returns events."""
    import redis

    from materia_tui.backend.server import layout

    layout.check_campaign_id(campaign_id)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        client.set(layout.meta_key(campaign_id), json.dumps(metadata(campaign_id, shape)))
        client.sadd(layout.CAMPAIGNS_KEY, campaign_id)
        script = client.register_script(layout.PUBLISH_LUA)
        now = layout.utc_now_iso()
        count = 0
        for batch in _batches(events(shape), POST_BATCH_BYTES):
            bodies = [_stamped(campaign_id, text, now) for text in batch]
            keys, args = layout.publish_script_call(campaign_id, bodies)
            script(keys=keys, args=args)
            count += len(batch)
    finally:
        client.close()
    return count


def _stamped(campaign_id: str, text: str, now: str) -> str:
    own_time = '"timestamp":' in text[:120]
    stamp = f'"campaign_id":"{campaign_id}",' + ("" if own_time else f'"timestamp":"{now}",')
    return "{" + stamp + text[1:]


def _batches(texts: Iterator[str], max_bytes: int) -> Iterator[list[str]]:
    batch: list[str] = []
    size = 0
    for text in texts:
        if batch and size + len(text) > max_bytes:
            yield batch
            batch, size = [], 0
        batch.append(text)
        size += len(text) + 1
    if batch:
        yield batch


def post_http(base_url: str, campaign_id: str, shape: Shape, token: str | None = None) -> int:
    """Publish through a server's REST endpoint (``serve`` on the memory bus). Returns events."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    count = 0
    with httpx.Client(base_url=base_url, headers=headers, timeout=120.0) as client:
        response = client.put(f"/campaigns/{campaign_id}", json=metadata(campaign_id, shape))
        response.raise_for_status()
        for batch in _batches(events(shape), POST_BATCH_BYTES):
            count += _post(client, campaign_id, batch)
    return count


def _post(client: Any, campaign_id: str, batch: list[str]) -> int:
    response = client.post(
        f"/campaigns/{campaign_id}/events",
        content=("[" + ",".join(batch) + "]").encode(),
        headers={"Content-Type": "application/json"},
    )
    response.raise_for_status()
    return len(batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--candidates", type=int, default=5000, help="candidates per iteration")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("-o", "--output", type=Path, help="write the events as JSON lines")
    parser.add_argument("--recording", type=Path, help="write a replayable recording (needs --id)")
    parser.add_argument("--id", default="big", help="campaign id (default big)")
    parser.add_argument("--redis", metavar="URL", help="publish into this Redis")
    parser.add_argument("--server", metavar="BASE_URL", help="POST into this server's REST API")
    parser.add_argument("--token", help="bearer token for --server")
    args = parser.parse_args()
    shape = Shape(args.iterations, args.candidates, args.seed)
    if args.output:
        print(f"{write_jsonl(args.output, shape):,} bytes to {args.output}", file=sys.stderr)
    if args.recording:
        written = write_recording(args.recording, shape, args.id)
        print(f"{written:,} bytes to {args.recording}", file=sys.stderr)
    if args.redis:
        print(f"{publish_redis(args.redis, args.id, shape):,} events to Redis", file=sys.stderr)
    if args.server:
        posted = post_http(args.server, args.id, shape, args.token)
        print(f"{posted:,} events to {args.server}", file=sys.stderr)


if __name__ == "__main__":
    main()
