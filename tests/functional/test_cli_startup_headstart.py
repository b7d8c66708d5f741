"""HeadStart (the source started before the monitor exists) against the real scripted
server on 127.0.0.1: the history is folded into the state before any consumer, the
consumer takes over with nothing lost or doubled, errors and the end still reach it."""

from __future__ import annotations

import asyncio
import gc
import sys
from typing import Any

import pytest

from materia_tui.cli import watch
from materia_tui.cli.headstart import HeadStart
from materia_tui.cli.main import run as run_cli
from materia_tui.errors import AuthError, ExitCode
from materia_tui.source import ConnectionChanged, EventReceived, MetadataReceived, first_frame_shown
from materia_tui.source.first_page import FirstPageSource
from materia_tui.source.websocket import WebSocketSource
from materia_tui.state import CampaignState, Note
from tests.support import Collected, campaign_events, collect, fast_settings, wait_until
from tests.support.campaigns import campaign_meta
from tests.support.scripted_server import ScriptedServer

CAMPAIGN = "camp-head"


def applied_seqs(state: CampaignState) -> list[int | None]:
    return [entry.item.seq for entry in state.log if not isinstance(entry.item, Note)]


def seqs_of(collected: Collected) -> list[int | None]:
    return [item.event.seq for item in collected.items if isinstance(item, EventReceived)]


async def test_history_is_in_the_state_before_any_consumer_and_handed_over_once(
    scripted_server: ScriptedServer,
) -> None:
    script = campaign_events(iterations=3)  # 16 events, the last completes the campaign
    history, live = script[:10], script[10:]
    scripted_server.add_campaign(CAMPAIGN, meta=campaign_meta(CAMPAIGN), events=history)
    state = CampaignState(CAMPAIGN)
    head = HeadStart(WebSocketSource(CAMPAIGN, fast_settings(scripted_server.base_url)), state)
    seen_data: list[int] = []
    head.on_data = lambda: seen_data.append(state.counters.applied)

    # Nobody consumes yet: the head start alone connects, fetches metadata and history.
    await wait_until(lambda: state.last_seq == 10)
    await scripted_server.wait_for_clients(CAMPAIGN)
    assert state.metadata is not None and state.metadata.name == "RO membrane screen"
    assert applied_seqs(state) == list(range(1, 11))
    assert head.received_data and seen_data == [0]  # called once, for the metadata (before any event)

    for event in live[:3]:  # arrive before the consumer: folded too, or pending for it
        await scripted_server.publish(CAMPAIGN, event)
    await asyncio.sleep(0.05)
    folded_before = state.last_seq

    collected = Collected()
    consumer = asyncio.create_task(collect(head, collected, timeout=15))
    await wait_until(lambda: bool(collected.items))
    first = collected.items[0]
    assert isinstance(first, ConnectionChanged) and first.status == "live"  # the current status, first
    for event in live[3:]:
        await scripted_server.publish(CAMPAIGN, event)
    await consumer

    # Every event exactly once: folded by the head start, or handed to the consumer.
    assert seqs_of(collected) == list(range(folded_before + 1, len(script) + 1))
    assert applied_seqs(state) == list(range(1, folded_before + 1))
    assert not any(isinstance(item, MetadataReceived) for item in collected.items)
    assert [s for s in collected.statuses] == ["live", "closed"]


async def test_an_item_in_flight_at_hand_over_goes_to_the_consumer(scripted_server: ScriptedServer) -> None:
    script = campaign_events(iterations=2)
    scripted_server.add_campaign(CAMPAIGN, meta=campaign_meta(CAMPAIGN), events=script[:5])
    state = CampaignState(CAMPAIGN)
    head = HeadStart(WebSocketSource(CAMPAIGN, fast_settings(scripted_server.base_url)), state)
    await wait_until(lambda: state.last_seq == 5)
    await asyncio.sleep(0.05)  # the head start now waits inside the source for frame 6

    collected = Collected()
    consumer = asyncio.create_task(collect(head, collected, timeout=15))
    await wait_until(lambda: bool(collected.items))  # handed over while the read is pending
    for event in script[5:]:
        await scripted_server.publish(CAMPAIGN, event)
    await consumer
    assert seqs_of(collected) == list(range(6, len(script) + 1))
    assert applied_seqs(state) == [1, 2, 3, 4, 5]


async def test_an_error_before_any_data_reaches_the_consumer_after_the_status(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.add_campaign(CAMPAIGN, meta=campaign_meta(CAMPAIGN), events=campaign_events()[:3])
    state = CampaignState(CAMPAIGN)
    source = WebSocketSource(CAMPAIGN, fast_settings(scripted_server.base_url, token="wrong-token"))
    head = HeadStart(source, state)
    await asyncio.sleep(0.3)  # the head start meets the 401 alone
    assert not head.received_data and state.counters.applied == 0

    items: list[Any] = []
    with pytest.raises(AuthError):
        async for item in head:
            items.append(item)
    assert [i.status for i in items] == ["failed"]


async def test_closing_before_a_consumer_ends_the_connection(scripted_server: ScriptedServer) -> None:
    scripted_server.add_campaign(CAMPAIGN, meta=campaign_meta(CAMPAIGN), events=campaign_events()[:3])
    state = CampaignState(CAMPAIGN)
    head = HeadStart(WebSocketSource(CAMPAIGN, fast_settings(scripted_server.base_url)), state)
    await wait_until(lambda: state.last_seq == 3)
    await scripted_server.wait_for_clients(CAMPAIGN)
    await head.aclose()  # while the head start waits for the next frame
    await scripted_server.wait_for_no_clients(CAMPAIGN)
    with pytest.raises(StopAsyncIteration):
        await anext(head)


async def test_the_first_frame_reaches_the_first_page_source_through_the_head_start(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.add_campaign(CAMPAIGN, meta=campaign_meta(CAMPAIGN), events=campaign_events()[:4])
    state = CampaignState(CAMPAIGN)
    source = FirstPageSource(
        CAMPAIGN, fast_settings(scripted_server.base_url), wait_for_first_frame=True, patience=3600
    )
    head = HeadStart(source, state)
    told: list[bool] = []
    head.on_first_frame = lambda: told.append(gc.isenabled())
    await wait_until(lambda: state.last_seq == 4)  # the first page, folded before any frame
    await asyncio.sleep(0.05)
    assert source.live is None and scripted_server.ws_handshakes == 0
    first_frame_shown(head)  # what the monitor does once its first frame is out
    await scripted_server.wait_for_clients(CAMPAIGN)
    assert told == [True] and source.live is not None
    await head.aclose()


def test_watch_pauses_the_collector_for_the_monitor_and_always_resumes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paused: list[bool] = []
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)  # the monitor, not lines

    def pause() -> None:
        paused.append(True)
        gc.disable()

    monkeypatch.setattr(watch, "pause_collector", pause)
    assert run_cli(["watch", "bad/id"]) == ExitCode.USAGE  # fails before any monitor
    assert paused == [True] and gc.isenabled()
    assert run_cli(["watch", "bad/id", "--plain"]) == ExitCode.USAGE
    assert paused == [True] and gc.isenabled()  # lines: never paused
