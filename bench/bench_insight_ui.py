"""Issue 18's no-stall target: the monitor's event loop while the analysis views compute at 100k candidates.

A headless monitor (160x48: table and plot side by side) holds a campaign of
100,000 candidates (100 iterations x 1,000; 6 parameters, one categorical;
2 objectives), folded in beforehand. Then the last iterations stream in, one
event every 0.25 s, while one analysis view is shown with the ``/`` filter
active (``polymer=PA and salt_rejection>90``), so the view, the table and the
Pareto front all recompute on each change (the key press that applies the
filter and shows the view is measured apart, until the view caught up). A 10 ms asyncio ticker on the
app's loop records how late each tick fires (event-loop lag); the target is
that no tick is more than 100 ms late ("no frame later than 100 ms behind").
Baselines from the same run: the same app idle (nothing streams), and the
same stream with the Pareto plot in the slot and no filter. Also timed: what
each analysis pass costs on the UI thread (the columns' byte copy), against
the whole ``candidate_columns`` copy it replaced.

The collector runs as ``materia-tui`` sets it (gen-0 threshold 100,000,
``cli/main.py``); ``BENCH_PYTHON_GC=1`` in the environment keeps Python's defaults (700, 10, 10), under
which full collections come every few seconds (40-80 ms each at 100k
candidates: the monitor does not run so).

Correctness (fails the run): every streamed event is folded, each view
computed at least once under the filter, and the stop advisor advised.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.big_campaign import Shape, events, metadata
from bench.common import BenchResult, Row, best_of, ms, percentile, run_cli

FILTER = "polymer=PA and salt_rejection>90"
TICK = 0.010
TARGET = 0.100  # no tick later than this
STREAM_GAP = 0.25  # seconds between streamed events
VIEWS = ("importance", "hypervolume", "slices", "parallel")
SIZE = (160, 48)


@dataclass
class Lag:
    late: list[float] = field(default_factory=list)

    @property
    def worst(self) -> float:
        return max(self.late, default=0.0)

    @property
    def p99(self) -> float:
        return percentile(self.late, 99)


async def measure_lag(seconds: float, until: Callable[[], bool] | None = None) -> Lag:
    """Tick every 10 ms for ``seconds`` (or until ``until()``, at most 4x longer); record lateness."""
    lag = Lag()
    loop = asyncio.get_running_loop()
    started = loop.time()
    expected = started + TICK
    while True:
        await asyncio.sleep(max(0.0, expected - loop.time()))
        now = loop.time()
        lag.late.append(max(0.0, now - expected))
        expected = now + TICK
        elapsed = now - started
        if elapsed >= seconds and (until is None or until() or elapsed >= 4 * seconds):
            return lag


def parsed_events(shape: Shape, start: int = 0) -> list[Any]:
    """The campaign's events from the ``start``-th on, parsed."""
    from materia_tui.protocol import parse

    texts = enumerate(events(shape), start=1)
    return [parse(f'{{"seq":{seq},{text[1:]}') for seq, text in texts if seq > start]


