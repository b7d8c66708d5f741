"""Recordings: the file format, and "replaying a recorded campaign ends in the
same state as watching it live" (live = a real WebSocket source on 127.0.0.1)."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from materia_tui.protocol import Rejected, parse_campaign, parse_object
from materia_tui.source import (
    EventReceived,
    FrameRejected,
    MetadataReceived,
    SourceItem,
)
from materia_tui.source.recording import (
    Recorder,
    RecordingSource,
    parse_recording_line,
    read_recording,
    recording_campaign_id,
)
from materia_tui.source.settings import ConnectionSettings
from materia_tui.state import CampaignState
from materia_tui.state.intake import apply_item
from tests.support.campaigns import campaign_events, campaign_meta
from tests.support.fingerprint import fingerprint
from tests.support.scripted_server import DEFAULT_TOKEN, ScriptedServer

CAMPAIGN = "camp-rec"


def replay_state(items: list[SourceItem], campaign_id: str = CAMPAIGN) -> CampaignState:
    state = CampaignState(campaign_id)
    for item in items:
        apply_item(state, item)
    return state


def test_lines_are_normalized_events_with_received_at(tmp_path: Path) -> None:
    raw = campaign_events(1, iterations=1, campaign_id=CAMPAIGN)
    path = tmp_path / "run.jsonl"
    with Recorder(path) as recorder:
        for index, obj in enumerate(raw):
            event = parse_object(obj)
            assert not isinstance(event, Rejected)
            recorder.record(event, 1000.0 + index)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(raw) == recorder.lines_written
    first = json.loads(lines[0])
    assert first == {**raw[0], "received_at": 1000.0}
    assert [json.loads(line)["seq"] for line in lines] == list(range(1, len(raw) + 1))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_each_line_is_flushed_as_it_is_recorded(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    recorder = Recorder(path)
    event = parse_object(campaign_events(1, iterations=1)[0])
    assert not isinstance(event, Rejected)
    recorder.record(event, 1.5)
    # Read through another handle while the recorder is still open: a crash now loses nothing.
    assert json.loads(path.read_text(encoding="utf-8"))["received_at"] == 1.5
    recorder.close()
    assert recorder.closed
    with pytest.raises(ValueError, match="closed"):
        recorder.record(event, 2.0)


def test_recorder_appends_to_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    event = parse_object(campaign_events(1, iterations=1)[0])
    assert not isinstance(event, Rejected)
    for at in (1.0, 2.0):
        with Recorder(path) as recorder:
            recorder.record(event, at)
    assert [json.loads(line)["received_at"] for line in path.read_text().splitlines()] == [1.0, 2.0]


def test_redacted_strings_never_reach_the_file(tmp_path: Path) -> None:
    secret = "eyJhbGciOiJIUzI1NiJ9.secret-token"
    raw = {"type": "campaign_error", "error": f"bad auth header Bearer {secret}", "seq": 1}
    event = parse_object(raw)
    assert not isinstance(event, Rejected)
    path = tmp_path / "run.jsonl"
    with Recorder(path, redact=[secret]) as recorder:
        recorder.record(event, 1.0)
    text = path.read_text(encoding="utf-8")
    assert secret not in text
    assert "[redacted]" in text
    assert secret not in repr(recorder)


def test_a_watch_json_capture_is_a_valid_recording(tmp_path: Path) -> None:
    """``watch --json`` lines have no received_at; times come from the events' timestamps."""
    raw = campaign_events(2, iterations=2, campaign_id=CAMPAIGN)
    path = tmp_path / "capture.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in raw) + "\n\n", encoding="utf-8")
    items = list(read_recording(path))
    assert all(isinstance(item, EventReceived) for item in items)
    assert len(items) == len(raw)
    live = CampaignState(CAMPAIGN)
    for obj in raw:
        event = parse_object(obj)
        assert not isinstance(event, Rejected)
        live.apply(event, 0.0)
    assert fingerprint(replay_state(items)) == fingerprint(live)
    assert recording_campaign_id(path) == CAMPAIGN


def test_bad_lines_cost_only_themselves() -> None:
    assert parse_recording_line("   \n") is None
    bad_json = parse_recording_line("{not json", 7.0)
    assert isinstance(bad_json, FrameRejected) and bad_json.received_at == 7.0
    unknown = parse_recording_line('{"type": "mystery", "seq": 3, "received_at": 9.0}')
    assert isinstance(unknown, FrameRejected)
    assert unknown.rejected.kind == "unknown_type" and unknown.received_at == 9.0
    nan = parse_recording_line('{"type": "convergence_update", "metric": NaN, "converged": false}')
    assert isinstance(nan, FrameRejected)
    meta = parse_recording_line(json.dumps({"metadata": campaign_meta(CAMPAIGN), "received_at": 1.0}))
    assert isinstance(meta, MetadataReceived) and meta.campaign.id == CAMPAIGN


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    from materia_tui.errors import UsageError

    with pytest.raises(UsageError, match="Cannot read the recording"):
        list(read_recording(tmp_path / "absent.jsonl"))


