"""Recordings: the one codec of the JSON-lines files that ``watch --record``
writes and ``replay``, ``screenshot --from-recording`` and the tests read.

Each event line is the normalized event (``protocol.dump_event``, ``seq`` at
top level, exactly what ``watch --json`` prints) plus ``received_at``, the
epoch seconds at which the monitor applied it. Readers ignore unknown keys,
so a ``watch --json`` capture (no ``received_at``) is a valid recording too:
its times come from the events' timestamps, read as UTC when they name no
zone (``protocol.timestamps``). An optional metadata line
``{"metadata": <Campaign JSON>, "received_at": t}`` carries the REST metadata
(objective directions and units, max_iterations), so a replay computes the
same best values and front as the live monitor.

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
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from materia_tui.errors import UsageError
from materia_tui.protocol import (
    MAX_FRAME_BYTES,
    Campaign,
    Event,
    Rejected,
    RejectionKind,
    dump_event_json,
    parse_campaign,
    parse_object,
)
from materia_tui.protocol.seqs import SeqLedger
from materia_tui.protocol.timestamps import epoch_seconds
from materia_tui.sanitize import clean
from materia_tui.source import (
    ClosesOnExit,
    EventReceived,
    EventSource,
    FrameRejected,
    MetadataReceived,
    NoteAdded,
    SourceItem,
)

METADATA_KEY = "metadata"
NOTE_KEY = "note"
RECEIVED_AT_KEY = "received_at"
REDACTED = "[redacted]"


# ----- writing -----------------------------------------------------------------


def encode_event(event: Event, received_at: float | None = None) -> str:
    """One event line (no newline): the normalized event, plus ``received_at`` when given."""
    text = dump_event_json(event)
    if received_at is None:
        return text
    # An event's JSON is an object with at least its type: the key goes before its closing brace.
    return f'{text[:-1]},"{RECEIVED_AT_KEY}":{json.dumps(received_at, allow_nan=False)}}}'


def encode_metadata(campaign: Campaign, received_at: float | None = None) -> str:
    """The metadata line (no newline) that lets a replay use the campaign's directions and units."""
    obj: dict[str, Any] = {METADATA_KEY: campaign.model_dump(mode="json", exclude_none=True)}
    if received_at is not None:
        obj[RECEIVED_AT_KEY] = received_at
    return _dumps(obj)


def note_record(iteration: int | None, text: str, at: float) -> dict[str, Any]:
    """A note line's object: ``{"note": {"iteration": N, "text": "..."}, "received_at": t}``."""
    return {NOTE_KEY: {"iteration": iteration, "text": text}, RECEIVED_AT_KEY: at}


def encode_note(note: NoteAdded) -> str:
    """One note line (no newline): a note a user pinned to an iteration."""
    return _dumps(note_record(note.iteration, note.text, note.at))


def _dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


class Recorder(ClosesOnExit):
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

    @property
    def closed(self) -> bool:
        return self._file is None

    def record(self, event: Event, received_at: float) -> None:
        """Append ``event`` (applied at ``received_at``, epoch seconds)."""
        self._write(encode_event(event, received_at))

    def record_metadata(self, campaign: Campaign, received_at: float) -> None:
        """Append the campaign's REST metadata (replays use its directions and units)."""
        self._write(encode_metadata(campaign, received_at))

    def record_note(self, note: NoteAdded) -> None:
        """Append a note (``replay`` shows it in the event log and the line output)."""
        self._write(encode_note(note))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _write(self, text: str) -> None:
        if self._file is None:
            raise ValueError("the recorder is closed")
        for secret in self._redact:
            text = text.replace(json.dumps(secret, ensure_ascii=True)[1:-1], REDACTED)
        self._file.write(text + "\n")
        self._file.flush()
        self.lines_written += 1


class RecordingSource:
    """Wraps a source and records what the state will apply, for ``watch --record``.

    Every item passes through unchanged. Events are recorded once per ``seq``
    (``SeqLedger``, the state's own rule) and metadata whenever it arrives, so
    the recording works the same under the TUI and the line printers.
    ``aclose()`` closes both the source and the recorder.
    """

    def __init__(self, source: EventSource, recorder: Recorder) -> None:
        self.source = source
        self.recorder = recorder
        self._seqs = SeqLedger()

    def __repr__(self) -> str:
        return f"RecordingSource({self.source!r}, {self.recorder!r})"

    async def __aiter__(self) -> AsyncIterator[SourceItem]:
        async for item in self.source:
            if isinstance(item, EventReceived):
                seq = item.event.seq
                if seq is None or self._seqs.admit(seq) != "duplicate":
                    self.recorder.record(item.event, item.received_at)
            elif isinstance(item, MetadataReceived):
                self.recorder.record_metadata(item.campaign, time.time())
            elif isinstance(item, NoteAdded):
                self.recorder.record_note(item)
            yield item

    def record_note(self, note: NoteAdded) -> None:
        """A note typed in the monitor: into the recording (``NoteSink``)."""
        self.recorder.record_note(note)

    async def aclose(self) -> None:
        try:
            await self.source.aclose()
        finally:
            self.recorder.close()


