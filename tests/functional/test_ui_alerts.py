"""Alerts from the monitor: a toast, the bell and (with --notify) an OSC desktop notification."""

from __future__ import annotations

import pytest

from materia_tui.cli.main import build_parser
from materia_tui.output.alerts import Alerter, AlertSettings
from materia_tui.source import ConnectionChanged, MetadataReceived
from materia_tui.ui.app import MonitorApp
from tests.support.fake_source import T0, CampaignScript, FakeSource, campaign_items, campaign_metadata
from tests.support.toasts import record_toasts
from tests.support.waiting import wait_for


def capturing_app(
    source: FakeSource, settings: AlertSettings
) -> tuple[MonitorApp, list[str], list[tuple[str, str]]]:
    """A monitor whose alert bytes (a headless driver writes none) and toasts land in lists."""
    app = MonitorApp(source, "camp-123", now=lambda: T0 + 500, alerts=settings)
    written: list[str] = []
    app.alerter = Alerter(settings, written.append, env={"TERM": "xterm-256color"})
    return app, written, record_toasts(app)


async def test_convergence_and_completion_toast_and_ring_once() -> None:
    source = FakeSource(campaign_items(4, complete=True, converge_at=3))
    app, written, shown_toasts = capturing_app(source, AlertSettings())
    async with app.run_test(size=(120, 40)) as pilot:
        source.release_all()
        await wait_for(pilot, lambda: len(app.alerts_shown) == 2, what="two alerts")
        assert [a.kind for a in app.alerts_shown] == ["converged", "completed"]
        shown = list(shown_toasts)
        assert ("RO membrane screen: converged", "at iteration 3") in shown
        assert ("RO membrane screen: completed", "4 iterations, 20 evaluations") in shown
        assert written == ["\x07", "\x07"]  # the bell, no desktop notification unless enabled
        await pilot.pause(0.1)  # later refreshes must not alert again
        source.add(*CampaignScript(seed=3).rejected("late garbage"))
        source.release_all()
        await wait_for(pilot, lambda: app.view.state.counters.rejected == 2, what="one more frame")
        assert len(app.alerts_shown) == 2 and len(written) == 2


async def test_a_completed_history_without_its_completion_event_toasts_once_it_is_all_in() -> None:
    script = CampaignScript()
    history = [MetadataReceived(campaign_metadata(status="completed"))]
    for number in (1, 2):
        history += script.iteration(number)
    source = FakeSource(history)
    app, written, shown_toasts = capturing_app(source, AlertSettings(on_converged=False))
    async with app.run_test(size=(120, 40)) as pilot:
        source.release_all()
        await wait_for(pilot, lambda: app.view.state.completed_iterations == 2, what="the history")
        await pilot.pause(0.1)
        assert app.alerts_shown == []  # the stream may still bring more of the history
        source.add(ConnectionChanged("live"))
        source.release_all()
        await wait_for(pilot, lambda: len(app.alerts_shown) == 1, what="the completion alert")
        assert ("RO membrane screen: completed", "2 iterations, 10 evaluations") in list(shown_toasts)
        assert written == ["\x07"]


async def test_notify_sends_a_desktop_notification_with_inert_text() -> None:
    script = CampaignScript()
    hostile = "cell 3 leaked \x1b]0;pwned\x07; rm -rf"
    items = [MetadataReceived(campaign_metadata()), *script.iteration(1)]
    source = FakeSource([*items, *script.error(hostile, fatal=False, iteration=1)])
    app, written, shown_toasts = capturing_app(source, AlertSettings(desktop=True, protocol="osc9"))
    async with app.run_test(size=(80, 24)) as pilot:
        source.release_all()
        await wait_for(pilot, lambda: len(app.alerts_shown) == 1, what="error alert")
        alert = app.alerts_shown[0]
        assert alert.kind == "error" and alert.severity == "warning"
        assert len(written) == 1
        data = written[0]
        assert data.startswith("\x07\x1b]9;RO membrane screen: error: iteration 1: cell 3 leaked")
        assert data.endswith("\x07") and data.count("\x1b") == 1 and data.count("\x07") == 2
        assert "pwned" in data and ";" not in data.removeprefix("\x07\x1b]9;")  # no field injection
        assert any(title == "RO membrane screen: error" for title, _ in shown_toasts)


async def test_failure_alert_and_no_desktop_bytes_without_notify() -> None:
    source = FakeSource(campaign_items(2, fail="optimizer crashed"))
    app, written, _ = capturing_app(source, AlertSettings())
    async with app.run_test(size=(80, 24)) as pilot:
        source.release_all()
        await wait_for(pilot, lambda: any(a.kind == "failed" for a in app.alerts_shown), what="failed")
        failed = next(a for a in app.alerts_shown if a.kind == "failed")
        assert failed.severity == "error" and failed.body == "optimizer crashed"
        assert all(chunk == "\x07" for chunk in written)


@pytest.mark.parametrize("command", ["watch camp-1", "replay run.jsonl", "demo"])
def test_notify_flag_enables_desktop_notifications(command: str) -> None:
    parser = build_parser()
    assert parser.parse_args([*command.split(), "--notify"]).notify is True
    assert parser.parse_args(command.split()).notify is False
