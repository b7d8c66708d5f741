"""Loopback intake: frames/s from the socket into the campaign state, against a bare
``websockets`` client receiving the same frames in the same run.

A near-free raw server (``bench/frame_server.py``, a child process with its
own GIL) sends N pre-encoded 5-candidate ``candidates_proposed`` frames and a
``campaign_completed`` to each client. Three clients, each in a fresh event
loop, timed from the first frame received to the last one handled:

- bare: ``websockets`` ``recv()`` in a loop, nothing else (the baseline);
- ceilings: the bare loop that also decodes each frame, with the stdlib's
  ``json.loads`` or with ``protocol.parse`` (pydantic): what any consumer on
  this stack pays at least, so no client here can be faster;
- source + state: ``WebSocketSource`` items folded into a ``CampaignState``;
- monitor (headless): the whole ``MonitorApp`` at 120x40 consuming the
  source, refreshing its widgets at its bounded rate, as a user would run it.

Correctness: every frame reaches the state, in seq order, nothing rejected.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import math
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from websockets.asyncio.client import connect

from bench.common import BenchResult, Row, per_second, proposed_frames, run_cli
from bench.frame_server import FrameServer, start_frame_server
from materia_tui.protocol import parse
from materia_tui.source import EventReceived, SourceItem
from materia_tui.source.settings import ConnectionSettings
from materia_tui.source.websocket import WebSocketSource
from materia_tui.state import CampaignState
from materia_tui.state.intake import apply_item

CAMPAIGN = "camp-bench"
TARGET_RATE = 50_000
TARGET_RATIO = 0.5
GC_THRESHOLD = 100_000


async def bare_client(url: str, total: int, decode: Callable[[str | bytes], object] | None = None) -> float:
    """Seconds from the first frame to the last, received with ``recv()`` and nothing
    else, or also passed to ``decode`` (the ceilings: what any consumer pays at least)."""
    async with connect(url, max_size=2**25, compression=None, ping_interval=None) as ws:
        received = 0
        started = 0.0
        async for frame in ws:
            if received == 0:
                started = time.perf_counter()
            if decode is not None:
                decode(frame)
            received += 1
            if received == total:
                return time.perf_counter() - started
    raise RuntimeError("the server closed early")


def _settings(server: FrameServer) -> ConnectionSettings:
    return ConnectionSettings(server.base_url, ping_interval=None, max_retries=0)


class TimedSource:
    """Wraps a source: notes when the first event arrives and when the consumer is
    done with the last one (it asks for the next item once it applied it)."""

    def __init__(self, source: WebSocketSource) -> None:
        self.source = source
        self.first_event_at: float | None = None
        self.last_event_done_at: float | None = None

    def __aiter__(self) -> AsyncIterator[SourceItem]:
        return self._items()

    async def _items(self) -> AsyncIterator[SourceItem]:
        async for item in self.source:
            if isinstance(item, EventReceived):
                if self.first_event_at is None:
                    self.first_event_at = time.perf_counter()
                yield item
                self.last_event_done_at = time.perf_counter()
            else:
                yield item

    async def aclose(self) -> None:
        await self.source.aclose()

    @property
    def elapsed(self) -> float:
        if self.first_event_at is None or self.last_event_done_at is None:
            return float("nan")
        return self.last_event_done_at - self.first_event_at


async def source_into_state(server: FrameServer, state: CampaignState) -> float:
    """As ``TimedSource`` times it, without its generator between the source and the
    consumer (a layer per item the monitor does not have, ~1 us a frame here)."""
    source = WebSocketSource(CAMPAIGN, _settings(server))
    first_event_at = last_event_done_at = math.nan
    try:
        async for item in source:
            event = isinstance(item, EventReceived)
            if event and first_event_at != first_event_at:
                first_event_at = time.perf_counter()
            apply_item(state, item)
            if event:
                last_event_done_at = time.perf_counter()
    finally:
        await source.aclose()
    return last_event_done_at - first_event_at


async def monitor_headless(server: FrameServer, state: CampaignState) -> float:
    from materia_tui.ui.app import MonitorApp  # the UI's import cost is not intake

    timed = TimedSource(WebSocketSource(CAMPAIGN, _settings(server)))
    app = MonitorApp(timed, CAMPAIGN, state=state, exit_on_complete=True)
    await app.run_async(headless=True, size=(120, 40))
    return timed.elapsed


def check_state(result: BenchResult, what: str, state: CampaignState, count: int) -> None:
    counters = state.counters
    result.check(counters.applied == count + 1, f"{what}: {counters.applied} of {count + 1} events applied")
    result.check(counters.rejected == 0 and counters.unknown_type == 0, f"{what}: frames rejected")
    result.check(counters.gaps == 0 and counters.duplicates == 0, f"{what}: seq gaps or duplicates")
    result.check(
        len(state.candidates) == 5 * count, f"{what}: {len(state.candidates)} of {5 * count} candidates"
    )
    result.check(state.status == "completed", f"{what}: campaign not completed in the state")


@contextlib.contextmanager
def young_gc_threshold(threshold: int | None) -> Iterator[None]:
    """The collector's gen-0 threshold for a block (None: leave the default, 700).

    A state of 100k+ candidates is ~1M tracked objects that all survive: with
    the default thresholds the collector re-examines them over and over, which
    here costs about half of the intake time.
    """
    saved = gc.get_threshold()
    if threshold is not None:
        gc.set_threshold(threshold, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*saved)


async def source_alone(server: FrameServer) -> float:
    timed = TimedSource(WebSocketSource(CAMPAIGN, _settings(server)))
    async for _ in timed:
        pass
    return timed.elapsed


# Bare recv() plus only the decoding every consumer must do: no source, no state,
# no UI. They bound what any client on this stack can take in on this machine.
CEILINGS: tuple[tuple[str, Callable[[str | bytes], object]], ...] = (
    ("ceiling: bare recv + stdlib json.loads (decode only)", json.loads),
    ("ceiling: bare recv + protocol.parse (pydantic validation)", parse),
)


def bench(quick: bool) -> BenchResult:
    result = BenchResult("Intake: loopback WebSocket into the state (5-candidate frames)")
    count = 10_000 if quick else 30_000
    repeat = 1 if quick else 3
    frame_bytes = len(proposed_frames(1)[0])
    server = start_frame_server(CAMPAIGN, count)
    total = count + 1
    times: dict[str, list[float]] = {}
    cases: list[tuple[str, int | None, str]] = [
        ("WebSocketSource alone (parse, no state)", None, "alone"),
        ("WebSocketSource + state", None, "state"),
        ("monitor (headless, 120x40)", None, "monitor"),
        (
            f"WebSocketSource + state, gc gen-0 threshold {GC_THRESHOLD:,} (as the app runs)",
            GC_THRESHOLD,
            "state",
        ),
        (
            f"monitor (headless), gc gen-0 threshold {GC_THRESHOLD:,} (as the app runs)",
            GC_THRESHOLD,
            "monitor",
        ),
    ]
    url = server.websocket_url(CAMPAIGN)
    try:
        for _ in range(repeat):  # interleaved, so a noisy neighbour hits every client alike
            times.setdefault("bare", []).append(asyncio.run(bare_client(url, total)))
            for what, decode in CEILINGS:
                times.setdefault(what, []).append(asyncio.run(bare_client(url, total, decode)))
            for what, threshold, kind in cases:
                state = CampaignState(CAMPAIGN)
                with young_gc_threshold(threshold):
                    if kind == "alone":
                        elapsed = asyncio.run(source_alone(server))
                    elif kind == "state":
                        elapsed = asyncio.run(source_into_state(server, state))
                    else:
                        elapsed = asyncio.run(monitor_headless(server, state))
                times.setdefault(what, []).append(elapsed)
                if kind != "alone":
                    check_state(result, what, state, count)
                del state
                gc.collect()
    finally:
        server.stop()
    baseline = min(times["bare"])
    for what, _ in CEILINGS:
        seconds = min(times[what])
        result.rows.append(
            Row(
                f"{what}: frames/s",
                f"(ceiling for >= {TARGET_RATE // 1000}k/s)",
                per_second(total, seconds),
                f"bare websockets recv {per_second(total, baseline)}",
                f"{baseline / seconds:.2f}x",
            )
        )
    for what, _, _ in cases:
        seconds = min(times[what])
        ratio = baseline / seconds
        result.rows.append(
            Row(
                f"{what}: frames/s",
                f">= {TARGET_RATE // 1000}k/s and >= {TARGET_RATIO}x bare",
                per_second(total, seconds),
                f"bare websockets recv {per_second(total, baseline)}",
                f"{ratio:.2f}x",
                meets_target=total / seconds >= TARGET_RATE and ratio >= TARGET_RATIO,
            )
        )
    # Issue 17's intake target: the state against a client that only decodes (json.loads), same run.
    decode_only = min(times[CEILINGS[0][0]])
    for what, _, kind in cases:
        if kind == "alone":
            continue
        ratio = decode_only / min(times[what])
        result.rows.append(
            Row(
                f"{what}: against the json.loads client",
                f">= {TARGET_RATIO}x json.loads client",
                per_second(total, min(times[what])),
                f"recv + json.loads {per_second(total, decode_only)}",
                f"{ratio:.2f}x",
                meets_target=ratio >= TARGET_RATIO,
            )
        )
    result.notes.append(
        f"{total:,} frames of ~{frame_bytes:,} bytes; best of {repeat} interleaved run(s) per client; "
        "timed from the first frame received to the last one applied (or yielded, for the source alone)."
    )
    return result


if __name__ == "__main__":
    run_cli(bench)
