"""Two real ``serve`` processes on one real Redis: every event once, in order, wherever a client connects."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from materia_tui.backend.publish import AsyncPublisher
from materia_tui.backend.server.auth import JwtAuth
from materia_tui.protocol import dump_event
from materia_tui.source import EventReceived
from materia_tui.source.settings import ConnectionSettings
from materia_tui.source.websocket import WebSocketSource
from tests.support.campaigns import campaign_events, campaign_meta
from tests.support.redis_server import redis_url, unique_campaign_id
from tests.support.serve_process import ServeProcess, start_serve
from tests.support.server_helpers import SECRET, receive_until_seq, seqs, wait_until
from tests.support.tcp_proxy import FailoverProxy

__all__ = ["redis_url"]  # the fixture, imported for pytest

pytestmark = pytest.mark.redis

TOKEN = JwtAuth(SECRET.encode()).mint(campaigns="*", ttl_seconds=600)
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def servers(redis_url: str) -> AsyncIterator[list[ServeProcess]]:
    pair = await asyncio.gather(*(start_serve("--redis", redis_url, secret=SECRET) for _ in range(2)))
    yield list(pair)
    for server in pair:
        server.kill()
        await server.process.wait()


@pytest.fixture
async def publisher(redis_url: str) -> AsyncIterator[AsyncPublisher]:
    async with AsyncPublisher(redis_url) as pub:
        yield pub


async def new_campaign(publisher: AsyncPublisher, iterations: int = 4) -> tuple[str, list[dict[str, Any]]]:
    campaign_id = unique_campaign_id()
    await publisher.set_metadata(campaign_meta(campaign_id))
    events = campaign_events(campaign_id=campaign_id, iterations=iterations, batch=3)
    return campaign_id, events


def ws_url(server: ServeProcess, campaign_id: str) -> str:
    return f"ws://127.0.0.1:{server.port}/ws/campaigns/{campaign_id}"


def settings_for(port: int) -> ConnectionSettings:
    return ConnectionSettings(base_url=f"http://127.0.0.1:{port}/api/v1", token=TOKEN,
                              backoff_initial=0.05, backoff_max=0.2, open_timeout=5.0)


def without_envelope(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in ("seq", "campaign_id")}


async def test_clients_on_both_servers_receive_every_event_once_in_order(
    servers: list[ServeProcess], publisher: AsyncPublisher
) -> None:
    campaign_id, events = await new_campaign(publisher)
    async with connect(ws_url(servers[0], campaign_id), additional_headers=HEADERS) as first, \
            connect(ws_url(servers[1], campaign_id), additional_headers=HEADERS) as second:
        for event in events:
            await publisher.publish(campaign_id, event)
        on_first, on_second = await asyncio.gather(
            receive_until_seq(first, len(events), []), receive_until_seq(second, len(events), []))
        # nothing more arrives: every event came exactly once
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(first.recv(), 0.2)
    assert seqs(on_first) == list(range(1, len(events) + 1))
    assert on_second == on_first
    assert [without_envelope(e) for e in on_first] == [without_envelope(e) for e in events]
    async with aiohttp.ClientSession() as http:
        for server in servers:
            url = f"{server.base_url}/campaigns/{campaign_id}/events"
            async with http.get(url, headers=HEADERS) as response:
                assert await response.json() == {"events": on_first, "last_seq": len(events)}
            async with http.get(f"{server.base_url}/campaigns/{campaign_id}", headers=HEADERS) as response:
                assert (await response.json())["name"] == "RO membrane screen"


async def test_a_client_switched_to_the_other_server_ends_with_the_whole_history(
    servers: list[ServeProcess], publisher: AsyncPublisher
) -> None:
    campaign_id, events = await new_campaign(publisher)
    half = len(events) // 2
    held: list[dict[str, Any]] = []
    source = WebSocketSource(campaign_id, settings_for(servers[0].port))
    for event in events[:half]:
        await publisher.publish(campaign_id, event)
    async for item in source:
        if isinstance(item, EventReceived):
            held.append(dump_event(item.event))
            if item.event.seq == half - 2:
                break
    await source.aclose()
    for event in events[half:-3]:  # published while the client is away
        await publisher.publish(campaign_id, event)
    resumed = WebSocketSource(campaign_id, settings_for(servers[1].port), after_seq=held[-1]["seq"])
    publishing_rest = asyncio.create_task(_publish_later(publisher, campaign_id, events[-3:]))
    async for item in resumed:  # ends at campaign_completed
        if isinstance(item, EventReceived):
            held.append(dump_event(item.event))
    await publishing_rest
    assert seqs(held) == list(range(1, len(events) + 1))


async def _publish_later(publisher: AsyncPublisher, campaign_id: str, events: list[dict[str, Any]]) -> None:
    for event in events:
        await asyncio.sleep(0.02)  # pacing a producer, not waiting for a condition
        await publisher.publish(campaign_id, event)


async def test_a_server_killed_mid_campaign_loses_nothing_for_a_client_that_reconnects(
    servers: list[ServeProcess], publisher: AsyncPublisher
) -> None:
    campaign_id, events = await new_campaign(publisher, iterations=6)
    proxy = await FailoverProxy([servers[0].port, servers[1].port]).start()
    held: list[int] = []
    source = WebSocketSource(campaign_id, settings_for(proxy.port))

    async def consume() -> None:
        async for item in source:
            if isinstance(item, EventReceived) and item.event.seq is not None:
                held.append(item.event.seq)

    consumer = asyncio.create_task(consume())
    half = len(events) // 2
    for event in events[:half]:
        await publisher.publish(campaign_id, event)
    await wait_until(lambda: len(held) >= half, what="the first half through server A")
    assert proxy.connections_by_port.get(servers[1].port, 0) == 0
    servers[0].kill()
    await servers[0].process.wait()
    for event in events[half:]:  # some published while the client has no server at all
        await publisher.publish(campaign_id, event)
    await asyncio.wait_for(consumer, 20)
    await proxy.close()
    assert held == list(range(1, len(events) + 1))
    assert proxy.connections_by_port[servers[1].port] >= 1


async def test_sigterm_closes_clients_with_1001_and_exits_cleanly(
    servers: list[ServeProcess], publisher: AsyncPublisher
) -> None:
    campaign_id, _ = await new_campaign(publisher)
    async with connect(ws_url(servers[0], campaign_id), additional_headers=HEADERS) as ws:
        await asyncio.sleep(0)
        assert await servers[0].stop(signal.SIGTERM) == 0
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code == 1001


async def test_real_process_rejects_bad_tokens_and_unknown_campaigns(
    servers: list[ServeProcess], publisher: AsyncPublisher
) -> None:
    campaign_id, _ = await new_campaign(publisher)
    scoped = JwtAuth(SECRET.encode()).mint(campaigns=["elsewhere"])
    cases = [({}, campaign_id, 401), ({"Authorization": f"Bearer {scoped}"}, campaign_id, 403),
             (HEADERS, unique_campaign_id(), 404)]
    for headers, target, status in cases:
        with pytest.raises(InvalidStatus) as caught:
            async with connect(ws_url(servers[1], target), additional_headers=headers):
                pass
        assert caught.value.response.status_code == status
    servers[1].kill()
    await servers[1].process.wait()
    logged = servers[1].stderr_text()
    assert TOKEN not in logged and scoped not in logged and SECRET not in logged