# ----- reading -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DecodedLine:
    """One line of a recording: its item, and the time the line itself gives
    (``received_at``, else the event's timestamp; None when it gives none)."""

    item: SourceItem
    recorded_at: float | None


def decode_line(line: str | bytes | None, fallback_time: float) -> DecodedLine | None:
    """One line (None: a line over 16 MiB, as ``bounded_lines`` yields it) as a
    source item; None for a blank line. Never raises.

    An event's ``received_at`` is the line's own time, else ``fallback_time``.
    """
    if line is None or len(line) > MAX_FRAME_BYTES:
        return _unreadable("too_large", "line exceeds 16 MiB", fallback_time)
    if not line.strip():
        return None
    try:
        obj: Any = json.loads(line)
    except (ValueError, RecursionError):
        return _unreadable("malformed", "line is not valid JSON", fallback_time)
    if isinstance(obj, dict) and "type" not in obj and METADATA_KEY in obj:
        campaign = parse_campaign(obj[METADATA_KEY])
        if campaign is None:
            return _unreadable("malformed", "unusable metadata line", fallback_time)
        return DecodedLine(MetadataReceived(campaign), None)
    if isinstance(obj, dict) and "type" not in obj and NOTE_KEY in obj:
        return _note_line(obj, fallback_time)
    recorded_at = recorded_time(obj)
    at = fallback_time if recorded_at is None else recorded_at
    parsed = parse_object(obj)
    if isinstance(parsed, Rejected):
        return DecodedLine(FrameRejected(parsed, at), recorded_at)
    return DecodedLine(EventReceived(parsed, at), recorded_at)


def _note_line(obj: dict[str, Any], fallback_time: float) -> DecodedLine:
    note = obj[NOTE_KEY]
    text = note.get("text") if isinstance(note, dict) else None
    iteration = note.get("iteration") if isinstance(note, dict) else None
    if not isinstance(text, str) or not (iteration is None or type(iteration) is int):
        return _unreadable("malformed", "unusable note line", fallback_time)
    recorded_at = recorded_time(obj)
    at = fallback_time if recorded_at is None else recorded_at
    return DecodedLine(NoteAdded(iteration, clean(text, 500), at), recorded_at)


def _unreadable(kind: RejectionKind, reason: str, at: float) -> DecodedLine:
    return DecodedLine(FrameRejected(Rejected(kind, reason), at), None)


def parse_recording_line(line: str | bytes, fallback_time: float = 0.0) -> SourceItem | None:
    """One line of a recording as a source item; None for a blank line. Never raises."""
    decoded = decode_line(line, fallback_time)
    return None if decoded is None else decoded.item


def recorded_time(obj: Any) -> float | None:
    """A line's own time: its finite ``received_at``, else its ``timestamp`` (UTC
    when it names no zone); None when it has neither."""
    if not isinstance(obj, dict):
        return None
    value = obj.get(RECEIVED_AT_KEY)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return epoch_seconds(obj.get("timestamp"))


def bounded_lines(handle: IO[bytes]) -> Iterator[bytes | None]:
    """Lines of at most 16 MiB; a longer one is skipped whole (never held in
    memory) and reported as None."""
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


def open_recording(path: str | Path) -> IO[bytes]:
    """The recording opened for reading; a ``UsageError`` (one sentence) if it cannot be."""
    try:
        return Path(path).open("rb")
    except OSError as exc:
        raise UsageError(f"Cannot read the recording {clean(str(path))}: {exc.strerror or exc}.") from None


def read_recording(path: str | Path) -> Iterator[SourceItem]:
    """Every item of a recording, in file order. A bad line costs that line only;
    a line without a time of its own gets the previous line's."""
    last_time = 0.0
    with open_recording(path) as handle:
        for line in bounded_lines(handle):
            decoded = decode_line(line, last_time)
            if decoded is None:
                continue
            item = decoded.item
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
