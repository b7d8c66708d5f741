"""Several campaigns: tabs with status dots, the "All" overview, exit codes, the picker."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import TabPane

from materia_tui.errors import AuthError, ExitCode
from materia_tui.protocol import Campaign
from materia_tui.source import EventSource
from materia_tui.source.rest import RestClient
from materia_tui.source.settings import ConnectionSettings
from materia_tui.source.websocket import WebSocketSource
from materia_tui.ui.multi_app import ALL_PANE, MultiMonitorApp
from materia_tui.ui.screens.campaign_picker import CampaignPicker
from materia_tui.ui.widgets.campaigns_overview import CampaignsOverview
from materia_tui.ui.widgets.status_bar import StatusBar
from tests.functional.test_tmux_e2e import event_dicts
from tests.support.fake_source import T0, CampaignScript, FakeSource, campaign_items, campaign_metadata
from tests.support.scripted_server import DEFAULT_TOKEN, ScriptedServer
from tests.support.waiting import wait_for

NOW = T0 + 400


def three_campaigns() -> list[tuple[str, FakeSource]]:
    return [
        ("camp-a", FakeSource(campaign_items(7, campaign_id="camp-a", partial_last=True))),
        ("camp-b", FakeSource(campaign_items(12, campaign_id="camp-b", name="Solvents", complete=True))),
        ("camp-c", FakeSource(campaign_items(3, campaign_id="camp-c", name="Catalyst", fail="crashed"))),
    ]


def tab_text(app: MultiMonitorApp, campaign_id: str) -> str:
    view = next(v for v in app.views if v.campaign_id == campaign_id)
    pane = next(node for node in view.ancestors if isinstance(node, TabPane))
    return app.tabs.get_tab(pane).label.plain


def overview_row(app: MultiMonitorApp, campaign_id: str) -> list[str]:
    table = app.query_one(CampaignsOverview)
    return [str(getattr(cell, "plain", cell)) for cell in table.get_row(campaign_id)]


async def test_tabs_dots_overview_rows_keys_and_the_highest_exit_code() -> None:
    campaigns = three_campaigns()
    app = MultiMonitorApp(list[tuple[str, EventSource]](campaigns), now=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        for _, source in campaigns:
            source.release_all()
        await wait_for(pilot, lambda: app.view_of("camp-c").state.status == "failed", what="c failed")
        await wait_for(pilot, lambda: tab_text(app, "camp-c") == "✖ camp-c", what="failed dot")
        await wait_for(pilot, lambda: tab_text(app, "camp-b") == "✔ camp-b", what="completed dot")
        assert tab_text(app, "camp-a") == "● camp-a"
        assert app.active_view is app.view_of("camp-a")  # the first campaign is on screen
        await pilot.press("0")
        assert app.tabs.active == ALL_PANE and app.active_view is None
        state_a = app.view_of("camp-a").state
        best = state_a.best["water_flux"].value
        await wait_for(pilot, lambda: overview_row(app, "camp-a")[3] == "7/12", what="overview row")
        row = overview_row(app, "camp-a")
        assert row[:3] == ["●", "camp-a · RO membrane screen", "live"]
        assert row[4] == f"{best:.4g} L/m2/h"
        assert row[5] == "1m+"  # quiet: the last event was at T0 + 6 * 30 + 12 s, 208 s before NOW
        assert overview_row(app, "camp-b")[2:4] == ["completed", "12/12"]
        assert overview_row(app, "camp-c")[2:4] == ["failed", "3/12"]
        await pilot.press("down", "enter")  # open camp-b from its row
        await wait_for(pilot, lambda: app.active_view is app.view_of("camp-b"), what="row opens its tab")
        await pilot.press("right_square_bracket")
        assert app.active_view is app.view_of("camp-c")
        await pilot.press("2")  # the keys act on the campaign on screen
        assert app.view_of("camp-c").section == "candidates" and app.view_of("camp-a").section == "overview"
        await pilot.press("right_square_bracket")
        assert app.tabs.active == ALL_PANE  # wraps around
        await pilot.press("q")
    assert app.return_value == ExitCode.CAMPAIGN_FAILED


async def test_a_source_error_before_data_keeps_the_others_and_sets_the_exit_code() -> None:
    good = FakeSource(campaign_items(2, campaign_id="camp-a"))
    bad = FakeSource([])
    app = MultiMonitorApp([("camp-a", good), ("camp-x", bad)], now=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        good.release_all()
        bad.fail(AuthError("The server rejected the token for campaign camp-x (HTTP 401)."))
        await wait_for(pilot, lambda: tab_text(app, "camp-x") == "✖ camp-x", what="error dot")
        assert app.is_running
        assert "HTTP 401" in app.view_of("camp-x").query_one(StatusBar).shown_plain
        await wait_for(pilot, lambda: app.view_of("camp-a").state.completed_iterations == 2, what="a goes on")
        await pilot.press("q")
    assert app.return_value == ExitCode.AUTH > ExitCode.CAMPAIGN_FAILED
    assert app.error_message is not None and app.error_message.startswith("camp-x: ")


async def test_exit_on_complete_waits_for_every_campaign() -> None:
    first = FakeSource(campaign_items(2, campaign_id="camp-a", complete=True))
    second = FakeSource(campaign_items(3, campaign_id="camp-b", complete=True))
    app = MultiMonitorApp([("camp-a", first), ("camp-b", second)], exit_on_complete=True, now=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        first.release_all()
        await wait_for(pilot, lambda: app.view_of("camp-a").state.status == "completed", what="a done")
        await pilot.pause(0.1)
        assert app.is_running  # camp-b still runs
        second.release_all()
        await wait_for(pilot, lambda: not app.is_running, what="exit when all are done")
    assert app.return_value == ExitCode.OK


async def loaded_picker(pilot: Pilot[int], app: MultiMonitorApp) -> CampaignPicker:
    await wait_for(pilot, lambda: isinstance(app.screen, CampaignPicker), what="picker")
    picker = app.screen
    assert isinstance(picker, CampaignPicker)
    await wait_for(pilot, lambda: picker.loaded, what="campaign list")
    return picker


def server_meta(campaign_id: str, name: str) -> dict[str, Any]:
    return campaign_metadata(campaign_id, name).model_dump(mode="json", exclude_none=True)


async def test_picker_lists_campaigns_over_rest_and_opens_the_chosen_ones() -> None:
    async with ScriptedServer() as server:
        for campaign_id, name in (("camp-1", "First"), ("camp-2", "[b]Second[/b]")):
            script = CampaignScript(campaign_id)
            server.add_campaign(
                campaign_id, meta=server_meta(campaign_id, name), events=event_dicts(script.iteration(1))
            )
        settings = ConnectionSettings(server.base_url, token=DEFAULT_TOKEN, ping_interval=None)

        def open_source(campaign_id: str) -> EventSource:
            return WebSocketSource(campaign_id, settings)

        async def list_campaigns() -> list[Campaign]:
            async with RestClient(settings) as rest:
                return await rest.list_campaigns()

        app = MultiMonitorApp([], open_source=open_source, list_campaigns=list_campaigns, now=lambda: NOW)
        async with app.run_test(size=(100, 30)) as pilot:
            picker = await loaded_picker(pilot, app)  # opened on start: no campaign given
            assert [c.id for c in picker.campaigns] == ["camp-1", "camp-2"]
            await pilot.press("enter")  # nothing marked: the highlighted one
            await wait_for(pilot, lambda: len(app.views) == 1, what="one tab")
            view = app.view_of("camp-1")
            await wait_for(pilot, lambda: view.table.row_count == 5, what="camp-1 rows over the WebSocket")
            assert app.active_view is view
            await pilot.press("o")
            await loaded_picker(pilot, app)
            await pilot.press("down", "space", "enter")
            await wait_for(pilot, lambda: len(app.views) == 2, what="second tab")
            second = app.view_of("camp-2")
            await wait_for(pilot, lambda: second.state.name == "[b]Second[/b]", what="metadata")
            assert app.active_view is second
            await wait_for(
                pilot, lambda: overview_row(app, "camp-2")[1] == "camp-2 · [b]Second[/b]", what="row"
            )
            await pilot.press("q")
        assert app.return_value == ExitCode.OK


async def test_picker_closed_without_a_choice_and_no_campaign_exits_0() -> None:
    async def list_campaigns() -> list[Campaign]:
        return []

    app = MultiMonitorApp([], open_source=lambda c: FakeSource(), list_campaigns=list_campaigns)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CampaignPicker), what="picker")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.is_running, what="exit")
    assert app.return_value == ExitCode.OK


def test_line_output_and_record_take_exactly_one_campaign() -> None:
    import pytest

    from materia_tui.cli.main import build_parser
    from materia_tui.errors import UsageError

    parser = build_parser()
    for argv in (["watch", "camp-a", "camp-b", "--plain"], ["watch", "--json"]):
        args = parser.parse_args(argv)
        with pytest.raises(UsageError, match="exactly one campaign"):
            args.run(args)
    args = parser.parse_args(["watch", "camp-a", "camp-b", "--record", "x.jsonl"])
    with pytest.raises(UsageError, match="records exactly one"):
        args.run(args)
    assert parser.parse_args(["watch", "a", "b", "c"]).campaign_ids == ["a", "b", "c"]
