"""The campaign's state: a pure reducer from protocol events to what the monitor shows.

`reducer` folds events into `CampaignState` (its records in `records`, best values and the front
in `scoring`); `store` is the columnar candidate store (views in `candidates`); `pareto` keeps the
front; `calibration` pairs predictions with measurements; `best_series` gives each objective's best
per completed iteration. No Textual, no I/O.
"""

from materia_tui.state.candidates import CandidateLike, CandidateRecord, CandidateStatus
from materia_tui.state.records import (
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

__all__ = [
    "ETA_WINDOW",
    "BestValue",
    "CampaignState",
    "CandidateLike",
    "CandidateRecord",
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
