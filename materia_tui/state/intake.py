"""Folding the source layer's items into the state."""

from __future__ import annotations

from materia_tui.source import EventReceived, FrameRejected, MetadataReceived, NoteAdded, SourceItem
from materia_tui.state.reducer import CampaignState


def apply_item(state: CampaignState, item: SourceItem) -> None:
    """Fold one source item into the state (connection changes are the UI's)."""
    if isinstance(item, EventReceived):
        state.apply(item.event, item.received_at)
    elif isinstance(item, FrameRejected):
        state.apply_rejected(item.rejected, item.received_at)
    elif isinstance(item, MetadataReceived):
        state.set_metadata(item.campaign)
    elif isinstance(item, NoteAdded):
        state.add_note(item.iteration, item.text, item.at)
