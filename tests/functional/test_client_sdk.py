"""The SDK (sync Client in a background thread, AsyncClient) against the real scripted server."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from materia_tui.client import AsyncClient, Client
from materia_tui.errors import AuthError, NotFoundError, UsageError
from materia_tui.protocol import CampaignCompleted, IterationStarted
from materia_tui.source.rest import RestUnavailableError
from tests.support import campaign_events
from tests.support.scripted_server import DEFAULT_TOKEN, ScriptedServer, ServerThread

CAMPAIGN = "camp-sdk"


@pytest.fixture
def server(scripted_server: ScriptedServer) -> ScriptedServer:
    """The started scripted server (tests/functional/conftest.py), under a short name."""
    return scripted_server


@pytest.fixture
def threaded_server() -> Iterator[ServerThread]:
    server = ScriptedServer()
    server.add_campaign(CAMPAIGN, events=campaign_events(iterations=3))
    server.add_campaign("camp-other", {"status": "completed"})
    with ServerThread(server) as thread:
        yield thread


def stream_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "materia-stream"]


def test_sync_stream_yields_typed_events_until_the_campaign_ends(threaded_server: ServerThread) -> None:
    with Client(threaded_server.server.base_url, token=DEFAULT_TOKEN) as client:
        events = list(client.campaigns.stream(CAMPAIGN))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert isinstance(events[0], IterationStarted)
    assert isinstance(events[-1], CampaignCompleted)
    assert not stream_threads()


def test_sync_stream_gets_live_events_published_from_another_thread(threaded_server: ServerThread) -> None:
    server = threaded_server.server
    server.add_campaign("camp-live")
    script = campaign_events(iterations=2)
    with Client(server.base_url, token=DEFAULT_TOKEN) as client:
        stream = client.campaigns.stream("camp-live")
        threaded_server.call(server.publish("camp-live", script[0]))
        first = next(stream)  # arrives by backfill or live, whichever the race picks
        threaded_server.call(server.wait_for_clients("camp-live"))
        for event in script[1:]:
            threaded_server.call(server.publish("camp-live", event))
        rest = list(stream)
    assert [first.seq, *(e.seq for e in rest)] == list(range(1, len(script) + 1))


def test_break_stops_the_stream_thread(threaded_server: ServerThread) -> None:
    threaded_server.server.add_campaign("camp-endless", events=campaign_events(iterations=1, complete=False))
    client = Client(threaded_server.server.base_url, token=DEFAULT_TOKEN)
    for event in client.campaigns.stream("camp-endless"):
        assert event.seq == 1
        break
    assert not stream_threads()
    threaded_server.call(threaded_server.server.wait_for_no_clients("camp-endless"))


def test_sync_get_and_list(threaded_server: ServerThread) -> None:
    client = Client(threaded_server.server.base_url, token=DEFAULT_TOKEN)
    campaign = client.campaigns.get(CAMPAIGN)
    assert campaign.id == CAMPAIGN and campaign.status == "running"
    assert campaign.objectives[0].name == "water_flux"
    assert {c.id for c in client.campaigns.list()} == {CAMPAIGN, "camp-other"}


def test_final_errors_raise_in_the_callers_thread(threaded_server: ServerThread) -> None:
    base = threaded_server.server.base_url
    with pytest.raises(NotFoundError):
        list(Client(base, token=DEFAULT_TOKEN).campaigns.stream("camp-missing"))
    with pytest.raises(AuthError) as caught:
        list(Client(base, token="expired-token-123").campaigns.stream(CAMPAIGN))
    assert "expired-token-123" not in str(caught.value)
    with pytest.raises(AuthError):
        Client(base, token="expired-token-123").campaigns.get(CAMPAIGN)
    with pytest.raises(UsageError):
        Client(base, token=DEFAULT_TOKEN).campaigns.stream("bad id!")
    with pytest.raises(UsageError):
        Client("ftp://example.invalid", token=DEFAULT_TOKEN)
    assert not stream_threads()


def test_unreachable_rest_raises_a_transient_error() -> None:
    server = ScriptedServer()
    with ServerThread(server):
        base = server.base_url
    with pytest.raises(RestUnavailableError, match="Could not reach"):
        Client(base, token=DEFAULT_TOKEN).campaigns.get(CAMPAIGN)


def test_token_is_not_in_repr() -> None:
    client = Client("http://127.0.0.1:9/api/v1", token="super-secret-token")
    async_client = AsyncClient("http://127.0.0.1:9/api/v1", token="super-secret-token")
    for text in (repr(client), str(client), repr(async_client), repr(client._settings)):
        assert "super-secret-token" not in text


async def test_async_client_streams_and_reads_metadata(server: ScriptedServer) -> None:
    script = campaign_events(iterations=2)
    server.add_campaign(CAMPAIGN, events=script)
    async with AsyncClient(server.base_url, token=DEFAULT_TOKEN) as client:
        campaign = await client.campaigns.get(CAMPAIGN)
        listed = await client.campaigns.list()
        seqs = [event.seq async for event in client.campaigns.stream(CAMPAIGN, after_seq=2)]
    assert campaign.name == f"Campaign {CAMPAIGN}"
    assert [c.id for c in listed] == [CAMPAIGN]
    assert seqs == list(range(3, len(script) + 1))
