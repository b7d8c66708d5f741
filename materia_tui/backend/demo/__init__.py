"""The demo backend: a membrane model, a Bayesian optimizer, and a campaign that publishes events.

``from materia_tui.backend.demo import run_campaign, MemorySink`` works, but lazily:
the optimizer pulls in scikit-learn, which only the campaign itself needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from materia_tui.backend.demo.campaign import (
        CampaignRecord,
        CampaignSink,
        EvaluationRecord,
        IterationStats,
        MemorySink,
        run_campaign,
    )

__all__ = [
    "CampaignRecord",
    "CampaignSink",
    "EvaluationRecord",
    "IterationStats",
    "MemorySink",
    "run_campaign",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("materia_tui.backend.demo.campaign"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
