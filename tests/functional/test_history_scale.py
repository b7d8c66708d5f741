"""The history path at scale (issue 17): compressed pages, O(page) paging, a backfill
that holds one page, and a 10,000-candidate campaign intact through memory and Redis.

Real servers in-process on 127.0.0.1 (memory bus, and a real redis-server), raw HTTP
where the exact request headers matter, ``WebSocketSource`` as the monitor uses it.
"""

from __future__ import annotations

import asyncio
import gc
import gzip
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis
from aiohttp import web

from bench.big_campaign import Shape, events, metadata, publish_redis
from materia_tui.backend.publish import MemoryPublisher
from materia_tui.backend.server.app import RunningServer, start_server
from materia_tui.backend.server.auth import NoAuth
from materia_tui.backend.server.bus import MAX_PAGE_BYTES, MemoryBus, RedisBus
from materia_tui.protocol import MAX_FRAME_BYTES, CandidatesProposed, dump_event, parse
from materia_tui.source import EventReceived, FrameRejected
from materia_tui.source.rest import RestClient
from materia_tui.source.settings import ConnectionSettings
from materia_tui.source.websocket import WebSocketSource
from materia_tui.state import CampaignState
from materia_tui.state.intake import apply_item
from tests.support.redis_server import redis_url, unique_campaign_id

__all__ = ["redis_url"]  # the fixture, imported for pytest


async def memory_server(shape: Shape, campaign_id: str) -> RunningServer:
    bus = MemoryBus()
    publisher = MemoryPublisher(bus)
    await publisher.set_metadata(metadata(campaign_id, shape))
    await publisher.publish_many(campaign_id, [json.loads(text) for text in events(shape)])
    return await start_server("127.0.0.1", 0, bus=bus, auth=NoAuth())


@pytest.fixture
async def small_server() -> AsyncIterator[RunningServer]:
    server = await memory_server(Shape(3, 40), "small")
    yield server
    await server.close()


async def raw_get(server: RunningServer, path: str, headers: dict[str, str]) -> tuple[dict[str, str], bytes]:
    """One HTTP/1.1 GET with exactly these headers: (response headers, lower-cased; body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    response = await reader.read()
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    status, *header_lines = head.decode().split("\r\n")
    assert " 200 " in status, status
    parsed = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed[name.strip().lower()] = value.strip()
    assert int(parsed["content-length"]) == len(body)
    return parsed, body


EVENTS_PATH = "/api/v1/campaigns/small/events?after_seq=0&limit=1000"


async def test_a_client_without_accept_encoding_gets_identity_and_one_with_gzip_gets_gzip(
    small_server: RunningServer,
) -> None:
    plain_headers, plain = await raw_get(small_server, EVENTS_PATH, {})
    assert "content-encoding" not in plain_headers
    page = json.loads(plain)
    assert [e["seq"] for e in page["events"]] == list(range(1, 20)) and page["last_seq"] == 19

    gzip_headers, compressed = await raw_get(small_server, EVENTS_PATH, {"Accept-Encoding": "gzip, deflate"})
    assert gzip_headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in gzip_headers["vary"]
    assert gzip.decompress(compressed) == plain
    assert len(compressed) < len(plain) / 2

    refused_headers, refused = await raw_get(small_server, EVENTS_PATH, {"Accept-Encoding": "gzip;q=0, br"})
    assert "content-encoding" not in refused_headers and refused == plain


async def test_json_lines_are_offered_when_asked_for_with_the_same_events(small_server: RunningServer) -> None:
    _, plain = await raw_get(small_server, EVENTS_PATH, {})
    headers, lines = await raw_get(small_server, EVENTS_PATH, {"Accept": "application/x-ndjson"})
    assert headers["content-type"].startswith("application/x-ndjson")
    assert headers["x-last-seq"] == "19"
    assert [json.loads(line) for line in lines.split(b"\n")] == json.loads(plain)["events"]
    # A plain client's */* never gets JSON lines.
    any_headers, _ = await raw_get(small_server, EVENTS_PATH, {"Accept": "*/*"})
    assert any_headers["content-type"].startswith("application/json")


class CountingFrames(list[str]):
    """A campaign's frame list that counts the frames a page reads."""

    reads = 0

    def __getitem__(self, index: Any) -> Any:
        value = super().__getitem__(index)
        CountingFrames.reads += len(value) if isinstance(index, slice) else 1
        return value


