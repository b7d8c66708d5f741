"""The campaign's journal: every published event, as a recording ``materia-tui replay`` plays.

Two files: ``<id>.jsonl``, the recording (metadata lines and events with their
seq, source/recording.py's format), and ``<id>.outcomes.jsonl`` next to it, each
evaluation's outcome as soon as it arrives, so a runner killed in the middle of
a batch loses no finished evaluation (the recording only gets the batch's
``candidates_evaluated`` event when the whole batch is done). Both are fsynced at
iteration boundaries and per outcome; a line torn by a crash is cut off before
the journal is appended to again.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from materia_tui.backend.run.evaluation import EvaluationOutcome
from materia_tui.errors import UsageError
from materia_tui.protocol import Rejected, parse_campaign, parse_object
from materia_tui.source.recording import METADATA_KEY, Recorder


def outcomes_path(journal: Path) -> Path:
    return journal.with_name(journal.name.removesuffix(".jsonl") + ".outcomes.jsonl")


@dataclass(slots=True)
class JournalContents:
    metadata: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)  # in seq order, with seq
    outcomes: dict[str, EvaluationOutcome] = field(default_factory=dict)

    @property
    def last_seq(self) -> int:
        return int(self.events[-1]["seq"]) if self.events else 0


class Journal:
    """Appends to a campaign's journal files (created owner-readable only)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = exc.strerror or exc
            raise UsageError(f"Cannot create the journal folder {path.parent}: {reason}.") from None
        for each in (path, outcomes_path(path)):
            _cut_torn_line(each)
        self._recorder = Recorder(path)
        fd = os.open(outcomes_path(path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._outcomes: IO[str] | None = os.fdopen(fd, "a", encoding="utf-8")

    def metadata(self, campaign: dict[str, Any]) -> None:
        parsed = parse_campaign(campaign)
        if parsed is None:
            raise ValueError("invalid campaign metadata")
        self._recorder.record_metadata(parsed, time.time())

    def event(self, event: dict[str, Any]) -> None:
        """Record ``event`` (a full protocol event with its seq)."""
        parsed = parse_object(event)
        if isinstance(parsed, Rejected):
            raise ValueError(f"not a valid event: {parsed.reason}")
        self._recorder.record(parsed, time.time())

    def outcome(self, outcome: EvaluationOutcome) -> None:
        if self._outcomes is None:
            raise ValueError("the journal is closed")
        line = {
            "candidate_id": outcome.candidate_id,
            "objectives": outcome.objectives,
            "feasible": outcome.feasible,
            "error": outcome.error,
            "duration": outcome.duration,
            "worker": outcome.worker,
        }
        self._outcomes.write(json.dumps(line, separators=(",", ":")) + "\n")
        self._outcomes.flush()
        os.fsync(self._outcomes.fileno())

    def sync(self) -> None:
        """Make everything written so far durable (an fd of our own: fsync is per file)."""
        if self._recorder.closed:
            return
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def close(self) -> None:
        self.sync()
        self._recorder.close()
        if self._outcomes is not None:
            self._outcomes.close()
            self._outcomes = None


def check_journal(path: Path, *, resume: bool, campaign_id: str) -> None:
    """A fresh run never appends to an existing journal; a resume needs one (UsageError)."""
    exists = path.is_file() and path.stat().st_size > 0
    if resume and not exists:
        raise UsageError(f"Nothing to resume: no journal at {path}.")
    if not resume and exists:
        raise UsageError(
            f"A journal of campaign {campaign_id} exists at {path}: "
            "continue it with --resume, or start anew with another --campaign-id or --journal."
        )


def read_journal(path: Path) -> JournalContents:
    """What a journal holds; a torn or unreadable line is skipped (it is cut off on the next append)."""
    contents = JournalContents()
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise UsageError(f"Cannot read the journal {path}: {exc.strerror or exc}.") from None
    for line in lines:
        obj = _json_object(line)
        if obj is None:
            continue
        if "type" not in obj and isinstance(obj.get(METADATA_KEY), dict):
            contents.metadata = obj[METADATA_KEY]
        elif isinstance(obj.get("seq"), int) and obj["seq"] == contents.last_seq + 1:
            obj.pop("received_at", None)
            contents.events.append(obj)
    side = outcomes_path(path)
    if side.exists():
        for line in side.read_bytes().splitlines():
            obj = _json_object(line)
            if obj is not None and isinstance(obj.get("candidate_id"), str):
                contents.outcomes[obj["candidate_id"]] = EvaluationOutcome(
                    candidate_id=obj["candidate_id"],
                    objectives={str(k): float(v) for k, v in (obj.get("objectives") or {}).items()},
                    feasible=bool(obj.get("feasible", True)),
                    error=obj.get("error"),
                    duration=float(obj.get("duration") or 0.0),
                    worker=obj.get("worker"),
                )
    return contents


def _json_object(line: bytes) -> dict[str, Any] | None:
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def _cut_torn_line(path: Path) -> None:
    """Drop a last line without its newline: what a kill in the middle of a write leaves."""
    try:
        with path.open("rb+") as handle:
            data = handle.read()
            if data and not data.endswith(b"\n"):
                handle.truncate(data.rfind(b"\n") + 1)
    except FileNotFoundError:
        return
