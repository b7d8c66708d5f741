"""WebSocketSource against the real scripted server on 127.0.0.1 (docs/PROTOCOL.md sections 3-5)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from materia_tui.errors import AuthError, GaveUpError, MateriaError, NotFoundError, UsageError
from materia_tui.protocol import MAX_FRAME_BYTES, CandidatesProposed
from materia_tui.source import ConnectionChanged, EventReceived, MetadataReceived
from materia_tui.source.websocket import WebSocketSource
from tests.support import Collected, campaign_events, collect, fast_settings, proposed, wait_until
from tests.support.scripted_server import DEFAULT_TOKEN, ScriptedServer

CAMPAIGN = "camp-1"


@pytest.fixture
def server(scripted_server: ScriptedServer) -> ScriptedServer:
    """The started scripted server (tests/functional/conftest.py), under a short name."""
    return scripted_server


def start_consumer(
    source: WebSocketSource, timeout: float = 15.0
) -> tuple[Collected, asyncio.Task[Collected]]:
    collected = Collected()
    return collected, asyncio.create_task(collect(source, collected, timeout))


def assert_no_token(collected: Collected, error: BaseException | None = None) -> None:
    details = [c.detail for c in collected.items if isinstance(c, ConnectionChanged)]
    assert not any(DEFAULT_TOKEN in d for d in details)
    if error is not None:
        assert DEFAULT_TOKEN not in str(error)
        assert DEFAULT_TOKEN not in repr(error)


async def test_late_join_backfills_history_then_goes_live_without_duplicates(server: ScriptedServer) -> None:
    script = campaign_events(iterations=40, batch=3)  # 40 * 5 + 1 = 201 events
    history, live = script[:150], script[150:]
    server.add_campaign(CAMPAIGN, events=history)
    server.page_cap = 10  # backfill takes 15 pages, so live frames arrive while it runs
    source = WebSocketSource(CAMPAIGN, fast_settings(server.base_url))
    collected, consumer = start_consumer(source)

    await server.wait_for_clients(CAMPAIGN)
    for event in live[:25]:  # published during the backfill: some reach both REST and the live buffer
        await server.publish(CAMPAIGN, event)
    await wait_until(lambda: "live" in collected.statuses)
    for event in live[25:]:
        await server.publish(CAMPAIGN, event)
    await consumer

    assert collected.seqs == list(range(1, len(script) + 1))
    # A history of several pages is announced with the seqs it runs from and to.
    assert collected.statuses == ["connecting", "backfilling", "backfilling", "live", "closed"]
    changes = [item for item in collected.items if isinstance(item, ConnectionChanged)]
    assert changes[2].history is not None and changes[2].history[0] == 0 and changes[2].history[1] >= 150
    assert isinstance(collected.items[1], MetadataReceived)
    assert server.ws_handshakes == 1


async def test_resume_after_seq_skips_what_the_consumer_holds(server: ScriptedServer) -> None:
    script = campaign_events(iterations=2)
    server.add_campaign(CAMPAIGN, events=script)
    source = WebSocketSource(CAMPAIGN, fast_settings(server.base_url), after_seq=4)
    collected = await collect(source, Collected())
    assert collected.seqs == list(range(5, len(script) + 1))


async def test_server_restarted_twice_mid_stream_loses_and_duplicates_nothing(server: ScriptedServer) -> None:
    script = campaign_events(iterations=6, batch=2)  # 31 events
    server.add_campaign(CAMPAIGN, events=script[:3])
    source = WebSocketSource(CAMPAIGN, fast_settings(server.base_url))
    collected, consumer = start_consumer(source)
    pending = iter(script[3:])

    async def publish(count: int) -> None:
        for _ in range(count):
            await server.publish(CAMPAIGN, next(pending))

    await server.wait_for_clients(CAMPAIGN)
    await publish(5)
    await wait_until(lambda: len(collected.seqs) >= 8)
    await server.stop()  # graceful: close code 1012
    await publish(5)  # while down: only REST history has them
    await server.start()
    await server.wait_for_clients(CAMPAIGN)
    await publish(5)
    await wait_until(lambda: len(collected.seqs) >= 18)
    await server.stop(abort=True)  # killed: abnormal closure 1006
    await publish(5)
    await server.start()
    await server.wait_for_clients(CAMPAIGN)
    for event in pending:
        await server.publish(CAMPAIGN, event)
    await consumer

    assert collected.seqs == list(range(1, len(script) + 1))
    reconnects = collected.changes("reconnecting")
    assert len(reconnects) >= 2
    assert any("1012" in r.detail for r in reconnects)
    assert all(r.retry_in is not None and r.retry_in <= 0.05 for r in reconnects)
    assert_no_token(collected)


@pytest.mark.parametrize(("status", "error_type"), [(401, AuthError), (403, AuthError), (404, NotFoundError)])
async def test_handshake_rejection_is_final(
    server: ScriptedServer, status: int, error_type: type[MateriaError]
) -> None:
    server.add_campaign(CAMPAIGN, events=campaign_events(iterations=1))
    server.handshake_status = status
    collected = Collected()
    with pytest.raises(error_type) as caught:
        await collect(WebSocketSource(CAMPAIGN, fast_settings(server.base_url)), collected)
    assert f"HTTP {status}" in str(caught.value)
    assert "/ws/campaigns/camp-1" in str(caught.value)
    assert server.ws_handshakes == 1  # no reconnect loop
    assert collected.statuses[-1] == "failed"
    assert_no_token(collected, caught.value)


@pytest.mark.parametrize(
    ("code", "error_type"), [(4401, AuthError), (4403, AuthError), (4404, NotFoundError)]
)
async def test_close_code_rejection_is_final(
    server: ScriptedServer, code: int, error_type: type[MateriaError]
) -> None:
    server.add_campaign(CAMPAIGN, events=campaign_events(iterations=1, complete=False))
    server.close_on_accept = (code, f"rejected {DEFAULT_TOKEN}")  # a server echoing the token
    collected = Collected()
    with pytest.raises(error_type) as caught:
        await collect(WebSocketSource(CAMPAIGN, fast_settings(server.base_url)), collected)
    assert f"close code {code}" in str(caught.value)
    assert server.ws_handshakes == 1
    assert_no_token(collected, caught.value)


async def test_wrong_token_is_rejected_by_rest_before_any_websocket(server: ScriptedServer) -> None:
    server.add_campaign(CAMPAIGN)
    settings = fast_settings(server.base_url, token="not-the-right-token")
    with pytest.raises(AuthError) as caught:
        await collect(WebSocketSource(CAMPAIGN, settings), Collected())
    assert "not-the-right-token" not in str(caught.value)
    assert "HTTP 401" in str(caught.value)


async def test_forbidden_token_gets_403(server: ScriptedServer) -> None:
    server.add_campaign(CAMPAIGN)
    server.forbidden_tokens = {"other-user-token"}
    with pytest.raises(AuthError, match="HTTP 403"):
        await collect(
            WebSocketSource(CAMPAIGN, fast_settings(server.base_url, "other-user-token")), Collected()
        )


async def test_unknown_campaign_is_not_found(server: ScriptedServer) -> None:
    with pytest.raises(NotFoundError, match="camp-404"):
        await collect(WebSocketSource("camp-404", fast_settings(server.base_url)), Collected())
    assert server.ws_handshakes == 1


async def test_invalid_campaign_id_fails_before_connecting(server: ScriptedServer) -> None:
    with pytest.raises(UsageError):
        WebSocketSource("../etc/passwd", fast_settings(server.base_url))
    assert server.ws_handshakes == 0 and server.rest_requests == 0


async def test_transient_close_with_retry_limit_gives_up(server: ScriptedServer) -> None:
    server.add_campaign(CAMPAIGN)
    server.close_on_accept = (1011, "internal error")
    collected = Collected()
    with pytest.raises(GaveUpError) as caught:
        await collect(WebSocketSource(CAMPAIGN, fast_settings(server.base_url, max_retries=2)), collected)
    assert server.ws_handshakes == 3  # the first attempt and two retries
    assert [c.attempt for c in collected.changes("reconnecting")] == [1, 2]
    assert "1011" in str(caught.value)
    assert_no_token(collected, caught.value)


async def test_refused_connection_gives_up_with_a_limit(server: ScriptedServer) -> None:
    server.add_campaign(CAMPAIGN)
    await server.stop()
    with pytest.raises(GaveUpError, match="after 2 failed attempts"):
        await collect(WebSocketSource(CAMPAIGN, fast_settings(server.base_url, max_retries=1)), Collected())


async def test_http_5xx_handshake_is_transient(server: ScriptedServer) -> None:
    script = campaign_events(iterations=2)
    server.add_campaign(CAMPAIGN, events=script[:-1])  # REST history alone must not end the campaign
    server.handshake_status = 503
    source = WebSocketSource(CAMPAIGN, fast_settings(server.base_url))
    collected, consumer = start_consumer(source)
    await server.wait_for_handshakes(3)
    server.handshake_status = None
    await server.wait_for_clients(CAMPAIGN)
    await server.publish(CAMPAIGN, script[-1])
    await consumer
    assert collected.seqs == list(range(1, len(script) + 1))
    assert "HTTP 503" in collected.changes("reconnecting")[0].detail


GARBAGE: list[str | bytes] = [
    "this is not json",
    "{",
    "null",
    "[1, 2, 3]",
    '{"no_type": true}',
    '{"type": "mystery_event", "x": 1}',
    '{"type": "iteration_completed", "iteration": "three", "best_value": 1.0, "pareto_size": 1}',
    '{"type": "convergence_update", "metric": NaN, "converged": false}',
    '{"type": "convergence_update", "metric": Infinity, "converged": false}',
    "[" * 50_000 + "]" * 50_000,
    b"\x00\x01binary",
    '{"type": "candidates_proposed", "iteration": 1, "candidates": [{"id": 7}]}',
]


async def test_garbage_frames_cost_only_themselves(server: ScriptedServer) -> None:
    script = campaign_events(iterations=3)
    server.add_campaign(CAMPAIGN)
    source = WebSocketSource(CAMPAIGN, fast_settings(server.base_url))
    collected, consumer = start_consumer(source)
    await wait_until(lambda: "live" in collected.statuses)
    for index, event in enumerate(script):
        if index < len(GARBAGE):
            await server.send_raw(CAMPAIGN, GARBAGE[index])
        await server.publish(CAMPAIGN, event)
    await consumer

    assert collected.seqs == list(range(1, len(script) + 1))
    kinds = [r.rejected.kind for r in collected.rejected]
    assert len(kinds) == len(GARBAGE)
    assert kinds.count("binary") == 1 and kinds.count("unknown_type") == 1
    assert server.ws_handshakes == 1
    assert "reconnecting" not in collected.statuses


async def test_a_16_mib_frame_is_accepted(server: ScriptedServer) -> None:
    server.add_campaign(CAMPAIGN)
    source = WebSocketSource(CAMPAIGN, fast_settings(server.base_url))
    collected, consumer = start_consumer(source)
    await wait_until(lambda: "live" in collected.statuses)
    big = proposed(1, batch=1)
    frame_without_padding = len(json.dumps({**big, "seq": 1, "campaign_id": CAMPAIGN}))
    big["candidates"][0]["parameters"]["notes"] = "x" * (MAX_FRAME_BYTES - frame_without_padding - 64)
    await server.publish(CAMPAIGN, big)
    await server.publish(
        CAMPAIGN, {"type": "campaign_completed", "total_iterations": 1, "total_evaluations": 1}
    )
    await consumer

    received = [i.event for i in collected.items if isinstance(i, EventReceived)]
    assert isinstance(received[0], CandidatesProposed)
    assert len(json.dumps(server.history(CAMPAIGN)[0])) > MAX_FRAME_BYTES - 100
    assert collected.seqs == [1, 2]
    assert server.ws_handshakes == 1


async def test_a_stalled_server_is_detected_by_ping_timeout(server: ScriptedServer) -> None:
    server.add_campaign(CAMPAIGN, events=campaign_events(iterations=1, complete=False))
    settings = fast_settings(server.base_url, ping_interval=0.2, ping_timeout=0.3)
    source = WebSocketSource(CAMPAIGN, settings)
    collected, consumer = start_consumer(source)
    await wait_until(lambda: "live" in collected.statuses)
    loop = asyncio.get_running_loop()
    stalled_at = loop.time()
    await server.stall()
    await server.publish(CAMPAIGN, proposed(2))  # not sent to the stalled connection
    await wait_until(lambda: "reconnecting" in collected.statuses, timeout=3.0)
    detected_after = loop.time() - stalled_at
    await server.wait_for_clients(CAMPAIGN)
    await server.publish(
        CAMPAIGN, {"type": "campaign_completed", "total_iterations": 2, "total_evaluations": 5}
    )
    await consumer

    assert detected_after < 2.0
    assert "keepalive" in collected.changes("reconnecting")[0].detail
    assert collected.seqs == list(range(1, len(server.history(CAMPAIGN)) + 1))


async def test_a_gap_in_live_frames_is_filled_from_rest_first(server: ScriptedServer) -> None:
    script = campaign_events(iterations=2)
    server.add_campaign(CAMPAIGN, events=script[:2])
    source = WebSocketSource(CAMPAIGN, fast_settings(server.base_url))
    collected, consumer = start_consumer(source)
    await wait_until(lambda: "live" in collected.statuses)
    for index, event in enumerate(script[2:]):
        await server.publish(CAMPAIGN, event, live=index % 3 != 0)  # every third is history only
    await consumer
    assert collected.seqs == list(range(1, len(script) + 1))


async def test_backend_without_rest_works_with_the_websocket_alone(server: ScriptedServer) -> None:
    server.add_campaign(CAMPAIGN, events=campaign_events(iterations=1, complete=False))
    server.rest_status = 404  # this backend serves no REST at all
    source = WebSocketSource(CAMPAIGN, fast_settings(server.base_url))
    collected, consumer = start_consumer(source)
    await wait_until(lambda: "live" in collected.statuses)
    live = campaign_events(iterations=1, start=2)
    for event in live:
        await server.publish(CAMPAIGN, event)
    await consumer
    history_size = len(server.history(CAMPAIGN)) - len(live)
    assert collected.seqs == list(range(history_size + 1, history_size + len(live) + 1))
    assert not any(isinstance(i, MetadataReceived) for i in collected.items)


async def test_rest_recovering_after_failures_backfills_everything(server: ScriptedServer) -> None:
    script = campaign_events(iterations=2)
    server.add_campaign(CAMPAIGN, events=script[:3])
    server.rest_status = 500
    source = WebSocketSource(CAMPAIGN, fast_settings(server.base_url))
    collected, consumer = start_consumer(source)
    await server.wait_for_handshakes(2)  # the first history request failed: reconnecting
    server.rest_status = None
    await wait_until(lambda: "live" in collected.statuses)
    for event in script[3:]:
        await server.publish(CAMPAIGN, event)
    await consumer
    assert collected.seqs == list(range(1, len(script) + 1))
    assert "HTTP 500" in collected.changes("reconnecting")[0].detail


async def test_permanently_broken_rest_still_streams_live(server: ScriptedServer) -> None:
    server.add_campaign(CAMPAIGN, events=campaign_events(iterations=1, complete=False))
    server.rest_status = 500
    source = WebSocketSource(CAMPAIGN, fast_settings(server.base_url))
    collected, consumer = start_consumer(source)
    await wait_until(lambda: "live" in collected.statuses)
    live = campaign_events(iterations=1, start=2)
    for event in live:
        await server.publish(CAMPAIGN, event)
    await consumer
    assert len(collected.seqs) == len(live)
    assert "History unavailable" in collected.changes("live")[0].detail
    assert server.ws_handshakes == 3


async def test_error_of_unknown_fatality_ends_when_status_says_failed(server: ScriptedServer) -> None:
    server.add_campaign(CAMPAIGN, events=campaign_events(iterations=1, complete=False))
    source = WebSocketSource(CAMPAIGN, fast_settings(server.base_url))
    collected, consumer = start_consumer(source)
    await wait_until(lambda: "live" in collected.statuses)
    await server.publish(CAMPAIGN, {"type": "campaign_error", "error": "flaky sensor", "iteration": 1})
    await wait_until(lambda: len(collected.seqs) == 5)
    assert not consumer.done()  # status still "running": the campaign goes on
    server.set_status(CAMPAIGN, "failed")
    await server.publish(CAMPAIGN, {"type": "campaign_error", "error": "optimizer crashed", "iteration": 1})
    await consumer
    last_meta = [i for i in collected.items if isinstance(i, MetadataReceived)][-1]
    assert last_meta.campaign.status == "failed"
    assert collected.statuses[-1] == "closed"


async def test_history_of_a_failed_campaign_ends_at_its_fatal_error(server: ScriptedServer) -> None:
    events: list[dict[str, Any]] = campaign_events(iterations=1, complete=False)
    events.append({"type": "campaign_error", "error": "out of budget", "iteration": 1, "fatal": True})
    server.add_campaign(CAMPAIGN, {"status": "failed"}, events=events)
    collected = await collect(WebSocketSource(CAMPAIGN, fast_settings(server.base_url)), Collected())
    assert collected.seqs == list(range(1, len(events) + 1))
    assert collected.statuses == ["connecting", "backfilling", "closed"]


async def test_aclose_stops_a_live_source(server: ScriptedServer) -> None:
    server.add_campaign(CAMPAIGN)
    source = WebSocketSource(CAMPAIGN, fast_settings(server.base_url))
    async for item in source:
        if isinstance(item, ConnectionChanged) and item.status == "live":
            break
    await source.aclose()
    await server.wait_for_no_clients(CAMPAIGN)


async def test_live_frames_at_or_below_the_resume_point_and_rejected_ones_keep_seq_order(
    server: ScriptedServer,
) -> None:
    """The in-order fast path and the general one agree: a repeated live frame is
    dropped, a malformed frame holding the next seq occupies it (counted, skipped)."""
    script = campaign_events(iterations=2)
    server.add_campaign(CAMPAIGN)
    source = WebSocketSource(CAMPAIGN, fast_settings(server.base_url))
    collected, consumer = start_consumer(source)
    await wait_until(lambda: "live" in collected.statuses)
    first = await server.publish(CAMPAIGN, script[0])
    await server.publish(CAMPAIGN, script[1])
    await server.send_raw(CAMPAIGN, json.dumps({**script[0], "seq": first}))  # again: dropped
    await server.send_raw(CAMPAIGN, json.dumps({**script[1], "seq": first + 1}))  # again: dropped
    malformed = {"type": "iteration_started", "iteration": "one"}
    taken = await server.publish(CAMPAIGN, malformed, live=False)  # its seq, in the history too
    await server.send_raw(CAMPAIGN, json.dumps({**malformed, "seq": taken}))
    for event in script[2:]:
        await server.publish(CAMPAIGN, event)
    await consumer

    assert collected.seqs == [s for s in range(1, len(script) + 2) if s != taken]
    assert [(r.rejected.kind, r.rejected.seq) for r in collected.rejected] == [("malformed", taken)]
    assert "reconnecting" not in collected.statuses
