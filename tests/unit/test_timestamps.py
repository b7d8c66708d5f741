"""One reading of timestamps for the whole package: a zone-less timestamp is UTC,
for the reducer, the recording reader and the replay alike, whatever the local zone."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from materia_tui.protocol.timestamps import epoch_seconds, event_time
from materia_tui.source import EventReceived
from materia_tui.source.recording import read_recording
from materia_tui.source.replay import ReplaySource
from materia_tui.state import CampaignState
from materia_tui.state.intake import apply_item

ZONELESS = "2026-01-02T03:04:05"
AS_UTC = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local zone is five hours behind UTC for the test's length."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    assert time.localtime(AS_UTC).tm_hour != time.gmtime(AS_UTC).tm_hour  # the zone really took
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ZONELESS, AS_UTC),
        (ZONELESS + "Z", AS_UTC),
        (ZONELESS + "+00:00", AS_UTC),
        (ZONELESS + "+02:00", AS_UTC - 2 * 3600),
        ("2026-01-02", datetime(2026, 1, 2, tzinfo=UTC).timestamp()),
        ("yesterday", None),
        ("", None),
        (None, None),
        (12.5, None),
    ],
)
def test_epoch_seconds(new_york: None, text: object, expected: float | None) -> None:
    assert epoch_seconds(text) == expected


def test_event_time_falls_back_to_the_receive_time() -> None:
    assert event_time("not a date", 7.0) == 7.0
    assert event_time(None, 7.0) == 7.0
    assert event_time(ZONELESS, 7.0) == AS_UTC


def capture(tmp_path: Path) -> Path:
    """A `watch --json` capture (no received_at) whose timestamps name no zone."""
    lines = [
        {"type": "iteration_started", "iteration": 1, "seq": 1, "timestamp": ZONELESS},
        {"type": "campaign_completed", "seq": 2, "timestamp": "2026-01-02T03:04:15",
         "total_iterations": 1, "total_evaluations": 0},
    ]
    path = tmp_path / "capture.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


async def test_replay_and_the_recording_reader_read_a_zoneless_timestamp_as_utc(
    new_york: None, tmp_path: Path
) -> None:
    path = capture(tmp_path)
    read = [item.received_at for item in read_recording(path) if isinstance(item, EventReceived)]
    source = ReplaySource(path)
    replayed = [item.received_at async for item in source if isinstance(item, EventReceived)]
    await source.aclose()
    assert read == replayed == [AS_UTC, AS_UTC + 10]


async def test_a_replayed_capture_dates_the_campaign_as_the_live_monitor_did(
    new_york: None, tmp_path: Path
) -> None:
    """The state reads the event's own timestamp; the replay's received_at must agree with it."""
    state = CampaignState("c")
    source = ReplaySource(capture(tmp_path))
    async for item in source:
        apply_item(state, item)
    await source.aclose()
    assert state.started_at == AS_UTC
    assert state.finished_at == AS_UTC + 10 and state.last_event_at == AS_UTC + 10
