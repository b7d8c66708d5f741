"""Notes: ``N`` pins a note to the current iteration; it shows in the event log, goes into the
recording (``watch --record``), comes back in ``replay`` and goes into exports."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from materia_tui.cli.analyze import state_from_recording
from materia_tui.output.export import export_document, write_csv
from materia_tui.source import NoteAdded
from materia_tui.source.recording import Recorder, RecordingSource, decode_line
from materia_tui.ui.app import MonitorApp
from materia_tui.ui.widgets.event_log import EventLog, log_line
from tests.functional.test_cli_replay import cli
from tests.support.fake_source import T0, FakeSource, campaign_items
from tests.support.waiting import wait_for

NOTE = "membrane batch 7 looked cloudy; check the PA supplier"


async def test_a_note_goes_to_the_log_the_recording_the_replay_and_the_exports(tmp_path: Path) -> None:
    recording = tmp_path / "run.jsonl"
    fake = FakeSource(campaign_items(4))
    source = RecordingSource(fake, Recorder(recording))
    app = MonitorApp(source, "camp-123", now=lambda: T0 + 500)
    async with app.run_test(size=(120, 40)) as pilot:
        fake.release_all()
        await wait_for(pilot, lambda: fake.drained and app.view.up_to_date, what="stream drawn")
        await pilot.press("N")
        await pilot.press(*NOTE)
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(app.view.state.notes), what="note pinned")
        assert app.view.state.notes[0].iteration == 4 and app.view.state.notes[0].text == NOTE
        await wait_for(pilot, lambda: app.view.up_to_date, what="log drawn")
        log = app.query_one(EventLog)
        last = log_line(app.view.state.log[-1])
        assert last.endswith(f"note (iteration 4): {NOTE}")
        shown = [log.render_line(y).text for y in range(log.size.height)]
        assert any(f"note (iteration 4): {NOTE[:30]}" in line for line in shown)
    lines = recording.read_text(encoding="utf-8").splitlines()
    notes = [decode_line(line, 0.0) for line in lines if '"note"' in line]
    assert len(notes) == 1 and notes[0] is not None
    assert notes[0].item == NoteAdded(4, NOTE, T0 + 500)
    # replay shows it
    replayed = cli("replay", str(recording), "--plain")
    assert replayed.returncode == 0, replayed.stderr
    assert f"note (iteration 4): {NOTE}" in replayed.stdout
    # and the state a replay ends in carries it into the exports
    state = state_from_recording(recording)
    document = export_document(state)
    assert document["notes"] == [{"iteration": 4, "text": NOTE, "at": T0 + 500}]
    out = io.StringIO()
    write_csv(state, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert {row["notes"] for row in rows if row["iteration"] == "4"} == {NOTE}
    assert {row["notes"] for row in rows if row["iteration"] != "4"} == {""}
    json.dumps(document, allow_nan=False)


def test_a_bad_note_line_costs_that_line_only() -> None:
    decoded = decode_line('{"note": {"iteration": "x", "text": 3}, "received_at": 5}', 0.0)
    assert decoded is not None and type(decoded.item).__name__ == "FrameRejected"