# ----- live watch -> recording -> replay ------------------------------------------


async def watch_live_and_record(
    path: Path, events: list[dict[str, Any]], meta: dict[str, Any]
) -> CampaignState:
    """Watch a campaign on a real server (half backfilled, half live, with
    duplicates), recording through ``RecordingSource`` as ``watch --record`` does."""
    from materia_tui.source.websocket import WebSocketSource

    half = len(events) // 2
    server = ScriptedServer()
    server.add_campaign(CAMPAIGN, meta, events[:half])
    state = CampaignState(CAMPAIGN)
    async with server:
        settings = ConnectionSettings(server.base_url, token=DEFAULT_TOKEN)
        recorder = Recorder(path, redact=[DEFAULT_TOKEN])
        source = RecordingSource(WebSocketSource(CAMPAIGN, settings), recorder)
        published = False
        async for item in source:
            apply_item(state, item)
            if not published and state.last_seq == half:
                published = True
                await server.wait_for_clients(CAMPAIGN, 1)
                for event in events[half:]:
                    stored = await server.publish(CAMPAIGN, event)
                    if stored % 4 == 0:  # a duplicate frame, as after a reconnect overlap
                        await server.send_raw(CAMPAIGN, json.dumps(server.history(CAMPAIGN)[-1]))
        await source.aclose()
    assert recorder.closed
    return state


async def test_replaying_a_recorded_campaign_ends_in_the_same_state_as_watching_it_live(
    tmp_path: Path,
) -> None:
    # Three objectives, one minimized: the replay needs the recorded metadata to agree.
    meta = campaign_meta(CAMPAIGN, iterations=6, batch=4, objectives=3, status="running")
    events = [
        {k: v for k, v in e.items() if k not in ("seq", "campaign_id")}
        for e in campaign_events(11, iterations=6, batch=4, objectives=3, campaign_id=CAMPAIGN)
    ]
    path = tmp_path / "run.jsonl"
    live = await watch_live_and_record(path, events, meta)
    assert live.status == "completed" and live.counters.applied == len(events)

    text = path.read_text(encoding="utf-8")
    assert DEFAULT_TOKEN not in text
    assert len(text.splitlines()) == len(events) + 1  # every applied event once, plus metadata
    assert live.counters.duplicates == 0  # the source dropped the duplicate frames itself

    replayed = replay_state(list(read_recording(path)))
    assert fingerprint(replayed) == fingerprint(live)
    assert replayed.front_ids() and replayed.directions["cost"] == "minimize"

    # The same file through the project's ReplaySource, as `materia-tui replay` reads it.
    replay = pytest.importorskip("materia_tui.source.replay")
    source = replay.ReplaySource(path)
    via_source = CampaignState(CAMPAIGN)
    async for item in source:
        apply_item(via_source, item)
    await source.aclose()
    assert fingerprint(via_source) == fingerprint(live)

    # Without the metadata line the directions are unknown and "best cost" differs:
    # the metadata line is what makes the replay faithful, so this must not be equal.
    bare = replay_state([i for i in read_recording(path) if not isinstance(i, MetadataReceived)])
    assert fingerprint(bare) != fingerprint(live)
    assert parse_campaign(meta) is not None


async def test_recording_source_records_each_seq_once_and_passes_everything(tmp_path: Path) -> None:
    from tests.support.fake_source import FakeSource, campaign_items

    items = campaign_items(3, campaign_id=CAMPAIGN, complete=True)
    events = [item for item in items if isinstance(item, EventReceived)]
    # Every third event again (a reconnect overlap), and an unsequenced one twice.
    unsequenced = parse_object({"type": "convergence_update", "metric": 0.5, "converged": False})
    assert not isinstance(unsequenced, Rejected)
    delivered = [*items, *events[::3], EventReceived(unsequenced, 5.0), EventReceived(unsequenced, 6.0)]
    fake = FakeSource(delivered)
    fake.release_all()
    fake.end()
    path = tmp_path / "run.jsonl"
    source = RecordingSource(fake, Recorder(path))
    passed = [item async for item in source]
    await source.aclose()
    assert passed == delivered and fake.closed and source.recorder.closed
    recorded = list(read_recording(path))
    assert sum(isinstance(i, MetadataReceived) for i in recorded) == 1
    assert sum(isinstance(i, EventReceived) for i in recorded) == len(events) + 2
    live = CampaignState(CAMPAIGN)
    for item in delivered:
        apply_item(live, item)
    assert fingerprint(replay_state(recorded)) == fingerprint(live)
