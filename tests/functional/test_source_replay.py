"""ReplaySource over JSONL recordings (the ``--json`` output format)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from materia_tui.errors import UsageError
from materia_tui.protocol import MAX_FRAME_BYTES, Rejected, parse_object
from materia_tui.source import EventReceived, FrameRejected, MetadataReceived
from materia_tui.source.recording import encode_event
from materia_tui.source.replay import ReplaySource
from tests.support import Collected, campaign_events, collect


def recording(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "run.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def json_lines(count_iterations: int = 2, start_time: float = 1000.0, gap: float = 10.0) -> list[str]:
    lines = []
    for seq, raw in enumerate(campaign_events(iterations=count_iterations), start=1):
        event = parse_object({**raw, "seq": seq})
        assert not isinstance(event, Rejected)
        lines.append(encode_event(event, start_time + seq * gap))
    return lines


async def test_replay_yields_every_recorded_event_with_its_recorded_time(tmp_path: Path) -> None:
    lines = json_lines()
    collected = await collect(ReplaySource(recording(tmp_path, lines)), Collected())
    assert collected.seqs == list(range(1, len(lines) + 1))
    received = [i for i in collected.items if isinstance(i, EventReceived)]
    assert received[0].received_at == 1010.0 and received[-1].received_at == 1000.0 + len(lines) * 10
    assert collected.statuses == ["live", "closed"]


async def test_bad_lines_become_rejections_and_the_replay_goes_on(tmp_path: Path) -> None:
    lines = json_lines()
    bad = ["not json", "[1]", '{"type": "mystery"}', '{"type": "convergence_update", "metric": NaN}']
    mixed = [lines[0], *bad, "", *lines[1:]]
    collected = await collect(ReplaySource(recording(tmp_path, mixed)), Collected())
    assert collected.seqs == list(range(1, len(lines) + 1))
    assert [r.rejected.kind for r in collected.rejected] == [
        "malformed",
        "malformed",
        "unknown_type",
        "malformed",
    ]


async def test_a_line_over_16_mib_is_skipped_whole(tmp_path: Path) -> None:
    lines = json_lines(1)
    huge = '{"type": "campaign_error", "error": "' + "x" * MAX_FRAME_BYTES + '"}'
    collected = await collect(ReplaySource(recording(tmp_path, [lines[0], huge, *lines[1:]])), Collected())
    assert collected.seqs == list(range(1, len(lines) + 1))
    assert [r.rejected.kind for r in collected.rejected] == ["too_large"]


async def test_metadata_line_yields_the_campaign(tmp_path: Path) -> None:
    meta = json.dumps({"metadata": {"id": "camp-9", "status": "completed", "max_iterations": 2}})
    collected = await collect(ReplaySource(recording(tmp_path, [meta, *json_lines()])), Collected())
    metadata = [i for i in collected.items if isinstance(i, MetadataReceived)]
    assert metadata[0].campaign.id == "camp-9"
    assert not any(isinstance(i, FrameRejected) for i in collected.items)


async def test_speed_divides_the_recorded_gaps(tmp_path: Path) -> None:
    pauses: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        pauses.append(seconds)

    lines = json_lines(1, gap=10.0)
    await collect(ReplaySource(recording(tmp_path, lines), speed=20.0, sleep=fake_sleep), Collected())
    assert pauses == [pytest.approx(0.5)] * (len(lines) - 1)


async def test_paced_replay_really_waits(tmp_path: Path) -> None:
    lines = json_lines(1, gap=0.05)  # 5 events, 4 gaps of 50 ms
    started = time.monotonic()
    await collect(ReplaySource(recording(tmp_path, lines), speed=1.0), Collected())
    assert time.monotonic() - started >= 0.2


async def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="Cannot read"):
        await collect(ReplaySource(tmp_path / "nope.jsonl"), Collected())
