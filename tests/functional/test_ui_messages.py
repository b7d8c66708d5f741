"""A burst of "the view repainted" messages reaches the app as one (Textual's ``can_replace``)."""

from __future__ import annotations

from pathlib import Path

from materia_tui.ui import app as app_module
from materia_tui.ui.app import MonitorApp
from materia_tui.ui.campaign_view import CampaignView
from tests.support.fake_source import T0, FakeSource, campaign_items
from tests.support.waiting import wait_for


class CountingApp(MonitorApp):
    CSS_PATH = str(Path(app_module.__file__).with_name("app.tcss"))  # relative paths follow the subclass
    refreshed_for: list[str]

    def on_campaign_view_refreshed(self, message: CampaignView.Refreshed) -> None:
        # Textual runs this beside MonitorApp's own handler (one per class in the MRO).
        self.refreshed_for.append(message.view.campaign_id)


async def test_a_burst_of_refreshed_messages_is_handled_once() -> None:
    source = FakeSource(campaign_items(2))
    app = CountingApp(source, "camp-123", now=lambda: T0 + 500)
    app.refreshed_for = []
    async with app.run_test(size=(80, 24)) as pilot:
        source.release_all()
        await wait_for(
            pilot, lambda: app.view.up_to_date and app.view.state.completed_iterations == 2, what="caught up"
        )
        await pilot.pause(0.2)
        app.refreshed_for.clear()
        for _ in range(50):  # posted in one go, before the view's queue runs
            app.view.post_message(CampaignView.Refreshed(app.view))
        await pilot.pause(0.2)
        assert app.refreshed_for == ["camp-123"]
