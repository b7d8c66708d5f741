"""Parse + reduce throughput on one core, against ``json.loads`` of the same frames.

5-candidate ``candidates_proposed`` frames (the intake target's frames) are
parsed, then folded into a fresh ``CampaignState``; a whole synthetic campaign
(every event type) is reduced too. Correctness: no valid frame rejected, every
candidate in the state.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_source import GC_THRESHOLD, young_gc_threshold
from bench.common import BenchResult, Row, best_of, per_second, proposed_frames, run_cli
from materia_tui.protocol import Rejected, parse
from materia_tui.state import CampaignState
from tests.support.campaigns import campaign_events


def bench(quick: bool) -> BenchResult:
    result = BenchResult("Parser and reducer (one core, no network)")
    n = 5_000 if quick else 50_000
    repeat = 2 if quick else 5
    frames = proposed_frames(n)

    # Both loops drop what they decode: keeping 50k results alive would time the
    # garbage collector's scans of a growing heap, not the decoding.
    def loads_all() -> None:
        for f in frames:
            json.loads(f)

    def parse_all() -> None:
        for f in frames:
            parse(f)

    baseline = best_of(loads_all, repeat)

    parse_time = best_of(parse_all, repeat)
    events = [parse(f) for f in frames]
    result.check(not any(isinstance(e, Rejected) for e in events), "a valid frame was rejected")

    def reduce_all() -> CampaignState:
        state = CampaignState("bench")
        for i, e in enumerate(events):
            state.apply(e, float(i))  # type: ignore[arg-type]
        return state

    reduce_time = best_of(reduce_all, repeat)
    with young_gc_threshold(GC_THRESHOLD):  # as `materia-tui` runs (cli/main.py)
        reduce_app_gc = best_of(reduce_all, repeat)
    state = reduce_all()
    result.check(len(state.candidates) == 5 * n, "not every candidate reached the state")

    mixed = [parse(json.dumps(e)) for e in campaign_events(0, iterations=50 if quick else 400, batch=5)]

    def reduce_mixed() -> None:
        state = CampaignState("bench")
        for i, e in enumerate(mixed):
            state.apply(e, float(i))  # type: ignore[arg-type]

    mixed_time = best_of(reduce_mixed, repeat)

    def rate(seconds: float, count: int = n) -> str:
        return per_second(count, seconds)

    def us(seconds: float) -> str:
        return f"{seconds / n * 1e6:.1f} us/frame"

    result.rows += [
        Row(
            "parse 5-candidate frames",
            "(part of intake >= 50k/s)",
            rate(parse_time),
            f"json.loads {rate(baseline)}",
            f"{parse_time / baseline:.2f}x json.loads' time",
        ),
        Row("reduce 5-candidate frames", "", f"{rate(reduce_time)} ({us(reduce_time)})"),
        Row(
            f"reduce 5-candidate frames, gc gen-0 threshold {GC_THRESHOLD:,} (as materia-tui runs)",
            "",
            f"{rate(reduce_app_gc)} ({us(reduce_app_gc)})",
        ),
        Row(
            "parse + reduce 5-candidate frames (gc as materia-tui runs)",
            ">= 50k/s",
            f"{rate(parse_time + reduce_app_gc)} ({us(parse_time + reduce_app_gc)})",
            f"json.loads {us(baseline)}",
            f"{(parse_time + reduce_app_gc) / baseline:.2f}x json.loads' time",
            meets_target=n / (parse_time + reduce_app_gc) >= 50_000,
        ),
        Row("reduce a whole synthetic campaign (all event types)", "", rate(mixed_time, len(mixed))),
    ]
    return result


if __name__ == "__main__":
    run_cli(bench)
