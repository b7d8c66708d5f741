"""Replay a JSONL recording as a source (``--json`` output is a recording).

Lines are read by the recording codec (``source.recording``: an event per
line, optionally with ``received_at``, and an optional metadata line). Bad
lines become ``FrameRejected``; the source ends at EOF.

``speed=None`` replays as fast as possible; otherwise the gaps between the
recorded ``received_at`` (or ``timestamp``) values are divided by ``speed``.
Items carry the recorded ``received_at`` when there is one, so durations in
the state are the campaign's, not the replay's.

``source.control`` (a ``ReplayControl``) steers a running replay: pause and
resume it, step to the end of the next iteration, jump to the end (the rest as
fast as possible), or change the speed; a change takes effect at once, even in
the middle of a long pause between two events.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from typing import Any

from materia_tui.errors import UsageError
from materia_tui.protocol import CampaignCompleted, CampaignError, IterationCompleted
from materia_tui.sanitize import clean
from materia_tui.source import ConnectionChanged, EventReceived, GeneratorSource, SourceItem
from materia_tui.source.recording import bounded_lines, decode_line, open_recording

# Hand control back to the event loop this often when replaying at full speed.
YIELD_EVERY_LINES = 256
# Never wait longer than this between two events, whatever the recording says.
MAX_PAUSE_SECONDS = 5.0
MIN_SPEED = 1 / 64
MAX_SPEED = 4096.0


class ReplayControl:
    """Pause / step / jump / speed for a running ``ReplaySource`` (all calls are instant).

    ``speed`` is None when replaying as fast as possible. ``describe()`` is a
    short label for a status bar: ``x10``, ``paused``, ``stepping``, ``max``, ``to end``.
    """

    def __init__(self, speed: float | None) -> None:
        self.speed = speed
        self.paused = False
        self.stepping = False  # play to the end of the next iteration, then pause
        self.to_end = False
        self.finished = False
        self._changed = asyncio.Event()

    def _touch(self) -> None:
        self._changed.set()

    def pause(self) -> None:
        self.paused, self.stepping = True, False
        self._touch()

    def resume(self) -> None:
        self.paused, self.stepping = False, False
        self._touch()

    def toggle_pause(self) -> None:
        if self.paused:
            self.resume()
        else:
            self.pause()

    def step_iteration(self) -> None:
        """Play on until the next iteration completes (or the campaign ends), then pause."""
        self.paused, self.stepping = False, True
        self._touch()

    def jump_to_end(self) -> None:
        """Play the rest without pauses."""
        self.paused, self.stepping, self.to_end = False, False, True
        self._touch()

    def faster(self) -> None:
        if self.speed is not None:
            self.speed = min(MAX_SPEED, self.speed * 2)
            self._touch()

    def slower(self) -> None:
        if self.speed is not None:
            self.speed = max(MIN_SPEED, self.speed / 2)
            self._touch()

    def describe(self) -> str:
        if self.finished:
            return "end"
        if self.paused:
            return "paused"
        if self.to_end:
            return "to end"
        if self.stepping:
            return "stepping"
        return "max" if self.speed is None else f"x{self.speed:g}"

    async def wait_while_paused(self) -> None:
        while self.paused:
            await self._wait_changed()

    async def pace(self, recorded_gap: float, sleep: Callable[[float], Any]) -> None:
        """Wait ``recorded_gap`` recorded seconds at the current speed; a pause, a
        jump to the end or a speed change takes effect in the middle of the wait.
        A step plays its iteration without waits (it is a "show me the next one")."""
        remaining = recorded_gap
        while remaining > 0 and not (self.to_end or self.stepping or self.paused) and self.speed is not None:
            speed = self.speed
            real = min(remaining / speed, MAX_PAUSE_SECONDS)
            started = time.monotonic()
            if not await self._sleep_unless_changed(real, sleep):
                return
            remaining -= (time.monotonic() - started) * speed
        await self.wait_while_paused()

    async def _sleep_unless_changed(self, seconds: float, sleep: Callable[[float], Any]) -> bool:
        """Sleep ``seconds``; True if a control change cut the sleep short."""
        self._changed.clear()
        sleeper = asyncio.ensure_future(sleep(seconds))
        changed = asyncio.ensure_future(self._changed.wait())
        try:
            await asyncio.wait({sleeper, changed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, changed):
                task.cancel()
        return changed.done() and not changed.cancelled() and not sleeper.done()

    async def _wait_changed(self) -> None:
        self._changed.clear()
        await self._changed.wait()

    def after_item(self, item: SourceItem) -> None:
        """Stepping stops once an iteration (or the campaign) has been played."""
        if not self.stepping or not isinstance(item, EventReceived):
            return
        event = item.event
        if isinstance(event, IterationCompleted | CampaignCompleted) or (
            isinstance(event, CampaignError) and event.fatal
        ):
            self.pause()


class ReplaySource(GeneratorSource):
    """``async for item in ReplaySource("run.jsonl", speed=10): ...``"""

    def __init__(
        self,
        path: str | Path,
        *,
        speed: float | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        if speed is not None and speed <= 0:
            raise UsageError("The replay speed must be a positive number.")
        self.path = Path(path)
        self.control = ReplayControl(speed)
        self._clock = clock
        self._sleep = sleep
        self._items = self._run()

    def __repr__(self) -> str:
        return f"ReplaySource({str(self.path)!r}, speed={self.control.speed!r})"

    async def _run(self) -> AsyncGenerator[SourceItem, None]:
        with open_recording(self.path) as handle:
            control = self.control
            yield ConnectionChanged("live", detail=f"Replaying {clean(self.path.name)}.")
            previous_time: float | None = None
            for count, line in enumerate(bounded_lines(handle), start=1):
                if count % YIELD_EVERY_LINES == 0:
                    await asyncio.sleep(0)
                decoded = decode_line(line, self._clock())
                if decoded is None:
                    continue
                recorded_at = decoded.recorded_at
                if recorded_at is not None:
                    if previous_time is not None and recorded_at > previous_time:
                        await control.pace(recorded_at - previous_time, self._sleep)
                    previous_time = recorded_at
                await control.wait_while_paused()
                yield decoded.item
                control.after_item(decoded.item)
            control.finished = True
            control.resume()
            yield ConnectionChanged("closed", detail="End of the recording.")
