"""Late join of a long history (issue 17): the next page asked for while one is folded
(one page ahead, never more, in order), a page that fails mid-way, and the monitor's
catch-up (painted at a low rate while the history loads, exactly right at the end).

Real servers on 127.0.0.1: a small aiohttp history server of the test's own (where
the test must see each request as it comes), the scripted server, and ``serve``'s
app with a memory bus.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from bench.big_campaign import Shape, events, metadata
from materia_tui.errors import GaveUpError
from materia_tui.output.numbers import format_value
from materia_tui.protocol import Rejected, parse, parse_campaign
from materia_tui.source import ConnectionChanged, EventReceived, MetadataReceived
from materia_tui.source.rest import RestClient, RestUnavailableError
from materia_tui.source.settings import ConnectionSettings
from materia_tui.source.websocket import WebSocketSource
from materia_tui.state import CampaignState
from materia_tui.state.changes import ChangeSet
from materia_tui.state.intake import apply_item
from materia_tui.ui.app import MonitorApp
from materia_tui.ui.campaign_view import CampaignView
from materia_tui.ui.repaint import RefreshRates
from materia_tui.ui.widgets.pareto_plot import ParetoPlot
from materia_tui.ui.widgets.parity_plot import ParityPlot
from materia_tui.ui.widgets.progress_panel import ProgressPanel
from materia_tui.ui.widgets.status_bar import LinkStatus, StatusBar, history_percent, status_label
from materia_tui.ui.widgets.stop_advisor import StopAdvisor
from materia_tui.ui.widgets.thinned_cloud import ThinnedCloud
from tests.functional.test_history_scale import memory_server
from tests.support import Collected, campaign_events, collect, fast_settings, wait_until
from tests.support.fake_source import FakeSource, campaign_items
from tests.support.scripted_server import ScriptedServer

PAGE = 10  # events per history page


class HistoryServer:
    """``/campaigns/c/events`` over ``count`` stamped events, ``PAGE`` a page (JSON lines, as
    ``serve`` sends them); records each request's ``after_seq`` with how many events the
    consumer had taken by then (``consumed``, kept by the test); ``fail_after``: answer 500
    for the page after this seq."""

    def __init__(self, count: int) -> None:
        self.frames = [
            json.dumps({"seq": seq, "campaign_id": "c", "type": "iteration_started", "iteration": seq,
                        "timestamp": "2026-01-01T00:00:00Z"}, separators=(",", ":")).encode()
            for seq in range(1, count + 1)
        ]
        self.requests: list[tuple[int, int]] = []  # (after_seq, events consumed when it arrived)
        self.consumed = 0
        self.fail_after: int | None = None
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def _events(self, request: web.Request) -> web.Response:
        after = int(request.query["after_seq"])
        self.requests.append((after, self.consumed))
        if after == self.fail_after:
            return web.Response(status=500)
        body = b"\n".join(self.frames[after : after + PAGE])
        return web.Response(
            body=body, content_type="application/x-ndjson", headers={"X-Last-Seq": str(len(self.frames))}
        )

    async def __aenter__(self) -> HistoryServer:
        app = web.Application()
        app.router.add_get("/api/v1/campaigns/{campaign_id}/events", self._events)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/api/v1"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


async def consume(server: HistoryServer, *, prefetch: bool = True) -> list[int]:
    """Every seq the history hands over, in order; each event a little work (the fold)."""
    seqs: list[int] = []
    async with RestClient(ConnectionSettings(base_url=server.base_url, page_limit=PAGE)) as rest:
        rest.prefetch = prefetch
        async for page in rest.events_after("c", 0):
            for event in page:
                await asyncio.sleep(0.001)  # folding takes time: the page ahead arrives meanwhile
                assert event.seq is not None
                seqs.append(event.seq)
                server.consumed += 1
    return seqs


async def test_the_next_page_is_asked_for_while_one_is_folded_and_never_two_ahead() -> None:
    async with HistoryServer(95) as server:
        seqs = await consume(server)
    assert seqs == list(range(1, 96))  # in order, each once
    assert [after for after, _ in server.requests] == list(range(0, 95, PAGE))  # each page once
    for after, consumed in server.requests[1:]:
        # Asked for before the page ending at ``after`` was folded (ahead), but only once
        # the page before it was: one page ahead, never two.
        assert after - PAGE <= consumed < after, server.requests


async def test_without_prefetch_each_page_is_asked_for_once_the_last_was_folded() -> None:
    # The test above can fail: this is what it tells apart.
    async with HistoryServer(45) as server:
        seqs = await consume(server, prefetch=False)
    assert seqs == list(range(1, 46))
    assert all(consumed == after for after, consumed in server.requests)


async def test_a_page_that_fails_ahead_is_raised_after_the_page_in_hand_is_folded() -> None:
    async with HistoryServer(60) as server:
        server.fail_after = 3 * PAGE
        with pytest.raises(RestUnavailableError) as failure:
            await consume(server)
    assert server.consumed == 3 * PAGE  # every event before the failed page, none lost
    message = failure.value.message
    assert message.startswith("The server answered HTTP 500 for http://127.0.0.1:")
    assert message.count(".") == message.count("127.0.0.1") * 3 + 1 and "after_seq" not in message


async def test_a_consumer_that_stops_early_leaves_no_request_running() -> None:
    async with HistoryServer(60) as server:
        rest = RestClient(ConnectionSettings(base_url=server.base_url, page_limit=PAGE))
        try:
            pages = rest.events_after("c", 0)
            first = await anext(pages)
            assert [e.seq for e in first] == list(range(1, PAGE + 1))
            await anext(pages)  # a page in hand, the next one asked for
            assert len(server.requests) == 3
            await pages.aclose()
            running = [t for t in asyncio.all_tasks() if "_history_page" in repr(t.get_coro())]
            assert running == []
        finally:
            await rest.aclose()


# ----- the source: a page failing mid-backfill -------------------------------------------


class FailingHistory(ScriptedServer):
    """The scripted server whose history answers 500 for the page after ``fail_after``,
    ``failures`` times."""

    fail_after = -1
    failures = 0

    async def _get_events(self, request: web.Request) -> web.StreamResponse:
        if int(request.query.get("after_seq", "0")) == self.fail_after and self.failures:
            self.failures -= 1
            return web.json_response({"detail": "boom"}, status=500)
        return await super()._get_events(request)


@pytest.fixture
async def failing() -> AsyncIterator[FailingHistory]:
    server = FailingHistory()
    await server.start()
    yield server
    await server.close()


async def test_a_page_failing_once_mid_backfill_costs_a_reconnect_and_no_event(failing: FailingHistory) -> None:
    script = campaign_events(iterations=20, batch=3)
    failing.add_campaign("camp-1", events=script)
    failing.page_cap = PAGE
    failing.fail_after, failing.failures = 4 * PAGE, 1
    collected = await collect(WebSocketSource("camp-1", fast_settings(failing.base_url)), Collected())
    assert collected.seqs == list(range(1, len(script) + 1))  # each once, in order
    assert "reconnecting" in collected.statuses
    reasons = [c.detail for c in collected.items if isinstance(c, ConnectionChanged) and c.status == "reconnecting"]
    assert reasons == [f"The server answered HTTP 500 for {failing.base_url}/campaigns/camp-1/events."]


async def test_a_page_that_keeps_failing_gives_up_in_one_sentence_after_every_event_before_it(
    failing: FailingHistory,
) -> None:
    script = campaign_events(iterations=20, batch=3)
    failing.add_campaign("camp-1", events=script)
    failing.page_cap = PAGE
    failing.fail_after, failing.failures = 4 * PAGE, 100
    collected = Collected()
    source = WebSocketSource("camp-1", fast_settings(failing.base_url, max_retries=1))
    with pytest.raises(GaveUpError) as failure:
        await collect(source, collected)
    assert collected.seqs == list(range(1, 4 * PAGE + 1))
    message = failure.value.message
    assert message.endswith(f"Last: The server answered HTTP 500 for {failing.base_url}/campaigns/camp-1/events.")
    assert "\n" not in message and "Traceback" not in message


# ----- the monitor: a throttled catch-up, exactly right at the end -----------------------


def reducer_state(shape: Shape, campaign_id: str) -> CampaignState:
    """The reducer alone over the same events (stamped with their seqs, as ``serve`` does)."""
    state = CampaignState(campaign_id)
    campaign = parse_campaign(metadata(campaign_id, shape))
    assert campaign is not None
    apply_item(state, MetadataReceived(campaign))
    for seq, text in enumerate(events(shape), start=1):
        event = parse(f'{{"seq":{seq},"campaign_id":"{campaign_id}",{text[1:]}')
        assert not isinstance(event, Rejected), event
        apply_item(state, EventReceived(event, 0.0))
    return state


async def test_the_screen_after_a_throttled_catch_up_is_the_reducers_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shape = Shape(30, 200)  # 6,000 candidates: past the cloud's small size (numpy)
    server = await memory_server(shape, "late")  # serve's app, a memory bus
    plot_paints: list[bool] = []  # catching up, at each paint of the Pareto plot
    catch_up: list[bool] = []  # the scheduler's mode after each item folded
    paint = ParetoPlot.apply_changes

    def recorded_paint(plot: ParetoPlot, *args: Any) -> None:
        scheduler = plot.app.query_one(CampaignView).scheduler
        plot_paints.append(scheduler is not None and scheduler.catching_up)
        paint(plot, *args)

    note = CampaignView._note_change

    def recorded_note(view: CampaignView) -> None:
        note(view)
        catch_up.append(view.scheduler is not None and view.scheduler.catching_up)

    advise = StopAdvisor.apply_changes
    advisor_calls: list[bool] = []  # catching up, at each change set the stop advisor is handed

    def recorded_advise(advisor: StopAdvisor, *args: Any) -> None:
        scheduler = advisor.host.scheduler  # type: ignore[attr-defined]  # the view
        advisor_calls.append(scheduler is not None and scheduler.catching_up)
        advise(advisor, *args)

    monkeypatch.setattr(StopAdvisor, "apply_changes", recorded_advise)
    monkeypatch.setattr(ParetoPlot, "apply_changes", recorded_paint)
    monkeypatch.setattr(CampaignView, "_note_change", recorded_note)
    # Small pages (a few events each): a history of dozens of pages.
    settings = ConnectionSettings(base_url=server.base_url, max_retries=0, page_bytes=64 * 1024)
    app = MonitorApp(WebSocketSource("late", settings), "late")
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            view = app.view
            await wait_until(lambda: view.stream_ended and view.up_to_date, timeout=60)
            await pilot.pause()
            expected = reducer_state(shape, "late")
            state = view.state
            assert state.last_seq == expected.last_seq == shape.total_events
            assert len(state.store) == len(expected.store) == shape.total_candidates
            assert state.evaluations == expected.evaluations == shape.total_candidates
            best = {name: (b.value, b.candidate_id) for name, b in state.best.items()}
            assert best == {name: (b.value, b.candidate_id) for name, b in expected.best.items()}
            assert state.front_ids() == expected.front_ids()
            plot = view.pareto
            assert plot.data.measured == shape.total_candidates
            front = [_objectives(expected, candidate_id) for candidate_id in expected.front_ids()]
            assert sorted(zip(*plot.data.front, strict=True)) == sorted(front)
            # Batches of this size would cover the scatter with the latest marks: left unmarked.
            assert plot.data.unmarked == shape.candidates and plot.data.latest == ([], [])
            caption = f"{shape.total_candidates:,} measured · {len(front)} on front"  # no room for more
            assert str(plot.border_subtitle) == caption
            progress = app.query_one(ProgressPanel).shown_plain
            assert f"iteration {shape.iterations}/{shape.iterations}" in progress
            assert f"evaluations {shape.total_candidates:,}" in progress
            for name, (value, candidate_id) in best.items():
                assert f"best {name} {format_value(value)}" in progress and candidate_id in progress
            assert f"candidates {shape.total_candidates:,}" in str(view.table.border_title)
            status = app.query_one(StatusBar).shown_plain
            assert "COMPLETED" in status and "LOADING" not in status
    finally:
        await server.close()
    assert True in catch_up and catch_up[-1] is False  # it caught up, throttled, and that ended
    # The plot waited for the whole history: painted at most once while it loaded (the first
    # frame's, when the history was announced before it), not at every pass.
    assert plot_paints and sum(plot_paints) <= 1, plot_paints
    assert advisor_calls and not any(advisor_calls), advisor_calls  # and so did the stop advisor


def _objectives(state: CampaignState, candidate_id: str) -> tuple[float, float]:
    measured = state.candidates[candidate_id].objectives
    return measured["water_flux"], measured["salt_rejection"]


def test_the_status_says_how_much_of_the_history_is_in() -> None:
    state = CampaignState("c")
    link = LinkStatus(status="backfilling", history=(100, 300))
    assert status_label(state, link, 0.0) == "loading history 0%"  # nothing past 100 yet
    state.last_seq = 250
    assert status_label(state, link, 0.0) == "loading history 75%"
    state.last_seq = 299
    assert status_label(state, link, 0.0) == "loading history 99%"  # 100 only when all is in
    state.last_seq = 300
    assert history_percent(state, (100, 300)) == 100
    state.last_seq = 420  # the campaign grew while it loaded: still paging, past what was announced
    assert status_label(state, link, 0.0) == "catching up"
    assert status_label(state, LinkStatus(status="backfilling"), 0.0) == "backfilling"  # one page


def test_an_end_known_from_the_metadata_alone_is_not_shown_while_the_link_is_down() -> None:
    state = CampaignState("c", parse_campaign(metadata("c", Shape(iterations=1, candidates=1))))
    assert state.status == "completed" and state.finished_at is None  # no end event folded
    lost = LinkStatus(status="reconnecting", attempt=2, retry_at=5.0)
    assert status_label(state, lost, 0.0) == "reconnecting (attempt 2, in 5s)"
    assert status_label(state, LinkStatus(status="failed", error="refused"), 0.0) == "error"
    assert status_label(state, LinkStatus(status="connecting"), 0.0) == "connecting"
    for up in ("live", "closed", "backfilling"):  # nothing missing that the link could bring
        assert status_label(state, LinkStatus(status=up), 0.0) == "completed"
    end = parse('{"type": "campaign_completed", "seq": 1, "total_iterations": 0, "total_evaluations": 0}')
    assert not isinstance(end, Rejected)
    state.apply(end, 10.0)
    assert state.finished_at == 10.0
    assert status_label(state, lost, 0.0) == "completed"  # the end itself is in


def test_catch_up_rates_are_never_faster_than_asked() -> None:
    assert RefreshRates().catching_up() == RefreshRates(0.25, 3.0, math.inf)
    slow = RefreshRates.every(5.0)  # --refresh 5: already slower than the catch-up's table
    assert slow.catching_up().bulk == 5.0 and slow.catching_up().plot == math.inf


def test_a_cloud_told_every_row_changed_reads_them_all_again_as_a_fresh_one_would() -> None:
    shape = Shape(12, 600)  # 7,200 rows: past the row-by-row size
    state = CampaignState("c")
    texts = list(events(shape))
    half = len(texts) // 2
    for seq, text in enumerate(texts[:half], start=1):
        apply_item(state, EventReceived(parse(f'{{"seq":{seq},{text[1:]}'), 0.0))  # type: ignore[arg-type]
    cloud = ThinnedCloud("water_flux", "salt_rejection")
    while not cloud.complete:
        cloud.update(state, (40, 20), ChangeSet())
    for seq, text in enumerate(texts[half:], start=half + 1):
        apply_item(state, EventReceived(parse(f'{{"seq":{seq},{text[1:]}'), 0.0))  # type: ignore[arg-type]
    changes = state.take_changes()
    changes.every_row()  # as a pending set of many batches says
    scans = cloud.scans
    cloud.update(state, (40, 20), changes)
    fresh = ThinnedCloud("water_flux", "salt_rejection")
    while not fresh.complete:
        fresh.update(state, (40, 20), ChangeSet())
    assert cloud.scans == scans + 1
    assert cloud.count == fresh.count == shape.total_candidates
    assert list(cloud.points()) == list(fresh.points())
    assert cloud.cells == fresh.cells and cloud.marks == fresh.marks and cloud.bounds == fresh.bounds
    assert cloud.front_points(state) == fresh.front_points(state)


async def test_plots_not_redrawn_while_a_history_loads_say_so_in_their_caption() -> None:
    items = campaign_items(6, complete=True)
    first_page, rest = items[:3] + items[3:12], items[12:]
    last_seq = max(i.event.seq or 0 for i in items if isinstance(i, EventReceived))
    source = FakeSource(first_page)
    app = MonitorApp(source, "camp-123")  # type: ignore[arg-type]
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.view
        source.release_all()
        await wait_until(lambda: source.drained and view.up_to_date)
        await pilot.pause()
        plot = view.pareto
        drawn = str(plot.border_subtitle)
        assert drawn.endswith("on front") and "loading" not in drawn
        source.add(ConnectionChanged("backfilling", history=(0, last_seq)), *rest[:10])
        source.release_all()
        await wait_until(lambda: source.drained and view.scheduler is not None and view.scheduler.catching_up)
        await pilot.pause()
        assert str(plot.border_subtitle) == f"{drawn} (history loading…)"  # the picture of before, said so
        parity = app.query_one(ParityPlot)
        source.add(*rest[10:], ConnectionChanged("live"))
        source.release_all()
        source.end()
        await wait_until(lambda: view.stream_ended and view.up_to_date, timeout=20)
        await pilot.pause()
        assert "loading" not in str(plot.border_subtitle) and "on front" in str(plot.border_subtitle)
        assert plot.data.measured == sum(c.status == "evaluated" for c in view.state.candidate_list)
        assert not parity._history_loading
