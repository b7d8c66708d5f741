"""The demo's evaluator: one reverse-osmosis membrane measurement (membrane.py) per candidate.

``python: "materia_tui.backend.demo.evaluator:evaluate"`` in membrane.yaml: called with
the candidate's parameters, it returns the lab's report. The measurement noise and
the rare instrument failure are seeded by the candidate's number, so a campaign is
reproducible.
"""

from __future__ import annotations

import os
from typing import Any

from materia_tui.backend.demo import membrane


def evaluate(parameters: dict[str, Any]) -> dict[str, Any]:
    candidate = os.environ.get("MATERIA_CANDIDATE_ID", "c-0001")
    index = int(candidate.rsplit("-", 1)[-1]) - 1 if candidate.rsplit("-", 1)[-1].isdigit() else 0
    seed = int(os.environ.get("MATERIA_DEMO_SEED", "0"))
    measurement = membrane.measure(membrane.rounded(parameters), seed=seed, index=index)
    if measurement.error is not None:
        return {"error": measurement.error}
    return {**measurement.objectives, "feasible": measurement.feasible}
