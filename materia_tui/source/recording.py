"""Recordings: one JSON object per line, replayable with ``materia-tui replay``.

Each event line is the normalized event (``protocol.dump_event``, ``seq`` at
top level, exactly what ``watch --json`` prints) plus ``received_at``, the
epoch seconds at which the monitor applied it. Readers ignore unknown keys,
so a ``watch --json`` capture (no ``received_at``) is a valid recording too.
An optional metadata line ``{"metadata": <Campaign JSON>, "received_at": t}``
carries the REST metadata (objective directions and units, max_iterations),
so a replay computes the same best values and front as the live monitor.

Lines are flushed one at a time, so a recording cut short by a crash or a
kill is still readable up to its last whole line. Recordings can hold
confidential results: the file is created readable by its owner only. They
never hold a token: the recorder is never handed one, and any string it is
told to redact is replaced before a line is written.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from materia_tui.errors import UsageError
from materia_tui.protocol import (
    MAX_FRAME_BYTES,
    Campaign,
    Event,
    Rejected,
    dump_event,
    parse_campaign,
    parse_object,
)
from materia_tui.source import EventReceived, EventSource, FrameRejected, MetadataReceived, SourceItem

METADATA_KEY = "metadata"
RECEIVED_AT_KEY = "received_at"
REDACTED = "[redacted]"


class Recorder:
    """Appends one flushed JSON line per applied event to ``path``.

    Call ``record`` only for events the state applied (``state.apply(...) ==
    "applied"``), so a recording holds no duplicates and replays to the same state.
    """

    def __init__(self, path: str | Path, *, redact: Iterable[str] = ()) -> None:
        self.path = Path(path)
        self.lines_written = 0
        self._redact = [secret for secret in redact if secret]
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise UsageError(f"Cannot open the recording file {self.path}: {exc.strerror or exc}.") from None
        self._file: IO[str] | None = os.fdopen(fd, "a", encoding="utf-8")

    def __repr__(self) -> str:
        return f"Recorder(path={str(self.path)!r}, lines_written={self.lines_written})"

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._file is None

    def record(self, event: Event, received_at: float) -> None:
        """Append ``event`` (applied at ``received_at``, epoch seconds)."""
        line = dump_event(event)
        line[RECEIVED_AT_KEY] = received_at
        self._write(line)

    def record_metadata(self, campaign: Campaign, received_at: float) -> None:
        """Append the campaign's REST metadata (replays use its directions and units)."""
        body = campaign.model_dump(mode="json", exclude_none=True)
        self._write({METADATA_KEY: body, RECEIVED_AT_KEY: received_at})

    def record_item(self, item: SourceItem) -> None:
        """Record an applied ``EventReceived`` or a ``MetadataReceived``; ignore the rest."""
        if isinstance(item, EventReceived):
            self.record(item.event, item.received_at)
        elif isinstance(item, MetadataReceived):
            self.record_metadata(item.campaign, time.time())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _write(self, obj: dict[str, Any]) -> None:
        if self._file is None:
            raise ValueError("the recorder is closed")
        text = json.dumps(obj, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
        for secret in self._redact:
            text = text.replace(json.dumps(secret, ensure_ascii=True)[1:-1], REDACTED)
        self._file.write(text + "\n")
        self._file.flush()
        self.lines_written += 1


class RecordingSource:
    """Wraps a source and records what the state will apply, for ``watch --record``.

    Every item passes through unchanged. Events are recorded once per ``seq``
    (the reducer's own duplicate rule) and metadata whenever it arrives, so the
    recording works the same under the TUI and the line printers.
    ``aclose()`` closes both the source and the recorder.
    """

    def __init__(self, source: EventSource, recorder: Recorder) -> None:
        self.source = source
        self.recorder = recorder
        self._seen: set[int] = set()

    def __repr__(self) -> str:
        return f"RecordingSource({self.source!r}, {self.recorder!r})"

    async def __aiter__(self) -> AsyncIterator[SourceItem]:
        async for item in self.source:
            if isinstance(item, EventReceived):
                seq = item.event.seq
                if seq is None or seq not in self._seen:
                    if seq is not None:
                        self._seen.add(seq)
                    self.recorder.record(item.event, item.received_at)
            elif isinstance(item, MetadataReceived):
                self.recorder.record_metadata(item.campaign, time.time())
            yield item

    async def aclose(self) -> None:
        try:
            await self.source.aclose()
        finally:
            self.recorder.close()


# ----- reading -----------------------------------------------------------------


def parse_recording_line(line: str | bytes, fallback_time: float = 0.0) -> SourceItem | None:
    """One line of a recording as a source item; None for a blank line. Never raises.

    ``fallback_time`` stands in for a missing ``received_at`` (a ``--json``
    capture) when the event has no readable timestamp either.
    """
    if len(line) > MAX_FRAME_BYTES:
        return FrameRejected(Rejected("too_large", "recording line exceeds 16 MiB"), fallback_time)
    if not line.strip():
        return None
    try:
        obj: Any = json.loads(line)
    except (ValueError, RecursionError):
        return FrameRejected(Rejected("malformed", "recording line is not valid JSON"), fallback_time)
    if isinstance(obj, dict) and "type" not in obj and isinstance(obj.get(METADATA_KEY), dict):
        campaign = parse_campaign(obj[METADATA_KEY])
        if campaign is None:
            return FrameRejected(Rejected("malformed", "unusable metadata line"), fallback_time)
        return MetadataReceived(campaign)
    parsed = parse_object(obj)
    received_at = _received_at(obj, parsed, fallback_time)
    if isinstance(parsed, Rejected):
        return FrameRejected(parsed, received_at)
    return EventReceived(parsed, received_at)


def read_recording(path: str | Path) -> Iterator[SourceItem]:
    """Every item of a recording, in file order. A bad line costs that line only."""
    last_time = 0.0
    try:
        handle = Path(path).open("rb")  # noqa: SIM115 - closed by the with below; the open error is the user's
    except OSError as exc:
        raise UsageError(f"Cannot read the recording {path}: {exc.strerror or exc}.") from None
    with handle:
        for line in handle:
            item = parse_recording_line(line, last_time)
            if item is None:
                continue
            if isinstance(item, EventReceived | FrameRejected):
                last_time = item.received_at
            yield item


def recording_campaign_id(path: str | Path, *, max_lines: int = 100) -> str | None:
    """The ``campaign_id`` of the first event (or metadata) that names one, within ``max_lines``."""
    for item in itertools.islice(read_recording(path), max_lines):
        if isinstance(item, MetadataReceived):
            return item.campaign.id
        if isinstance(item, EventReceived) and item.event.campaign_id:
            return item.event.campaign_id
    return None


def _received_at(obj: Any, parsed: Event | Rejected, fallback: float) -> float:
    value = obj.get(RECEIVED_AT_KEY) if isinstance(obj, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    timestamp = parsed.timestamp if not isinstance(parsed, Rejected) else None
    if timestamp:
        try:
            moment = datetime.fromisoformat(timestamp)
        except ValueError:
            return fallback
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)  # as the reducer reads it: UTC unless it says otherwise
        try:
            return moment.timestamp()
        except (OverflowError, OSError):
            return fallback
    return fallback
