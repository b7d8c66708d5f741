"""The campaign's state: a pure reducer from protocol events to what the monitor shows.

`reducer` folds events into `CampaignState` (its records in `records`, best values and the front
in `scoring`); `store` is the columnar candidate store (its views are what readers get, as
`CandidateLike`; its key layouts in `candidates`); `pareto` keeps the front; `calibration` pairs
predictions with measurements; `best_series` gives each objective's best per completed iteration.
No Textual, no I/O.
"""

from typing import TypeAlias

from materia_tui.state.candidates import CandidateStatus
from materia_tui.state.records import (
    BatchSummary,
    BestValue,
    ConvergencePoint,
    Counters,
    ErrorRecord,
    IterationRecord,
    LogEntry,
    Note,
)
from materia_tui.state.reducer import ETA_WINDOW, CampaignState
from materia_tui.state.store import CandidateStore
from materia_tui.state.views import CandidateRows, CandidatesById, CandidateView

# What readers of a candidate use: the store's view (``state.candidates``, ``state.candidate_list``).
CandidateLike: TypeAlias = CandidateView

__all__ = [
    "ETA_WINDOW",
    "BatchSummary",
    "BestValue",
    "CampaignState",
    "CandidateLike",
    "CandidateRows",
    "CandidateStatus",
    "CandidateStore",
    "CandidateView",
    "CandidatesById",
    "ConvergencePoint",
    "Counters",
    "ErrorRecord",
    "IterationRecord",
    "LogEntry",
    "Note",
]
