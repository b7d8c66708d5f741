"""The one reading of the wire's timestamps (docs/PROTOCOL.md section 4).

Events carry ISO 8601 strings. MatCraft's clocks are UTC, so a timestamp that
names no zone is read as UTC, never as the reader's local time: a recording
replayed in New York must pace and date its events as it would in London.
"""

from __future__ import annotations

from datetime import UTC, datetime


def epoch_seconds(timestamp: object) -> float | None:
    """``timestamp`` (ISO 8601, ``Z`` or an offset or no zone = UTC) as epoch
    seconds; None when it is not a string or not a readable date. Never raises."""
    if not isinstance(timestamp, str) or not timestamp:
        return None
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.timestamp()
    except (OverflowError, OSError):
        return None


def event_time(timestamp: str | None, fallback: float) -> float:
    """An event's time: its readable timestamp, else ``fallback`` (its receive time)."""
    seconds = epoch_seconds(timestamp)
    return fallback if seconds is None else seconds
