"""Replay controls in the monitor: pause the replay itself, step, jump to the end, speed."""

from __future__ import annotations

from pathlib import Path

from materia_tui.errors import ExitCode
from materia_tui.source import EventReceived
from materia_tui.source.recording import Recorder
from materia_tui.source.replay import ReplaySource
from materia_tui.ui.app import MonitorApp
from materia_tui.ui.widgets.status_bar import StatusBar
from tests.support.fake_source import CampaignScript, campaign_metadata
from tests.support.waiting import wait_for

ITERATIONS = 3


def write_recording(path: Path) -> Path:
    """A 3-iteration campaign as ``watch --record`` writes it (real gaps of 2-12 s)."""
    script = CampaignScript()
    with Recorder(path) as recorder:
        recorder.record_metadata(campaign_metadata(max_iterations=ITERATIONS), 0.0)
        for number in range(1, ITERATIONS + 1):
            for item in script.iteration(number):
                assert isinstance(item, EventReceived)
                recorder.record(item.event, item.received_at)
        for item in script.completed(ITERATIONS):
            assert isinstance(item, EventReceived)
            recorder.record(item.event, item.received_at)
    return path


def status(app: MonitorApp) -> str:
    return app.query_one(StatusBar).shown_plain


async def test_pause_step_speed_and_jump_to_the_end(tmp_path: Path) -> None:
    source = ReplaySource(write_recording(tmp_path / "run.jsonl"), speed=1.0)
    app = MonitorApp(source, "camp-123")
    control = source.control
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.view.state.counters.applied >= 1, what="first event")
        await pilot.press("space")  # pauses the replay, in the middle of a recorded gap
        assert control.paused and not app.view.paused  # the replay, not the display
        await wait_for(pilot, lambda: "REPLAY PAUSED" in status(app), what="paused shown")
        # Recorded months ago, yet not "quiet": a replay's times are the recording's.
        assert "last 00:00:" in status(app) and "quiet" not in status(app)
        applied = app.view.state.counters.applied
        for _ in range(12):
            await pilot.press("plus")  # x4096: without the pause it would all play at once
        assert control.speed == 4096 and control.paused
        await pilot.pause(0.3)
        assert app.view.state.counters.applied == applied  # nothing is read while paused
        await pilot.press("n")
        await wait_for(pilot, lambda: control.paused, what="step done")
        assert app.view.state.completed_iterations == 1 and app.view.state.current_iteration == 1
        await pilot.press("n")
        await wait_for(pilot, lambda: control.paused and app.view.state.completed_iterations == 2, what="step 2")
        await wait_for(pilot, lambda: "REPLAY PAUSED" in status(app), what="paused after step")
        await pilot.press("minus", "minus")
        assert control.speed == 1024
        await pilot.press("G")
        await wait_for(pilot, lambda: app.view.state.status == "completed", what="end of the replay")
        await wait_for(pilot, lambda: "REPLAY END" in status(app), what="end shown")
        assert app.view.state.completed_iterations == ITERATIONS
        await pilot.press("q")
    assert app.return_value == ExitCode.OK


async def test_end_key_jumps_and_space_resumes_at_the_new_speed(tmp_path: Path) -> None:
    source = ReplaySource(write_recording(tmp_path / "run.jsonl"), speed=1.0)
    app = MonitorApp(source, "camp-123")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.view.state.counters.applied >= 1, what="first event")
        await wait_for(pilot, lambda: "REPLAY X1" in status(app), what="speed shown")
        await pilot.press("space")
        for _ in range(12):
            await pilot.press("plus")
        await pilot.press("space")  # resumes at x4096: gaps of a few ms
        await wait_for(pilot, lambda: app.view.state.status == "completed", what="fast finish")
    source = ReplaySource(write_recording(tmp_path / "run2.jsonl"), speed=1.0)
    app = MonitorApp(source, "camp-123")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.view.state.counters.applied >= 1, what="first event")
        await pilot.press("end")
        await wait_for(pilot, lambda: app.view.state.status == "completed", what="end key")


async def test_replay_keys_do_nothing_for_a_live_source(tmp_path: Path) -> None:
    from tests.support.fake_source import FakeSource, campaign_items

    source = FakeSource(campaign_items(2))
    app = MonitorApp(source, "camp-123")
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.view.replay is None
        assert not app.view.check_action("replay", ("step_iteration",))
        await pilot.press("n", "G", "plus")
        await pilot.press("space")
        assert app.view.paused  # space freezes the display of a live campaign
        assert "REPLAY" not in status(app)