async def test_a_memory_page_reads_its_own_frames_whatever_the_history_size() -> None:
    reads = []
    for history in (50, 5000):
        bus = MemoryBus()
        bus.publish_now("c", [json.dumps({"type": "iteration_started", "iteration": i + 1, "timestamp": "t"})
                              for i in range(history)])
        campaign = bus._campaigns["c"]
        campaign.frames = CountingFrames(campaign.frames)
        CountingFrames.reads = 0
        page = await bus.history("c", history // 2, 20)
        assert len(page.frames) == 20 and page.last_seq == history
        reads.append(CountingFrames.reads)
    assert reads == [20, 20]


def command_calls(client: redis.Redis) -> dict[str, int]:
    stats: dict[str, Any] = client.info("commandstats")
    return {name: value["calls"] for name, value in stats.items()}


@pytest.mark.redis
async def test_a_redis_page_costs_the_same_commands_and_rows_whatever_the_history_size(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    bus = RedisBus(redis_url)

    class Quiet:
        def on_frame(self, campaign_id: str, frame: str) -> None: ...
        def on_gap(self) -> None: ...

    await bus.start(Quiet())
    try:
        costs = []
        for history in (100, 10000):
            campaign_id = unique_campaign_id("paging")
            bodies = [json.dumps({"type": "iteration_started", "iteration": i + 1, "timestamp": "t"})
                      for i in range(history)]
            for start in range(0, history, 1000):
                await bus.publish(campaign_id, bodies[start : start + 1000])
            await bus.history(campaign_id, 0, 1)  # the script is loaded: later calls are EVALSHA only
            before = command_calls(client)
            page = await bus.history(campaign_id, history // 2, 40)
            after = command_calls(client)
            assert [json.loads(f)["seq"] for f in page.frames] == list(range(history // 2 + 1, history // 2 + 41))
            costs.append({name: after[name] - before.get(name, 0) for name in after
                          if after[name] != before.get(name, 0) and name != "cmdstat_info"})
        # One script call; inside it GET, LLEN and LRANGEs of 16 rows: 40 rows need 3.
        assert costs[0] == costs[1] == {
            "cmdstat_evalsha": 1, "cmdstat_get": 1, "cmdstat_llen": 1, "cmdstat_lrange": 3
        }
    finally:
        await bus.close()
        client.close()


@pytest.mark.parametrize("bus_name", ["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def test_pages_of_big_events_stop_at_the_byte_budget(bus_name: str, request: pytest.FixtureRequest) -> None:
    shape = Shape(4, 3000)  # events of ~1.3 MB: a 1,000-event page would be the whole history
    campaign_id = unique_campaign_id("budget")
    server = await _server_for(bus_name, shape, campaign_id, request)
    try:
        cursor, sizes = 0, []
        while cursor < shape.total_events:
            page = await server.bus.history(campaign_id, cursor, 1000)
            sizes.append(sum(map(len, page.frames)))
            assert page.frames, "no progress"
            cursor = json.loads(page.frames[-1])["seq"]
        assert len(sizes) > 1
        assert all(size <= MAX_PAGE_BYTES for size in sizes)
    finally:
        await server.close()


async def _server_for(bus_name: str, shape: Shape, campaign_id: str, request: pytest.FixtureRequest
                      ) -> RunningServer:
    if bus_name == "memory":
        return await memory_server(shape, campaign_id)
    url = request.getfixturevalue("redis_url")
    await asyncio.to_thread(publish_redis, url, campaign_id, shape)
    return await start_server("127.0.0.1", 0, bus=RedisBus(url), auth=NoAuth())


async def test_the_backfill_holds_one_event_of_a_page_not_the_page() -> None:
    # Pages of several big proposals: a source that parsed a whole page at once
    # would hold them all while the consumer folds the first.
    shape = Shape(8, 400)
    server = await memory_server(shape, "held")
    held = []
    try:
        source = WebSocketSource("held", ConnectionSettings(base_url=server.base_url, max_retries=0))
        async for item in source:
            if isinstance(item, EventReceived) and isinstance(item.event, CandidatesProposed):
                del item
                gc.collect()
                held.append(sum(isinstance(o, CandidatesProposed) for o in gc.get_objects()))
        await source.aclose()
    finally:
        await server.close()
    assert len(held) == shape.iterations
    assert max(held) <= 1, held


@pytest.mark.parametrize("bus_name", ["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def test_a_10k_candidate_history_arrives_intact_and_in_order(
    bus_name: str, request: pytest.FixtureRequest
) -> None:
    shape = Shape(10, 1000)
    campaign_id = unique_campaign_id("intact")
    server = await _server_for(bus_name, shape, campaign_id, request)
    state = CampaignState(campaign_id)
    received: list[dict[str, Any]] = []
    try:
        source = WebSocketSource(campaign_id, ConnectionSettings(base_url=server.base_url, max_retries=0))
        async for item in source:
            assert not isinstance(item, FrameRejected), item
            apply_item(state, item)
            if isinstance(item, EventReceived):
                received.append(dump_event(item.event))
        await source.aclose()
    finally:
        await server.close()
    assert [e["seq"] for e in received] == list(range(1, shape.total_events + 1))
    for got, text in zip(received, events(shape), strict=True):
        expected = dump_event(parse(text))  # type: ignore[arg-type]  # the generator's events are valid
        assert got["campaign_id"] == campaign_id
        assert {k: v for k, v in got.items() if k not in ("seq", "campaign_id", "timestamp")} == {
            k: v for k, v in expected.items() if k != "timestamp"
        }
    assert state.evaluations == shape.total_candidates
    assert len(state.candidates) == shape.total_candidates
    assert state.completed_iterations == shape.iterations


async def test_a_frame_over_16_mib_is_rejected_and_paging_goes_on_past_it() -> None:
    bus = MemoryBus()
    publisher = MemoryPublisher(bus)
    await publisher.set_metadata({"id": "huge"})
    huge = {"type": "candidates_proposed", "iteration": 1,
            "candidates": [{"id": f"c{i}-" + "x" * 200} for i in range(80_000)]}
    await publisher.publish_many("huge", [
        {"type": "iteration_started", "iteration": 1, "timestamp": "t"},
        huge,
        {"type": "iteration_completed", "iteration": 1, "best_value": 1.0, "pareto_size": 1},
        {"type": "campaign_completed", "total_iterations": 1, "total_evaluations": 0},
    ])
    assert len(bus._campaigns["huge"].frames[1]) > MAX_FRAME_BYTES
    server = await start_server("127.0.0.1", 0, bus=bus, auth=NoAuth())
    items: list[Any] = []
    try:
        source = WebSocketSource("huge", ConnectionSettings(base_url=server.base_url, max_retries=0))
        items = [item async for item in source if isinstance(item, (EventReceived, FrameRejected))]
        await source.aclose()
    finally:
        await server.close()
    rejected = [item.rejected for item in items if isinstance(item, FrameRejected)]
    assert [(r.kind, r.seq) for r in rejected] == [("too_large", 2)]
    assert [item.event.seq for item in items if isinstance(item, EventReceived)] == [1, 3, 4]


async def test_the_client_asks_for_json_lines_and_no_gzip_from_a_loopback_server() -> None:
    seen: list[dict[str, str]] = []

    async def history(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.json_response({"events": [], "last_seq": 0})

    app = web.Application()
    app.router.add_get("/api/v1/campaigns/{campaign_id}/events", history)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with RestClient(ConnectionSettings(base_url=f"http://127.0.0.1:{port}/api/v1")) as rest:
            pages = [page async for page in rest.events_after("c", 0)]
    finally:
        await runner.cleanup()
    assert pages == []
    assert seen[0]["Accept"].startswith("application/x-ndjson")
    assert seen[0]["Accept-Encoding"] == "identity"
