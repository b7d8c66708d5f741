"""The monitor driven from a real loopback server through the real WebSocket client."""

from __future__ import annotations

from materia_tui.errors import ExitCode
from materia_tui.source.settings import ConnectionSettings
from materia_tui.source.websocket import WebSocketSource
from materia_tui.ui.app import MonitorApp
from materia_tui.ui.widgets.candidate_table import CandidateTable
from materia_tui.ui.widgets.convergence_panel import ConvergencePanel
from materia_tui.ui.widgets.status_bar import StatusBar
from tests.support.fake_source import T0, CampaignScript, campaign_metadata, event_dicts
from tests.support.scripted_server import DEFAULT_TOKEN, ScriptedServer
from tests.support.waiting import wait_for


def settings(server: ScriptedServer, token: str = DEFAULT_TOKEN) -> ConnectionSettings:
    return ConnectionSettings(server.base_url, token=token, backoff_initial=0.05, ping_interval=None)


async def test_backfill_then_live_events_until_completion() -> None:
    script = CampaignScript()
    meta = campaign_metadata().model_dump(mode="json", exclude_none=True)
    async with ScriptedServer() as server:
        server.add_campaign("camp-123", meta=meta, events=event_dicts(script.iteration(1)))
        source = WebSocketSource("camp-123", settings(server))
        app = MonitorApp(source, "camp-123", exit_on_complete=True, now=lambda: T0 + 100)
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.query_one(CandidateTable)
            await wait_for(pilot, lambda: table.row_count == 5, what="backfilled rows")
            await wait_for(pilot, lambda: "LIVE" in app.query_one(StatusBar).shown_plain, what="live")
            assert "RO membrane screen" in app.query_one(StatusBar).shown_plain
            await server.wait_for_clients("camp-123", 1)
            second = event_dicts(script.iteration(2))
            for event in second[:3]:  # started, trained, proposed
                await server.publish("camp-123", event)
            await wait_for(pilot, lambda: table.row_count == 10, what="live rows")
            assert table.record_at(9) is not None and table.record_at(9).status == "proposed"  # type: ignore[union-attr]
            for event in second[3:]:
                await server.publish("camp-123", event)
            await wait_for(pilot, lambda: len(app.view.state.best_history) == 2, what="iteration 2 done")
            await wait_for(
                pilot, lambda: "last " in app.query_one(ConvergencePanel).shown_plain, what="spark"
            )
            assert all(r.status != "proposed" for r in app.view.state.candidate_list)
            # the scatter redraws at most 4 times a second: wait for it rather than assert at once
            await wait_for(pilot, lambda: app.view.pareto.data.measured > 5, what="scatter caught up")
            for event in event_dicts(script.completed(2)):
                await server.publish("camp-123", event)
            await wait_for(pilot, lambda: not app.is_running, what="exit on complete")
    assert app.return_value == ExitCode.OK
    assert app.view.state.status == "completed"


async def test_a_rejected_token_exits_with_the_auth_code_and_one_sentence() -> None:
    async with ScriptedServer() as server:
        server.add_campaign("camp-123")
        source = WebSocketSource("camp-123", settings(server, token="wrong-token"))
        app = MonitorApp(source, "camp-123")
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: not app.is_running, what="app exits")
    assert app.return_value == ExitCode.AUTH
    assert app.error_message and "wrong-token" not in app.error_message
