"""The campaign's state: a pure reducer from protocol events to what the monitor shows.

`reducer` folds events into `CampaignState` (its records in `records`, best values and the front
in `scoring`); `store` is the columnar candidate store (its key layouts and the readers'
`CandidateLike` in `candidates`); `pareto` keeps the front; `calibration` pairs predictions with
measurements; `best_series` gives each objective's best per completed iteration. No Textual, no I/O.
"""

from materia_tui.state.candidates import CandidateLike, CandidateStatus
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
from materia_tui.state.store import CandidateRows, CandidatesById, CandidateStore, CandidateView

__all__ = [
    "ETA_WINDOW",
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
