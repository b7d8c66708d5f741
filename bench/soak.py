"""Soak: a million simulated events through parser + reducer, a headless monitor, and WebSocket.

Three runs, each sampling throughput and RSS at every tenth of its events:

- ``reducer``: JSON frames generated in-process -> ``protocol.parse`` -> ``CampaignState``.
- ``ui``: the same frames through an in-memory source into a headless ``MonitorApp``
  (its worker folds them into the state; widgets refresh at their bounded rate).
- ``websocket``: pre-encoded frames from a child-process server (bench/frame_server.py)
  through ``WebSocketSource`` into a state (a smaller count: the network path is slower;
  each frame proposes 5 new candidates, so the state grows and only the ratio is checked).

Rates include generating the JSON frames (``json.dumps``, about a fifth of the reducer run).

The simulated campaign reuses a pool of candidate ids (a re-proposed candidate
replaces its record), so once the pool is full the state only grows by its
per-iteration records: RSS growth past that point is either those few hundred
bytes an iteration or a leak. Checks are ratios, never absolute timings:

- no slowdown: the best events/s among the last three tenths >= ``MIN_RATE_RATIO`` x
  the best among the first three (first and last tenth are reported as well);
- bounded memory: RSS growth per event in the second half <= ``MAX_GROWTH_RATIO`` x
  the one from 10% to 50% (plus a small allowance for allocator noise), and below
  ``MAX_BYTES_PER_EVENT`` (a leaked frame string alone costs more).

Usage::

    .venv/bin/python bench/soak.py            # full size: 1,000,000 events (ws: 100,000)
    .venv/bin/python bench/soak.py --quick    # CI size: 50,000 (ws: 20,000), a few seconds
    MATERIA_SOAK_FULL=1 .venv/bin/pytest tests/soak   # the test at full size
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from materia_tui.protocol import Campaign, Objective, Rejected, parse
from materia_tui.source import (
    ConnectionChanged,
    EventReceived,
    MetadataReceived,
    SourceItem,
)
from materia_tui.state import CampaignState
from materia_tui.state.intake import apply_item

FULL_EVENTS = 1_000_000
QUICK_EVENTS = 50_000
FULL_WS_EVENTS = 100_000
QUICK_WS_EVENTS = 20_000  # 5,000 took ~0.7 s: a tenth of 70 ms, decided by one GC pause
MIN_RATE_RATIO = 0.5  # last tenth vs first tenth, on a shared noisy machine
MAX_GROWTH_RATIO = 1.5
GROWTH_ALLOWANCE = 8 * 2**20  # RSS moves in arena-sized steps
MAX_BYTES_PER_EVENT = 400
CAMPAIGN = "camp-soak"
BATCH = 4


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def metadata() -> Campaign:
    return Campaign(
        id=CAMPAIGN,
        name="soak",
        status="running",
        objectives=[Objective(name="water_flux"), Objective(name="cost", direction="minimize", unit="$")],
        max_iterations=None,
    )


def campaign_frames(events: int, *, pool: int, seed: int = 1) -> Iterator[str]:
    """Exactly ``events`` frames (seq 1..events): full iterations, then campaign_completed."""
    rng = random.Random(seed)
    seq = 0
    counter = 0
    iteration = 0

    def frame(event: dict[str, object]) -> str:
        nonlocal seq
        seq += 1
        event["seq"] = seq
        return json.dumps(event)

    while True:
        iteration += 1
        ids = [f"c-{(counter + k) % pool}" for k in range(BATCH)]
        counter += BATCH
        cycle: list[dict[str, object]] = [
            {"type": "iteration_started", "iteration": iteration, "timestamp": "2026-01-01T00:00:00Z"},
            {"type": "surrogate_trained", "metrics": {"train_loss": rng.random(), "val_loss": rng.random()}},
            {
                "type": "candidates_proposed",
                "iteration": iteration,
                "candidates": [
                    {
                        "id": cid,
                        "parameters": {"pore_size_nm": rng.uniform(0.3, 2), "polymer": "PVDF"},
                        "predicted": {"water_flux": rng.uniform(0, 100)},
                        "uncertainty": {"water_flux": 1.0},
                    }
                    for cid in ids
                ],
            },
            {
                "type": "candidates_evaluated",
                "iteration": iteration,
                "results": [
                    {
                        "candidate_id": cid,
                        "objectives": {"water_flux": rng.uniform(0, 100), "cost": rng.uniform(0, 9)},
                    }
                    for cid in ids
                ],
            },
            {"type": "iteration_completed", "iteration": iteration, "best_value": 1.0, "pareto_size": 0},
            {"type": "convergence_update", "metric": 1 / iteration, "converged": False},
        ]
        for event in cycle:
            if seq == events - 1:
                yield frame(
                    {
                        "type": "campaign_completed",
                        "total_iterations": iteration,
                        "total_evaluations": counter,
                    }
                )
                return
            yield frame(event)


@dataclass
class Sample:
    events: int
    at: float  # perf_counter seconds
    rss: int


@dataclass
class SoakRun:
    name: str
    events: int
    # False when the state itself grows with every event (unique candidates):
    # then only the early/late ratio says whether memory is bounded.
    state_bounded: bool = True
    samples: list[Sample] = field(default_factory=list)  # 11: start, then every tenth
    notes: list[str] = field(default_factory=list)

    def rate(self, tenth: int) -> float:
        a, b = self.samples[tenth], self.samples[tenth + 1]
        return (b.events - a.events) / max(b.at - a.at, 1e-9)

    @property
    def seconds(self) -> float:
        return self.samples[-1].at - self.samples[0].at

    @property
    def rate_ratio(self) -> float:
        """Best tenth of the last three over best tenth of the first three: other
        work on a shared machine only ever slows a tenth down, so the best of a
        few is the stable figure (a single first/last tenth pair is reported too)."""
        return max(self.rate(k) for k in (7, 8, 9)) / max(self.rate(k) for k in (0, 1, 2))

    def growth_per_event(self, start: int, end: int) -> float:
        a, b = self.samples[start], self.samples[end]
        return (b.rss - a.rss) / max(b.events - a.events, 1)

    def failures(self) -> list[str]:
        problems = []
        if self.rate_ratio < MIN_RATE_RATIO:
            rates = ", ".join(f"{self.rate(k):,.0f}" for k in range(10))
            problems.append(f"{self.name}: slowed down (x{self.rate_ratio:.2f}); events/s by tenth: {rates}")
        early, late = self.growth_per_event(1, 5), self.growth_per_event(5, 10)
        allowance = GROWTH_ALLOWANCE / max(self.samples[10].events - self.samples[5].events, 1)
        if late > MAX_GROWTH_RATIO * max(early, 0.0) + allowance:
            problems.append(
                f"{self.name}: RSS grows faster late ({late:.0f} B/event) than early ({early:.0f} B/event)"
            )
        if self.state_bounded and late > MAX_BYTES_PER_EVENT + allowance:
            problems.append(f"{self.name}: RSS grows {late:.0f} B/event in the second half")
        return problems

    def summary(self) -> str:
        start, middle, end = (self.samples[k].rss / 2**20 for k in (0, 5, 10))
        return (
            f"{self.name:9} {self.events:>9,} events in {self.seconds:6.1f}s "
            f"({self.events / self.seconds:>9,.0f}/s); "
            f"first tenth {self.rate(0):>9,.0f}/s, last {self.rate(9):>9,.0f}/s "
            f"(best of 3 late/early x{self.rate_ratio:.2f}); "
            f"RSS {start:.0f} -> {middle:.0f} -> {end:.0f} MiB "
            f"({self.growth_per_event(1, 5):.0f} / {self.growth_per_event(5, 10):.0f} B/event early/late)"
            + "".join(f"; {note}" for note in self.notes)
        )


class Sampler:
    """Records a sample at ``tick(0)`` (just before the first event) and at every tenth."""

    def __init__(self, run: SoakRun) -> None:
        self.run = run
        self.marks = {0} | {round(run.events * k / 10) for k in range(1, 11)}

    def tick(self, count: int) -> None:
        if count in self.marks:
            self.run.samples.append(Sample(count, time.perf_counter(), rss_bytes()))


def pool_for(events: int) -> int:
    return max(1_000, min(50_000, events // 25))


def soak_reducer(events: int) -> SoakRun:
    run = SoakRun("reducer", events)
    state = CampaignState(CAMPAIGN, metadata())
    sampler = Sampler(run)
    sampler.tick(0)
    for count, frame in enumerate(campaign_frames(events, pool=pool_for(events)), start=1):
        event = parse(frame)
        if isinstance(event, Rejected):
            raise AssertionError(f"the soak campaign has a bad frame: {event}")
        state.apply(event, 0.0)
        sampler.tick(count)
    _check_state(state, events, run)
    return run


class MemorySource:
    """An in-memory ``EventSource`` that parses frames as it yields them (no network)."""

    def __init__(self, frames: Iterator[str], on_event: Callable[[int], None]) -> None:
        self._frames = frames
        self._on_event = on_event
        self._items: AsyncGenerator[SourceItem, None] = self._run()

    def __aiter__(self) -> AsyncIterator[SourceItem]:
        return self._items

    async def aclose(self) -> None:
        await self._items.aclose()

    async def _run(self) -> AsyncGenerator[SourceItem, None]:
        yield MetadataReceived(metadata())
        yield ConnectionChanged("live")
        self._on_event(0)
        for count, frame in enumerate(self._frames, start=1):
            event = parse(frame)
            assert not isinstance(event, Rejected)
            yield EventReceived(event, time.time())
            self._on_event(count)
        yield ConnectionChanged("closed", detail="The campaign has ended.")


async def soak_ui(events: int) -> SoakRun:
    from materia_tui.ui.app import MonitorApp

    run = SoakRun("ui", events)
    state = CampaignState(CAMPAIGN)
    sampler = Sampler(run)
    source = MemorySource(campaign_frames(events, pool=pool_for(events)), sampler.tick)
    app = MonitorApp(source, CAMPAIGN, state=state)
    async with app.run_test(headless=True, size=(120, 40)) as pilot:
        deadline = time.monotonic() + max(120.0, events / 500)  # >= 500 events/s, even on a busy machine
        while not app.view.stream_ended:
            if time.monotonic() > deadline:
                raise AssertionError(f"the monitor did not take {events} events in time")
            await pilot.pause(0.05)  # the app runs meanwhile; this waits for "stream ended"
        await pilot.pause()
        run.notes.append(f"{app.view.scheduler.passes['small']} widget refreshes")
    _check_state(state, events, run)
    return run


async def soak_websocket(events: int) -> SoakRun:
    from bench.frame_server import start_frame_server
    from materia_tui.source.settings import ConnectionSettings
    from materia_tui.source.websocket import WebSocketSource

    server = start_frame_server(CAMPAIGN, events - 1)  # plus its campaign_completed
    try:
        run = SoakRun("websocket", events, state_bounded=False)  # 5 new candidates a frame
        state = CampaignState(CAMPAIGN)
        settings = ConnectionSettings(server.base_url, backoff_initial=0.05, backoff_max=0.2)
        sampler = Sampler(run)
        count = 0
        async for item in WebSocketSource(CAMPAIGN, settings):
            apply_item(state, item)
            if isinstance(item, EventReceived):
                if count == 0:
                    sampler.tick(0)  # connected: from here on it is the stream's pace
                count += 1
                sampler.tick(count)
        if state.last_seq != events or state.counters.applied != events:
            raise AssertionError(f"websocket: applied {state.counters.applied} of {events} events")
        run.notes.append(f"{len(state.candidates):,} candidates kept")
        return run
    finally:
        server.stop()


def _check_state(state: CampaignState, events: int, run: SoakRun) -> None:
    if state.counters.applied != events or state.last_seq != events or state.status != "completed":
        applied = state.counters.applied
        raise AssertionError(f"{run.name}: applied {applied} of {events}, status {state.status}")
    if len(state.log) > 1000:
        raise AssertionError(f"{run.name}: the event log grew to {len(state.log)} entries")
    run.notes.append(f"{len(state.candidates):,} candidates, {len(state.iterations):,} iterations kept")


PHASES = ("reducer", "ui", "websocket")


def run_phase(phase: str, events: int) -> SoakRun:
    """One run in this process (its RSS figures assume a fresh process: see ``run_isolated``)."""
    if phase == "reducer":
        return soak_reducer(events)
    if phase == "ui":
        return asyncio.run(soak_ui(events))
    if phase == "websocket":
        return asyncio.run(soak_websocket(events))
    raise ValueError(f"unknown soak phase {phase!r}")


def run_isolated(phase: str, events: int) -> SoakRun:
    """One run in a fresh child process: memory another run freed would otherwise be
    reused silently and make its early RSS growth look smaller than it is."""
    import subprocess

    script = Path(__file__).resolve()
    result = subprocess.run(
        [sys.executable, str(script), "--phase", phase, "--events", str(events), "--json"],
        capture_output=True, text=True, check=False, cwd=script.parent.parent,
    )
    if result.returncode != 0 and not result.stdout.strip():
        raise AssertionError(f"soak phase {phase} crashed:\n{result.stderr[-3000:]}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    run = SoakRun(data["name"], data["events"], data["state_bounded"], notes=data["notes"])
    run.samples = [Sample(*sample) for sample in data["samples"]]
    return run


def run_all(events: int, ws_events: int, *, ui: bool = True) -> list[SoakRun]:
    """Every run, each in its own process, each summary printed as soon as it is done."""
    runs = []
    for phase in PHASES:
        if phase == "ui" and not ui:
            continue
        runs.append(run_isolated(phase, ws_events if phase == "websocket" else events))
        print(runs[-1].summary(), flush=True)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help=f"CI size: {QUICK_EVENTS:,} events")
    parser.add_argument("--events", type=int, help="events for the reducer and UI runs")
    parser.add_argument("--ws-events", type=int, help="events for the WebSocket run")
    parser.add_argument("--no-ui", action="store_true", help="skip the headless monitor run")
    parser.add_argument("--phase", choices=PHASES, help="run only this phase, in this process")
    parser.add_argument("--json", action="store_true", help="with --phase: print the run as JSON")
    args = parser.parse_args()
    if args.phase:
        count = args.events or (QUICK_EVENTS if args.quick else FULL_EVENTS)
        run = run_phase(args.phase, count)
        if args.json:
            print(json.dumps({"name": run.name, "events": run.events, "state_bounded": run.state_bounded,
                              "notes": run.notes, "samples": [[s.events, s.at, s.rss] for s in run.samples]}))
        else:
            print(run.summary())
        sys.exit(1 if run.failures() else 0)
    events = args.events or (QUICK_EVENTS if args.quick else FULL_EVENTS)
    ws_events = args.ws_events or (QUICK_WS_EVENTS if args.quick else FULL_WS_EVENTS)
    runs = run_all(events, ws_events, ui=not args.no_ui)
    failures = [problem for run in runs for problem in run.failures()]
    for problem in failures:
        print(f"FAIL {problem}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
