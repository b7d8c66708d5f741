"""Publishers write docs/PROTOCOL.md section 6 exactly; the ``publish`` command end to end."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis

from materia_tui.backend.publish import AsyncPublisher, InvalidCampaign, InvalidEvent, Publisher
from materia_tui.backend.server.app import start_server
from materia_tui.backend.server.auth import NoAuth
from materia_tui.backend.server.bus import RedisBus
from materia_tui.protocol import IterationStarted
from tests.support.campaigns import campaign_events, campaign_meta
from tests.support.redis_server import redis_url, unique_campaign_id

__all__ = ["redis_url"]

pytestmark = pytest.mark.redis


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def publisher(redis_url: str) -> Iterator[Publisher]:
    with Publisher(redis_url) as pub:
        yield pub


def stored_events(raw: redis.Redis, campaign_id: str) -> list[dict[str, Any]]:
    return [json.loads(e) for e in raw.lrange(f"campaign:{campaign_id}:events", 0, -1)]


def test_publisher_writes_the_documented_keys_and_channel(publisher: Publisher, raw: redis.Redis) -> None:
    campaign_id = unique_campaign_id()
    pubsub = raw.pubsub()  # type: ignore[no-untyped-call]
    pubsub.subscribe(f"campaign:{campaign_id}")
    confirmation = pubsub.get_message(timeout=5)
    assert confirmation is not None and confirmation["type"] == "subscribe"
    publisher.set_metadata(campaign_meta(campaign_id) | {"extra": [1, 2]})
    assert campaign_id in raw.smembers("campaigns")
    assert json.loads(raw.get(f"campaign:{campaign_id}:meta") or "") == campaign_meta(campaign_id) | {
        "extra": [1, 2]}
    first = publisher.publish(campaign_id, {"type": "iteration_started", "iteration": 1, "seq": 40,
                                            "campaign_id": "someone-else",
                                            "timestamp": "2026-01-01T00:00:00Z"})
    second = publisher.publish(campaign_id, IterationStarted(iteration=2, timestamp="2026-01-01T00:01:00Z"))
    third = publisher.publish(campaign_id, {"type": "convergence_update", "metric": 0.1, "converged": False})
    assert (first, second, third) == (1, 2, 3)
    assert raw.get(f"campaign:{campaign_id}:seq") == "3"
    events = stored_events(raw, campaign_id)
    assert [e["seq"] for e in events] == [1, 2, 3]
    assert {e["campaign_id"] for e in events} == {campaign_id}
    assert events[0]["timestamp"] == "2026-01-01T00:00:00Z"  # kept
    assert events[2]["timestamp"].endswith("Z")  # assigned
    channel_frames: list[str] = []
    while len(channel_frames) < 3:
        message = pubsub.get_message(timeout=5)
        assert message is not None
        if message["type"] == "message":
            channel_frames.append(message["data"])
    assert channel_frames == raw.lrange(f"campaign:{campaign_id}:events", 0, -1)
    pubsub.close()


def test_invalid_events_and_metadata_are_refused_and_nothing_is_written(
    publisher: Publisher, raw: redis.Redis
) -> None:
    campaign_id = unique_campaign_id()
    for bad in ({"type": "iteration_completed", "iteration": "3", "best_value": 1.0, "pareto_size": 0},
                {"type": "convergence_update", "metric": float("nan"), "converged": False},
                {"iteration": 1}, ["not", "an", "object"]):
        with pytest.raises(InvalidEvent):
            publisher.publish(campaign_id, bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidEvent):  # a batch is all or nothing
        publisher.publish_many(campaign_id, [{"type": "iteration_started", "iteration": 1},
                                             {"type": "iteration_started", "iteration": 0}])
    assert not raw.exists(f"campaign:{campaign_id}:events", f"campaign:{campaign_id}:seq")
    with pytest.raises(InvalidCampaign):
        publisher.set_metadata({"id": "-bad"})
    with pytest.raises(InvalidCampaign):
        publisher.publish("has space", {"type": "iteration_started", "iteration": 1})
    # an unknown type is published: consumers skip it, newer ones may know it
    assert publisher.publish(campaign_id, {"type": "future_event", "x": 1}) == 1


def test_a_campaign_without_metadata_becomes_visible_and_status_updates(
    publisher: Publisher, raw: redis.Redis
) -> None:
    campaign_id = unique_campaign_id()
    publisher.publish(campaign_id, {"type": "iteration_started", "iteration": 1})
    minimal = {"id": campaign_id, "status": "running"}
    assert json.loads(raw.get(f"campaign:{campaign_id}:meta") or "") == minimal
    assert campaign_id in raw.smembers("campaigns")
    publisher.set_metadata(campaign_meta(campaign_id, status="pending"))
    publisher.set_status(campaign_id, "completed")
    meta = json.loads(raw.get(f"campaign:{campaign_id}:meta") or "")
    assert meta["status"] == "completed" and meta["finished_at"] and meta["name"] == "RO membrane screen"


def test_concurrent_publishers_keep_list_order_equal_to_seq_order(redis_url: str, raw: redis.Redis) -> None:
    campaign_id = unique_campaign_id()
    per_thread = 60

    def work(worker: int) -> None:
        with Publisher(redis_url) as own:
            for index in range(per_thread):
                own.publish(campaign_id, {"type": "campaign_error", "error": f"{worker}:{index}",
                                          "fatal": False})

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    events = stored_events(raw, campaign_id)
    assert [e["seq"] for e in events] == list(range(1, 4 * per_thread + 1))
    for worker in range(4):  # each worker's own events stay in its order
        mine = [int(e["error"].split(":")[1]) for e in events if e["error"].startswith(f"{worker}:")]
        assert mine == list(range(per_thread))


async def test_async_publisher_matches_the_sync_one(redis_url: str, raw: redis.Redis) -> None:
    campaign_id = unique_campaign_id()
    async with AsyncPublisher(redis_url) as pub:
        await pub.set_metadata(campaign_meta(campaign_id))
        events = campaign_events(campaign_id=campaign_id)[:5]
        assert await pub.publish_many(campaign_id, events) == [1, 2, 3, 4, 5]
        await pub.set_status(campaign_id, "failed")
    assert [e["seq"] for e in stored_events(raw, campaign_id)] == [1, 2, 3, 4, 5]
    assert json.loads(raw.get(f"campaign:{campaign_id}:meta") or "")["status"] == "failed"


async def test_server_history_tolerates_a_foreign_publisher_with_gaps(
    redis_url: str, raw: redis.Redis
) -> None:
    # A non-compliant publisher lost seq 2 and 3; a page must still start after after_seq.
    campaign_id = unique_campaign_id()
    raw.set(f"campaign:{campaign_id}:meta", json.dumps({"id": campaign_id}))
    for seq in (1, 4, 5, 6):
        raw.rpush(f"campaign:{campaign_id}:events",
                  json.dumps({"type": "iteration_started", "iteration": seq, "seq": seq, "timestamp": "t"}))
    raw.rpush(f"campaign:{campaign_id}:events", "{not json")
    raw.set(f"campaign:{campaign_id}:seq", 7)
    server = await start_server("127.0.0.1", 0, bus=RedisBus(redis_url), auth=NoAuth())
    try:
        async with aiohttp.ClientSession() as http:
            for after, expected in ((0, [1, 4, 5, 6]), (1, [4, 5, 6]), (3, [4, 5, 6]), (5, [6]), (6, [])):
                url = f"{server.base_url}/campaigns/{campaign_id}/events?after_seq={after}"
                async with http.get(url) as response:
                    page = await response.json()
                assert [e["seq"] for e in page["events"]] == expected, after
                assert page["last_seq"] == 7
    finally:
        await server.close()


def run_publish_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "materia_tui", "publish", *args], input=stdin,
                          capture_output=True, text=True, timeout=30, check=False)


async def test_publish_command_end_to_end_read_back_through_a_server(redis_url: str, tmp_path: Path) -> None:
    campaign_id = unique_campaign_id()
    events = campaign_events(campaign_id=campaign_id, iterations=3)
    lines = [json.dumps(e) for e in events]
    lines.insert(2, "{broken json")
    lines.insert(5, json.dumps({"type": "iteration_completed", "iteration": "x"}))
    lines.insert(7, "")
    events_file = tmp_path / "events.jsonl"
    events_file.write_text("\n".join(lines) + "\n")
    meta_file = tmp_path / "campaign.json"
    meta_file.write_text(json.dumps(campaign_meta(campaign_id)))

    result = await asyncio.to_thread(run_publish_cli, campaign_id, "--redis", redis_url, "--meta",
                                     str(meta_file), str(events_file), "--status", "completed")
    assert result.returncode == 1, result.stderr
    assert "line 3: not JSON" in result.stderr
    assert "line 6: invalid iteration_completed" in result.stderr
    assert f"published {len(events)} events" in result.stderr
    assert redis_url not in result.stderr + result.stdout

    server = await start_server("127.0.0.1", 0, bus=RedisBus(redis_url), auth=NoAuth())
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{server.base_url}/campaigns/{campaign_id}/events") as response:
                page = await response.json()
            async with http.get(f"{server.base_url}/campaigns/{campaign_id}") as response:
                meta = await response.json()
    finally:
        await server.close()
    assert page["events"] == events  # the fixture's seqs and timestamps are what publishing assigns
    assert page["last_seq"] == len(events)
    assert meta["status"] == "completed" and meta["name"] == "RO membrane screen"

    from_stdin = await asyncio.to_thread(run_publish_cli, campaign_id, "--redis", redis_url, "-",
                                         stdin=json.dumps({"type": "iteration_started", "iteration": 9}))
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert f"(seq {len(events) + 1}..{len(events) + 1})" in from_stdin.stderr


def test_publish_command_reports_an_unreachable_redis_without_its_url(tmp_path: Path) -> None:
    result = run_publish_cli("camp-x", "--redis", "redis://:hunter2@127.0.0.1:1/0", "-",
                             stdin='{"type": "iteration_started", "iteration": 1}\n')
    assert result.returncode == 1
    assert "Redis failed" in result.stderr and "hunter2" not in result.stderr
