"""Folding the source layer's items into the state."""

from __future__ import annotations

from materia_tui.protocol import CandidatesEvaluated, CandidatesProposed
from materia_tui.source import EventReceived, FrameRejected, MetadataReceived, NoteAdded, SourceItem
from materia_tui.state.heap import TRIMMER
from materia_tui.state.reducer import CampaignState

# Only batches this large count towards the heap trims (``state/heap.py``). A small
# batch's transient objects come back from the allocator's free lists frame after
# frame: there is little for a trim to hand back, and what it hands back is faulted
# in again by the next frames (5-candidate frames: a trim every 1,000 frames, ~0.6 ms
# each plus the faults after it; 0.3-1 us a frame in bench_source, ~5% fewer page faults).
TRIMMED_BATCH = 100


def apply_item(state: CampaignState, item: SourceItem) -> None:
    """Fold one source item into the state (connection changes are the UI's)."""
    if isinstance(item, EventReceived):
        event = item.event
        state.apply(event, item.received_at)
        if isinstance(event, CandidatesProposed):
            size = len(event.candidates)
        elif isinstance(event, CandidatesEvaluated):
            size = len(event.results)
        else:
            return
        if size >= TRIMMED_BATCH:
            TRIMMER.folded(size)
    elif isinstance(item, FrameRejected):
        state.apply_rejected(item.rejected, item.received_at)
    elif isinstance(item, MetadataReceived):
        state.set_metadata(item.campaign)
    elif isinstance(item, NoteAdded):
        state.add_note(item.iteration, item.text, item.at)
