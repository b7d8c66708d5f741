"""Replay a JSONL recording as a source (``--json`` output is a recording).

Each line is one event object, as ``--json`` prints it (the normalized event
with ``seq`` at top level), optionally with ``received_at`` (epoch seconds).
A line ``{"metadata": {...Campaign...}}`` is optional and yields the
campaign's metadata. Bad lines become ``FrameRejected``; the source ends at EOF.

``speed=None`` replays as fast as possible; otherwise the gaps between the
recorded ``received_at`` (or ``timestamp``) values are divided by ``speed``.
Items carry the recorded ``received_at`` when there is one, so durations in
the state are the campaign's, not the replay's.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from materia_tui.errors import UsageError
from materia_tui.protocol import MAX_FRAME_BYTES, Rejected, parse_campaign, parse_object
from materia_tui.sanitize import clean
from materia_tui.source import ConnectionChanged, EventReceived, FrameRejected, MetadataReceived, SourceItem

# Hand control back to the event loop this often when replaying at full speed.
YIELD_EVERY_LINES = 256
# Never wait longer than this between two events, whatever the recording says.
MAX_PAUSE_SECONDS = 5.0


class ReplaySource:
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
        self._speed = speed
        self._clock = clock
        self._sleep = sleep
        self._items = self._run()

    def __repr__(self) -> str:
        return f"ReplaySource({str(self.path)!r}, speed={self._speed!r})"

    def __aiter__(self) -> ReplaySource:
        return self

    async def __anext__(self) -> SourceItem:
        return await self._items.__anext__()

    async def aclose(self) -> None:
        await self._items.aclose()

    async def _run(self) -> AsyncGenerator[SourceItem, None]:
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            raise UsageError(f"Cannot read the recording {clean(str(self.path))} ({exc.strerror}).") from None
        with handle:
            yield ConnectionChanged("live", detail=f"Replaying {clean(self.path.name)}.")
            previous_time: float | None = None
            for count, line in enumerate(_lines(handle), start=1):
                if count % YIELD_EVERY_LINES == 0:
                    await asyncio.sleep(0)
                if line is not None and not line.strip():
                    continue
                item, recorded_at = self._item(line)
                if self._speed is not None and recorded_at is not None:
                    if previous_time is not None and recorded_at > previous_time:
                        await self._sleep(min((recorded_at - previous_time) / self._speed, MAX_PAUSE_SECONDS))
                    previous_time = recorded_at
                yield item
            yield ConnectionChanged("closed", detail="End of the recording.")

    def _item(self, line: bytes | None) -> tuple[SourceItem, float | None]:
        """The item for one line, and the time it was recorded (None if unknown)."""
        now = self._clock()
        if line is None:
            return FrameRejected(Rejected("too_large", "line exceeds 16 MiB"), now), None
        try:
            value: Any = json.loads(line)
        except (ValueError, RecursionError):
            return FrameRejected(Rejected("malformed", "line is not valid JSON"), now), None
        if isinstance(value, dict) and "metadata" in value and "type" not in value:
            campaign = parse_campaign(value["metadata"])
            if campaign is None:
                return FrameRejected(Rejected("malformed", "unusable metadata line"), now), None
            return MetadataReceived(campaign), None
        recorded_at = _recorded_time(value)
        parsed = parse_object(value)
        at = recorded_at if recorded_at is not None else now
        if isinstance(parsed, Rejected):
            return FrameRejected(parsed, at), recorded_at
        return EventReceived(parsed, at), recorded_at


def _lines(handle: IO[bytes]) -> Iterator[bytes | None]:
    """Lines of at most 16 MiB; a longer one is skipped whole and reported as None."""
    while True:
        line = handle.readline(MAX_FRAME_BYTES + 2)
        if not line:
            return
        if len(line) > MAX_FRAME_BYTES + 1:  # more than 16 MiB before the newline
            while line and not line.endswith(b"\n"):
                line = handle.readline(MAX_FRAME_BYTES)
            yield None
            continue
        yield line


def _recorded_time(value: Any) -> float | None:
    if not isinstance(value, dict):
        return None
    received_at = value.get("received_at")
    if isinstance(received_at, int | float) and not isinstance(received_at, bool):
        return float(received_at)
    timestamp = value.get("timestamp")
    if isinstance(timestamp, str):
        try:
            return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None
