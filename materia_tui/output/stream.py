"""Drive a source into the state and print ``--plain`` or ``--json`` lines."""

from __future__ import annotations

import json
import sys
from typing import Literal, TextIO

from materia_tui.errors import ExitCode, exit_code_for
from materia_tui.output.plain import ConnectionNotices, PlainFormatter
from materia_tui.protocol import dump_event_json
from materia_tui.sanitize import clean
from materia_tui.source import (
    ConnectionChanged,
    EventReceived,
    EventSource,
    FrameRejected,
    MetadataReceived,
    NoteAdded,
)
from materia_tui.source.recording import note_record
from materia_tui.state import CampaignState

LineMode = Literal["plain", "json"]


async def print_stream(
    source: EventSource,
    state: CampaignState,
    mode: LineMode,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> ExitCode:
    """Consume ``source`` until it ends; returns the campaign's exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    formatter = PlainFormatter(state)
    notices = ConnectionNotices()
    try:
        async for item in source:
            if isinstance(item, EventReceived):
                if state.apply(item.event, item.received_at) != "applied":
                    continue
                if mode == "json":
                    _write(out, dump_event_json(item.event))
                else:
                    for line in formatter.event_lines(item.event):
                        _write(out, line)
            elif isinstance(item, FrameRejected):
                state.apply_rejected(item.rejected, item.received_at)
                _write(err, formatter.rejected_notice(item.rejected))
            elif isinstance(item, MetadataReceived):
                state.set_metadata(item.campaign)
            elif isinstance(item, NoteAdded):
                note = state.add_note(item.iteration, item.text, item.at)
                if mode == "json":
                    _write(
                        out, json.dumps(note_record(note.iteration, note.text, note.at), ensure_ascii=True)
                    )
                else:
                    where = f"iteration {note.iteration}" if note.iteration is not None else "campaign"
                    _write(out, f"note ({where}): {clean(note.text, 300)}")
            elif isinstance(item, ConnectionChanged):
                notice = notices.notice(item)
                if notice:
                    _write(err, notice)
    finally:
        await source.aclose()
    return exit_code_for(state.status)


def _write(stream: TextIO, line: str) -> None:
    stream.write(line + "\n")
    stream.flush()
