"""Folding the source layer's items into the state."""

from __future__ import annotations

from materia_tui.protocol import CandidatesEvaluated, CandidatesProposed
from materia_tui.source import EventReceived, FrameRejected, MetadataReceived, NoteAdded, SourceItem
from materia_tui.state.heap import TRIMMER
from materia_tui.state.reducer import CampaignState


def apply_item(state: CampaignState, item: SourceItem) -> None:
    """Fold one source item into the state (connection changes are the UI's)."""
    if isinstance(item, EventReceived):
        event = item.event
        state.apply(event, item.received_at)
        if isinstance(event, CandidatesProposed):
            TRIMMER.folded(len(event.candidates))
        elif isinstance(event, CandidatesEvaluated):
            TRIMMER.folded(len(event.results))
    elif isinstance(item, FrameRejected):
        state.apply_rejected(item.rejected, item.received_at)
    elif isinstance(item, MetadataReceived):
        state.set_metadata(item.campaign)
    elif isinstance(item, NoteAdded):
        state.add_note(item.iteration, item.text, item.at)
