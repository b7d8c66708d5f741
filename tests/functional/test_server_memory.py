"""``serve`` in-process on the memory bus: REST, WebSocket, auth codes, publishing, fan-out."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import jwt
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from materia_tui.backend.publish import MemoryPublisher
from materia_tui.backend.server.app import RunningServer, start_server
from materia_tui.backend.server.auth import JwtAuth
from materia_tui.backend.server.bus import MemoryBus
from materia_tui.cli.main import run as cli_run
from tests.support.campaigns import campaign_events, campaign_meta
from tests.support.server_helpers import SECRET, receive_until_seq, seqs, wait_until

AUTH = JwtAuth(SECRET.encode())
READER = AUTH.mint(campaigns="*", ttl_seconds=600)
WRITER = AUTH.mint(campaigns="*", ttl_seconds=600, publish=True)


@pytest.fixture
async def bus() -> MemoryBus:
    return MemoryBus()


@pytest.fixture
async def server(bus: MemoryBus) -> AsyncIterator[RunningServer]:
    running = await start_server("127.0.0.1", 0, bus=bus, auth=AUTH)
    yield running
    await running.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def campaign(bus: MemoryBus) -> str:
    publisher = MemoryPublisher(bus)
    await publisher.set_metadata(campaign_meta("camp-a"))
    await publisher.set_metadata(campaign_meta("camp-b"))
    return "camp-a"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def get_json(http: aiohttp.ClientSession, url: str, token: str = READER) -> Any:
    async with http.get(url, headers=bearer(token)) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def test_rest_serves_metadata_and_history_in_pages(
    server: RunningServer, bus: MemoryBus, campaign: str, http: aiohttp.ClientSession
) -> None:
    publisher = MemoryPublisher(bus)
    for index in range(1200):
        await publisher.publish(campaign, {"type": "convergence_update", "metric": index / 10,
                                           "converged": False})
    listing = await get_json(http, f"{server.base_url}/campaigns")
    assert [c["id"] for c in listing["campaigns"]] == ["camp-a", "camp-b"]
    meta = await get_json(http, f"{server.base_url}/campaigns/{campaign}")
    assert meta == campaign_meta("camp-a")

    first = await get_json(http, f"{server.base_url}/campaigns/{campaign}/events?limit=5000")
    assert len(first["events"]) == 1000  # the cap
    assert first["last_seq"] == 1200
    assert seqs(first["events"]) == list(range(1, 1001))
    rest = await get_json(http, f"{server.base_url}/campaigns/{campaign}/events?after_seq=1000&limit=150")
    assert seqs(rest["events"]) == list(range(1001, 1151))
    assert rest["events"][0]["metric"] == 100.0 and rest["events"][0]["campaign_id"] == campaign
    empty = await get_json(http, f"{server.base_url}/campaigns/{campaign}/events?after_seq=1200")
    assert empty == {"events": [], "last_seq": 1200}
    for bad in ("after_seq=-1", "after_seq=x", "limit=0"):
        async with http.get(f"{server.base_url}/campaigns/{campaign}/events?{bad}",
                            headers=bearer(READER)) as response:
            assert response.status == 400


async def test_websocket_forwards_every_live_event_once_in_order(
    server: RunningServer, bus: MemoryBus, campaign: str
) -> None:
    events = campaign_events(campaign_id=campaign, iterations=4)
    async with connect(server.websocket_url(campaign), additional_headers=bearer(READER)) as ws, \
            connect(f"{server.websocket_url(campaign)}?token={READER}") as browser:
        publisher = MemoryPublisher(bus)
        for event in events:
            await publisher.publish(campaign, event)
        received = await receive_until_seq(ws, len(events), [])
        via_query = await receive_until_seq(browser, len(events), [])
    assert seqs(received) == list(range(1, len(events) + 1))
    assert via_query == received
    # publishing stamps campaign_id and keeps the event's own timestamp
    assert [e["timestamp"] for e in received] == [e["timestamp"] for e in events]
    assert {e["campaign_id"] for e in received} == {campaign}


async def test_events_of_other_campaigns_are_not_forwarded(
    server: RunningServer, bus: MemoryBus, campaign: str
) -> None:
    publisher = MemoryPublisher(bus)
    async with connect(server.websocket_url("camp-b"), additional_headers=bearer(READER)) as ws:
        await publisher.publish(campaign, {"type": "iteration_started", "iteration": 1})
        await publisher.publish("camp-b", {"type": "iteration_started", "iteration": 7})
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert frame["iteration"] == 7 and frame["campaign_id"] == "camp-b" and frame["seq"] == 1


def _expired() -> str:
    return jwt.encode({"exp": int(time.time()) - 60}, SECRET.encode(), algorithm="HS256")


AUTH_CASES = [
    ("no token", None, "camp-a", 401),
    ("bad signature", jwt.encode({"campaigns": "*"}, b"w" * 40, algorithm="HS256"), "camp-a", 401),
    ("expired", "EXPIRED", "camp-a", 401),
    ("wrong scope", AUTH.mint(campaigns=["camp-b"]), "camp-a", 403),
    ("scope before existence", AUTH.mint(campaigns=["camp-b"]), "nowhere", 403),
    ("unknown campaign", READER, "nowhere", 404),
    ("invalid campaign id", READER, "-bad", 404),
]


@pytest.mark.parametrize(
    ("case", "token", "campaign_id", "status"), AUTH_CASES, ids=[c[0] for c in AUTH_CASES]
)
async def test_auth_status_codes_on_rest_and_websocket(
    server: RunningServer, campaign: str, http: aiohttp.ClientSession,
    case: str, token: str | None, campaign_id: str, status: int,
) -> None:
    token = _expired() if token == "EXPIRED" else token
    headers = bearer(token) if token else {}
    for path in (f"/campaigns/{campaign_id}", f"/campaigns/{campaign_id}/events"):
        async with http.get(server.base_url + path, headers=headers) as response:
            assert response.status == status, (case, path)
            body = await response.json()
            assert "error" in body
            if token:
                assert token not in json.dumps(body)
    with pytest.raises(InvalidStatus) as caught:
        async with connect(server.websocket_url(campaign_id), additional_headers=headers):
            pass
    assert caught.value.response.status_code == status
    if token:  # the browser form of the token gets the same answer
        with pytest.raises(InvalidStatus) as caught:
            async with connect(f"{server.websocket_url(campaign_id)}?token={token}"):
                pass
        assert caught.value.response.status_code == status


async def test_campaign_list_shows_only_the_token_scope(
    server: RunningServer, campaign: str, http: aiohttp.ClientSession
) -> None:
    listing = await get_json(http, f"{server.base_url}/campaigns", AUTH.mint(campaigns=["camp-b"]))
    assert [c["id"] for c in listing["campaigns"]] == ["camp-b"]
    async with http.get(f"{server.base_url}/campaigns") as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_token_expiring_while_connected_closes_with_4401(
    server: RunningServer, campaign: str
) -> None:
    token = AUTH.mint(ttl_seconds=1)
    async with connect(server.websocket_url(campaign), additional_headers=bearer(token)) as ws:
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code == 4401


async def test_http_publishing_needs_the_publish_claim_and_valid_events(
    server: RunningServer, campaign: str, http: aiohttp.ClientSession
) -> None:
    url = f"{server.base_url}/campaigns/{campaign}/events"
    event = {"type": "iteration_started", "iteration": 1, "seq": 99, "timestamp": "2026-01-01T00:00:00Z"}
    async with http.post(url, json=event) as response:
        assert response.status == 401
    async with http.post(url, json=event, headers=bearer(READER)) as response:
        assert response.status == 403
    scoped_writer = AUTH.mint(campaigns=["camp-b"], publish=True)
    async with http.post(url, json=event, headers=bearer(scoped_writer)) as response:
        assert response.status == 403
    async with connect(server.websocket_url(campaign), additional_headers=bearer(READER)) as ws:
        async with http.post(url, json=event, headers=bearer(WRITER)) as response:
            assert response.status == 200
            assert await response.json() == {"seqs": [1]}
        batch = [{"type": "convergence_update", "metric": 0.5, "converged": False},
                 {"type": "iteration_completed", "iteration": 1, "best_value": 3.5, "pareto_size": 1}]
        async with http.post(url, json=batch, headers=bearer(WRITER)) as response:
            assert await response.json() == {"seqs": [2, 3]}
        live = await receive_until_seq(ws, 3, [])
    assert live[0]["seq"] == 1 and live[0]["timestamp"] == "2026-01-01T00:00:00Z"
    assert live[1]["timestamp"]  # assigned by the server
    bad_batch = [batch[0], {"type": "iteration_completed", "iteration": "one"}]
    async with http.post(url, json=bad_batch, headers=bearer(WRITER)) as response:
        assert response.status == 400
        assert "event 1" in (await response.json())["error"]
    async with http.post(url, data="[{", headers=bearer(WRITER)) as response:
        assert response.status == 400
    history = await get_json(http, url)
    assert history["last_seq"] == 3  # nothing of the bad batch was published


async def test_http_metadata_endpoint(
    server: RunningServer, campaign: str, http: aiohttp.ClientSession
) -> None:
    url = f"{server.base_url}/campaigns/camp-new"
    meta = campaign_meta("camp-new") | {"custom": "kept"}
    async with http.put(url, json=meta, headers=bearer(READER)) as response:
        assert response.status == 403
    async with http.put(url, json=meta | {"id": "other"}, headers=bearer(WRITER)) as response:
        assert response.status == 400
    async with http.put(url, json=meta, headers=bearer(WRITER)) as response:
        assert response.status == 200
    assert await get_json(http, url) == meta


async def test_a_slow_client_does_not_delay_a_fast_one_and_is_closed_with_1013(
    bus: MemoryBus, campaign: str
) -> None:
    server = await start_server("127.0.0.1", 0, bus=bus, auth=AUTH, queue_size=64)
    # 400 frames of 64 KiB (25 MiB) overflow the kernel's socket buffers, so a
    # client that stops reading really stops the server's writes to it.
    padding = "x" * 65536
    count = 400
    url = server.websocket_url(campaign)
    async with connect(url, additional_headers=bearer(READER), max_queue=1) as slow, \
            connect(url, additional_headers=bearer(READER), max_size=None) as fast:
        publisher = MemoryPublisher(bus)
        received: list[dict[str, Any]] = []
        reader = asyncio.create_task(receive_until_seq(fast, count, received, timeout=30))
        for index in range(count):
            await publisher.publish(campaign, {"type": "campaign_error", "error": padding,
                                               "iteration": index + 1, "fatal": False})
            # Paced by the fast client: it may lag at most 32 frames, so only the
            # slow one can overflow; a fan-out that waited on the slow one stalls here.
            if index >= 32:
                def caught_up(target: int = index - 32) -> bool:
                    return len(received) >= target

                await wait_until(caught_up, what="the fast client")
        await reader
        assert seqs(received) == list(range(1, count + 1))
        await wait_until(lambda: server.fanout.overflow_closes == 1, what="the slow client's 1013")
        assert server.fanout.overflow_closes == 1  # never the fast one
        slow_frames = 0
        with pytest.raises(ConnectionClosed):
            async with asyncio.timeout(30):
                while True:
                    await slow.recv()
                    slow_frames += 1
        assert slow.close_code == 1013
        assert slow_frames < count
    await server.close()


async def test_close_says_going_away_to_clients(bus: MemoryBus, campaign: str) -> None:
    running = await start_server("127.0.0.1", 0, bus=bus, auth=AUTH)
    async with connect(running.websocket_url(campaign), additional_headers=bearer(READER)) as ws:
        await running.close()
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code == 1001


def test_no_auth_is_refused_off_loopback_and_a_secret_is_required(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MATERIA_JWT_SECRET", raising=False)
    assert cli_run(["serve", "--host", "0.0.0.0", "--no-auth"]) == 2
    assert "--allow-remote-no-auth" in capsys.readouterr().err
    assert cli_run(["serve", "--port", "0"]) == 2
    assert "MATERIA_JWT_SECRET" in capsys.readouterr().err
    monkeypatch.setenv("MATERIA_JWT_SECRET", "short")
    assert cli_run(["serve", "--port", "0"]) == 2
    assert "short" not in capsys.readouterr().err


def test_token_command_mints_a_scoped_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MATERIA_JWT_SECRET", SECRET)
    assert cli_run(["token", "--campaigns", "a,b", "--ttl", "2h", "--publish", "--subject", "ci"]) == 0
    token = capsys.readouterr().out.strip()
    claims = jwt.decode(token, SECRET.encode(), algorithms=["HS256"])
    assert claims["campaigns"] == ["a", "b"] and claims["publish"] is True and claims["sub"] == "ci"
    assert 7100 < claims["exp"] - time.time() <= 7200
    assert cli_run(["token", "--campaigns", "ok,-bad"]) == 2
    assert SECRET not in capsys.readouterr().err


def test_serve_reports_an_unreachable_redis_without_its_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MATERIA_JWT_SECRET", SECRET)
    assert cli_run(["serve", "--port", "0", "--redis", "redis://:hunter2@127.0.0.1:1/0"]) == 1
    err = capsys.readouterr().err
    assert "Cannot reach Redis at 127.0.0.1:1" in err and "hunter2" not in err