class Feed:
    """A source whose items the benchmark hands in one at a time."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()

    def source(self) -> Any:
        from materia_tui.source import GeneratorSource

        async def items() -> AsyncGenerator[Any, None]:
            while True:
                item = await self.queue.get()
                if item is None:
                    return
                yield item

        source = GeneratorSource()
        source._items = items()
        return source


def folded(shape: Shape, upto: int) -> Any:
    """The state of the campaign's first ``upto`` events, parsed one at a time (nothing kept:
    100k parsed candidates held by the benchmark would make every full GC pass a stall of its own)."""
    from materia_tui.protocol import Campaign, parse
    from materia_tui.state import CampaignState

    state = CampaignState("big", Campaign.model_validate(metadata("big", shape)))
    for seq, text in enumerate(events(shape), start=1):
        if seq > upto:
            break
        state.apply(parse(f'{{"seq":{seq},{text[1:]}'), 0.0)  # type: ignore[arg-type]
    gc.collect()
    return state


async def run_scenario(shape: Shape, streamed: int, view: str | None, seconds: float) -> dict[str, Any]:
    """The app with all but the last ``streamed`` events folded in, then those at STREAM_GAP while
    ``view`` (None: the Pareto plot, no filter) is shown with the filter on; the lag while it streams."""
    from materia_tui.source import EventReceived
    from materia_tui.ui.app import MonitorApp

    upto = shape.total_events - streamed - 1  # leave the completion out: the views keep computing
    parsed = parsed_events(shape, upto)[:streamed]
    state = folded(shape, upto)
    feed = Feed()
    app = MonitorApp(feed.source(), "big", state=state, now=lambda: 0.0)
    async with app.run_test(size=SIZE) as pilot:
        campaign = app.view
        await pilot.pause(0.5)
        while not campaign.up_to_date:
            await pilot.pause(0.05)
        idle = await measure_lag(min(2.0, seconds))
        shown: Any = None
        switch = Lag()
        if view is not None:
            # The user's action (filter, then view) and its catch-up, apart from the streaming.
            ticking = asyncio.create_task(measure_lag(0.5, until=lambda: campaign.up_to_date))
            await asyncio.sleep(0)
            campaign.apply_filter(FILTER)
            campaign.action_show_view(view)
            shown = campaign.query_one(f"#{view}")
            switch = await ticking
        before = 0  # computations since the view was shown (its first one may end before the stream)

        async def stream() -> None:
            for event in parsed:
                feed.queue.put_nowait(EventReceived(event, 0.0))
                await asyncio.sleep(STREAM_GAP)

        streaming = asyncio.create_task(stream())
        lag = await measure_lag(seconds, until=lambda: shown is None or shown.computations >= before + 2)
        await streaming
        result = {
            "idle": idle,
            "switch": switch,
            "lag": lag,
            "computations": (shown.computations - before) if shown is not None else 0,
            "advisor": campaign.stop_advisor.computations,
            "candidates": len(campaign.state.store),
            "iteration": campaign.state.current_iteration,
        }
        feed.queue.put_nowait(None)
        return result


def snapshot_rows(result: BenchResult, state: Any, repeat: int) -> None:
    from materia_tui.state.columns import candidate_columns, snapshot_columns

    whole = best_of(lambda: candidate_columns(state), repeat)
    copy = best_of(lambda: snapshot_columns(state), repeat)
    bare = best_of(lambda: snapshot_columns(state, parameters=False, ids=False), repeat)
    n = len(state.store)
    result.rows.append(
        Row(f"an analysis pass's UI-thread copy, {n:,} candidates", "", ms(copy),
            f"candidate_columns {ms(whole)}", f"{copy / whole:.2f}x")
    )  # fmt: skip
    result.rows.append(
        Row(f"the stop advisor's UI-thread copy, {n:,} candidates", "", ms(bare),
            f"candidate_columns {ms(whole)}", f"{bare / whole:.2f}x")
    )  # fmt: skip
    from materia_tui.ui.active_filter import ActiveFilter

    selection = ActiveFilter()
    selection.set(selection.compile(state, FILTER))

    def mask() -> None:
        selection._key = ()  # a new state revision: the mask again
        selection.mask(state)

    result.rows.append(Row(f"the `/` mask on the UI thread, {n:,} candidates", "", ms(best_of(mask, repeat))))


def bench(quick: bool) -> BenchResult:
    from bench.bench_source import GC_THRESHOLD, young_gc_threshold

    python_gc = os.environ.get("BENCH_PYTHON_GC") == "1"
    with young_gc_threshold(None if python_gc else GC_THRESHOLD):
        result = bench_views(quick)
    result.notes.append(
        "Collector: Python's default thresholds (700, 10, 10)." if python_gc
        else f"Collector: gen-0 threshold {GC_THRESHOLD:,}, as materia-tui runs (cli/main.py)."
    )  # fmt: skip
    return result


def bench_views(quick: bool) -> BenchResult:
    result = BenchResult("The monitor's event loop while the analysis views compute (issue 18)")
    shape = Shape(iterations=20, candidates=500) if quick else Shape(iterations=100, candidates=1_000)
    seconds = 2.0 if quick else 5.0
    streamed = 12  # two iterations' events (six each)
    snapshot_rows(result, folded(shape, shape.total_events), 1 if quick else 3)
    baseline = asyncio.run(run_scenario(shape, streamed, None, seconds))
    idle: Lag = baseline["idle"]
    streaming: Lag = baseline["lag"]
    n = f"{shape.total_candidates:,}"
    idle_row = Row(f"idle, {n} candidates: worst tick lateness", "", ms(idle.worst), f"p99 {ms(idle.p99)}")
    result.rows.append(idle_row)
    result.rows.append(
        Row("streaming, Pareto plot, no filter: worst", "", ms(streaming.worst), f"p99 {ms(streaming.p99)}")
    )
    for view in VIEWS:
        found = asyncio.run(run_scenario(shape, streamed, view, seconds))
        lag: Lag = found["lag"]
        result.check(found["computations"] >= 1, f"{view}: no computation under the filter while streaming")
        result.check(found["advisor"] >= 1, f"{view}: the stop advisor never advised")
        switch: Lag = found["switch"]
        result.rows.append(
            Row(f"`/` filter applied and {view} shown (a key press): worst", "", ms(switch.worst),
                f"idle worst {ms(found['idle'].worst)}", f"p99 {ms(switch.p99)}")
        )  # fmt: skip
        result.rows.append(
            Row(
                f"streaming, {view} + `/` filter ({found['computations']} computations since shown): worst",
                f"<= {ms(TARGET)}",
                ms(lag.worst),
                f"idle worst {ms(found['idle'].worst)}",
                f"p99 {ms(lag.p99)}",
                None if quick else lag.worst <= TARGET,
            )
        )
    result.notes.append(
        f"Ticker every {TICK * 1000:.0f} ms on the app's loop; an event every {STREAM_GAP} s "
        f"({streamed} events: two iterations of {shape.candidates:,}); filter `{FILTER}`; "
        f"{SIZE[0]}x{SIZE[1]}."
    )
    return result


if __name__ == "__main__":
    run_cli(bench)
