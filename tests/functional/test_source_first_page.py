"""FirstPageSource (the monitor's source: the first history page over a plain GET, then
WebSocketSource) against the real scripted server on 127.0.0.1: the same events and
rejections as WebSocketSource, once each and in order; the live source waits for the
viewer's first frame; every failure is reported as WebSocketSource reports it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import trustme

from materia_tui.errors import AuthError, MateriaError, NotFoundError, UsageError
from materia_tui.source import (
    ConnectionChanged,
    EventReceived,
    FrameRejected,
    MetadataReceived,
    first_frame_shown,
)
from materia_tui.source.first_page import FirstPageSource, fetch_first_page
from materia_tui.source.rest import FIRST_PAGE_LIMIT
from materia_tui.source.websocket import WebSocketSource
from tests.functional import test_source_tls
from tests.support import Collected, campaign_events, collect, fast_settings, wait_until
from tests.support.scripted_server import ScriptedServer

CAMPAIGN = "camp-first"
# The https server of test_source_tls (its fixtures, used here by name) and its campaign.
authority, tls_server, TLS_CAMPAIGN = (
    test_source_tls.authority,
    test_source_tls.tls_server,
    test_source_tls.CAMPAIGN,
)
NEVER = 3600.0  # patience for the first frame that a test must not end up waiting out


def outline(collected: Collected) -> list[tuple[str, int | None]]:
    """The events and rejections as (kind, seq): what the state folds."""
    shown: list[tuple[str, int | None]] = []
    for item in collected.items:
        if isinstance(item, EventReceived):
            shown.append((item.event.type, item.event.seq))
        elif isinstance(item, FrameRejected):
            shown.append((f"rejected {item.rejected.kind}", item.rejected.seq))
    return shown


async def test_first_page_then_live_only_after_the_first_frame_everything_once(
    scripted_server: ScriptedServer,
) -> None:
    script = campaign_events(iterations=8)  # 39 events: the first page holds 16 of the history
    history, live = script[:30], script[30:]
    scripted_server.add_campaign(CAMPAIGN, events=history)
    source = FirstPageSource(
        CAMPAIGN, fast_settings(scripted_server.base_url), wait_for_first_frame=True, patience=NEVER
    )
    collected = Collected()
    consumer = asyncio.create_task(collect(source, collected, timeout=15))

    await wait_until(lambda: len(collected.seqs) == FIRST_PAGE_LIMIT)
    await asyncio.sleep(0.1)
    assert scripted_server.ws_handshakes == 0 and source.live is None  # waiting for the frame
    assert collected.statuses == ["connecting", "backfilling"] and isinstance(collected.items[1], MetadataReceived)
    # The history runs past the first page: announced before it, as the live source would.
    assert collected.items[2] == ConnectionChanged("backfilling", history=(0, len(history)))

    first_frame_shown(source)
    await wait_until(lambda: "live" in collected.statuses)
    assert source.live is not None and scripted_server.ws_handshakes == 1
    for event in live:
        await scripted_server.publish(CAMPAIGN, event)
    await consumer
    assert collected.seqs == list(range(1, len(script) + 1))
    # The live source's first "connecting" would flash between the first page and the rest.
    assert collected.statuses == ["connecting", "backfilling", "backfilling", "live", "closed"]
    # The live source's metadata, the same as the first page's, is not handed on again.
    assert sum(isinstance(item, MetadataReceived) for item in collected.items) == 1


async def test_a_history_of_many_pages_is_announced_from_its_start_and_never_says_connecting(
    scripted_server: ScriptedServer,
) -> None:
    script = campaign_events(iterations=20)
    scripted_server.add_campaign(CAMPAIGN, events=script)
    source = FirstPageSource(CAMPAIGN, fast_settings(scripted_server.base_url))
    collected = await collect(source, Collected(), timeout=15)
    assert collected.seqs == list(range(1, len(script) + 1))
    announced = [i.history for i in collected.items if isinstance(i, ConnectionChanged) and i.history]
    # The first page's announcement, then the live source's own (its next page is not the
    # last either), which keeps the first one's start: the share loaded never falls back.
    assert announced == [(0, len(script)), (0, len(script))]
    assert "connecting" not in collected.statuses[1:]


async def test_metadata_that_changed_before_the_live_source_connected_is_handed_on(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.add_campaign(CAMPAIGN, events=campaign_events(iterations=8)[:30])
    source = FirstPageSource(
        CAMPAIGN, fast_settings(scripted_server.base_url), wait_for_first_frame=True, patience=NEVER
    )
    collected = Collected()
    consumer = asyncio.create_task(collect(source, collected, timeout=15))
    await wait_until(lambda: len(collected.seqs) == FIRST_PAGE_LIMIT)
    scripted_server.set_status(CAMPAIGN, "pending")
    first_frame_shown(source)
    await wait_until(lambda: "live" in collected.statuses)
    consumer.cancel()
    metadata = [item.campaign.status for item in collected.items if isinstance(item, MetadataReceived)]
    assert metadata == ["running", "pending"]


def with_garbage() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = campaign_events(iterations=2)
    events.insert(2, {"type": "iteration_started", "iteration": "one", "timestamp": "t"})  # malformed
    events.insert(4, {"type": "no_such_event"})
    return events


def ended_in_first_page() -> list[dict[str, Any]]:
    return campaign_events(iterations=1)  # 5 events, the last completes the campaign


def failed_in_first_page() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = campaign_events(iterations=1, complete=False)
    return [*events, {"type": "campaign_error", "error": "out of budget", "fatal": True}, *events[:2]]


@pytest.mark.parametrize("history", [with_garbage, ended_in_first_page, failed_in_first_page])
async def test_the_same_events_and_rejections_as_the_websocket_source(
    scripted_server: ScriptedServer, history: Any
) -> None:
    scripted_server.add_campaign(CAMPAIGN, {"status": "failed"}, events=history())
    settings = fast_settings(scripted_server.base_url)
    expected = await collect(WebSocketSource(CAMPAIGN, settings), Collected(), timeout=5)
    if expected.statuses[-1] != "closed":
        pytest.fail("the reference source did not end")  # the script must end the campaign

    got = await collect(FirstPageSource(CAMPAIGN, settings), Collected(), timeout=5)
    assert outline(got) == outline(expected) and outline(got)
    assert got.statuses[-1] == "closed"


async def test_a_campaign_ended_in_the_first_page_ends_and_needs_no_first_frame(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.add_campaign(CAMPAIGN, events=ended_in_first_page())
    source = FirstPageSource(CAMPAIGN, fast_settings(scripted_server.base_url), wait_for_first_frame=True)
    source.first_frame_shown()  # a viewer that painted before the page came: no wait at all
    collected = await collect(source, Collected(), timeout=5)
    assert collected.seqs == [1, 2, 3, 4, 5] and collected.statuses[-1] == "closed"


@pytest.mark.parametrize(
    ("token", "forbidden", "error", "text"),
    [
        ("not-the-right-token", set(), AuthError, "HTTP 401"),
        ("other-user-token", {"other-user-token"}, AuthError, "HTTP 403"),
    ],
)
async def test_auth_rejections_are_the_websocket_sources_without_waiting_for_a_frame(
    scripted_server: ScriptedServer, token: str, forbidden: set[str], error: type[MateriaError], text: str
) -> None:
    scripted_server.add_campaign(CAMPAIGN, events=ended_in_first_page())
    scripted_server.forbidden_tokens = forbidden
    settings = fast_settings(scripted_server.base_url, token=token)
    source = FirstPageSource(CAMPAIGN, settings, wait_for_first_frame=True, patience=NEVER)
    collected = Collected()
    with pytest.raises(error, match=text) as caught:
        await collect(source, collected, timeout=10)
    assert token not in str(caught.value)
    assert not collected.seqs and not any(isinstance(i, MetadataReceived) for i in collected.items)


async def test_an_unknown_campaign_is_not_found(scripted_server: ScriptedServer) -> None:
    source = FirstPageSource("camp-404", fast_settings(scripted_server.base_url), wait_for_first_frame=True)
    with pytest.raises(NotFoundError, match="camp-404"):
        await collect(source, Collected(), timeout=10)


async def test_broken_rest_leaves_the_history_to_the_live_source(scripted_server: ScriptedServer) -> None:
    script = campaign_events(iterations=2)
    scripted_server.add_campaign(CAMPAIGN, events=script[:3])
    scripted_server.rest_status = 500
    source = FirstPageSource(
        CAMPAIGN, fast_settings(scripted_server.base_url), wait_for_first_frame=True, patience=NEVER
    )
    collected = Collected()
    consumer = asyncio.create_task(collect(source, collected, timeout=15))
    await scripted_server.wait_for_handshakes(2)  # no first page: the live source started at once
    scripted_server.rest_status = None
    await wait_until(lambda: "live" in collected.statuses)
    for event in script[3:]:
        await scripted_server.publish(CAMPAIGN, event)
    await consumer
    assert collected.seqs == list(range(1, len(script) + 1))


async def test_a_proxy_in_the_environment_leaves_the_requests_to_httpx(
    scripted_server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripted_server.add_campaign(CAMPAIGN, events=ended_in_first_page())
    settings = fast_settings(scripted_server.base_url)
    assert (await fetch_first_page(CAMPAIGN, settings))[1] is not None and scripted_server.rest_requests == 2
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    assert await fetch_first_page(CAMPAIGN, settings) == (None, None)
    assert scripted_server.rest_requests == 2


async def test_closing_while_it_waits_for_the_first_frame(scripted_server: ScriptedServer) -> None:
    scripted_server.add_campaign(CAMPAIGN, events=campaign_events(iterations=1, complete=False))
    source = FirstPageSource(
        CAMPAIGN, fast_settings(scripted_server.base_url), wait_for_first_frame=True, patience=NEVER
    )
    items = [await anext(source) for _ in range(6)]  # connecting, metadata, 4 events
    assert isinstance(items[0], ConnectionChanged) and isinstance(items[-1], EventReceived)
    pending = asyncio.ensure_future(anext(source))
    await asyncio.sleep(0.05)
    pending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pending
    await source.aclose()
    assert scripted_server.ws_handshakes == 0


async def test_over_tls_the_first_page_trusts_what_the_settings_trust(
    tls_server: ScriptedServer, authority: trustme.CA, tmp_path: Path
) -> None:
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    trusted = fast_settings(tls_server.base_url, ca_bundle=str(bundle))
    campaign, page = await fetch_first_page(TLS_CAMPAIGN, trusted)
    assert campaign is not None and page is not None
    assert len(page) == min(FIRST_PAGE_LIMIT, len(tls_server.history(TLS_CAMPAIGN)))
    assert await fetch_first_page(TLS_CAMPAIGN, fast_settings(tls_server.base_url)) == (None, None)
    insecure = await fetch_first_page(TLS_CAMPAIGN, fast_settings(tls_server.base_url, insecure=True))
    assert insecure[1] is not None


async def test_an_untrusted_certificate_is_the_live_sources_error(tls_server: ScriptedServer) -> None:
    source = FirstPageSource(
        TLS_CAMPAIGN, fast_settings(tls_server.base_url), wait_for_first_frame=True, patience=NEVER
    )
    with pytest.raises(UsageError, match="certificate verification failed"):
        await collect(source, Collected(), timeout=10)
