"""The campaign's state: a pure reducer from protocol events to what the monitor shows.

`reducer` folds events into `CampaignState`; `candidates` is the compact candidate store;
`pareto` keeps the front; `calibration` pairs predictions with measurements; `best_series`
gives each objective's best per completed iteration. No Textual, no I/O.
"""

from materia_tui.state.candidates import CandidateRecord, CandidateStatus
from materia_tui.state.reducer import (
    ETA_WINDOW,
    BestValue,
    CampaignState,
    ConvergencePoint,
    Counters,
    ErrorRecord,
    IterationRecord,
    LogEntry,
    Note,
)

__all__ = [
    "ETA_WINDOW",
    "BestValue",
    "CampaignState",
    "CandidateRecord",
    "CandidateStatus",
    "ConvergencePoint",
    "Counters",
    "ErrorRecord",
    "IterationRecord",
    "LogEntry",
    "Note",
]
