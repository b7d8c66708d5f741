"""A campaign's analysis: parameter importance, the hypervolume trace and the stop advice.

One computation for ``materia-tui analyze`` (text or ``--json``) and the
monitor's views, so both say the same over the same data. Everything comes
from ``candidate_columns(state)`` (the one bulk read of candidates) and the
state's calibration, through the pure functions of ``materia_tui.insight``.

The trace: the hypervolume of the measured feasible front after each
iteration (two or more objectives; the reference point is the automatic one of
``insight.hypervolume.reference_point``: 10% of the measured range beyond the
worst measured value, chosen from the data and kept), or the best-so-far
value for one objective. Importance is permutation importance on a random
forest (``insight.importance``: seconds per objective at its 5,000-row cap,
so a UI computes it in a thread worker).

numpy (and, for importance, scikit-learn) are imported with this module's
callers' first use: never import it at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from materia_tui.insight.advisor import Advice, Coverage, advise
from materia_tui.insight.hypervolume import Trace, hypervolume_trace
from materia_tui.insight.importance import Importance, importance_by_objective
from materia_tui.state import CampaignState
from materia_tui.state.columns import CandidateColumns, candidate_columns
from materia_tui.state.live_columns import LiveColumns


@dataclass(frozen=True, slots=True)
class Analysis:
    campaign_id: str
    measured: int  # candidates with a measured objective
    objectives: tuple[str, ...]
    importance: Mapping[str, Importance]  # empty when not computed
    trace: Trace | None  # None: no objectives
    advice: Advice | None

    @property
    def reference_point(self) -> dict[str, float]:
        if self.trace is None or self.trace.reference is None:
            return {}
        return dict(zip(self.objectives, self.trace.reference, strict=True))


def campaign_trace(columns: CandidateColumns) -> Trace | None:
    """The hypervolume (or best-so-far) trace of the measured feasible candidates."""
    names = list(columns.objectives)
    if not names:
        return None
    known = np.isfinite(columns.iteration)
    every = bool(known.all())  # the usual case: no row to leave out, no copy to leave it out
    # One copy of the known rows' values (a million rows: 16 MB), the infeasible ones blanked
    # in it, as ``hypervolume_trace`` would blank them in a copy of its own.
    values = np.empty((int(known.sum()), len(names)))
    for column, name in enumerate(names):
        values[:, column] = columns.objectives[name] if every else columns.objectives[name][known]
    values[~(columns.feasible if every else columns.feasible[known])] = np.nan
    iterations = columns.iteration if every else columns.iteration[known]
    return hypervolume_trace(iterations.astype(np.int64), values, [columns.directions[n] for n in names])


def coverage_of(
    columns: CandidateColumns | LiveColumns, keep: NDArray[np.bool_] | None = None
) -> list[Coverage]:
    """Each objective's ±2 sigma coverage, for the advisor (objectives without one left out):
    of the measured candidates with a prediction and a usable sigma (> 0), the fraction whose
    measurement lies within 2 sigma of it (as the parity plot's calibration counts); of the
    rows ``keep`` marks (None: every row), whose status is a measurement (``measured``:
    live columns hold a failed evaluation's value too; a snapshot's are NaN already)."""
    import numpy as np

    status = columns.measured
    found: list[Coverage] = []
    for name, measured in columns.objectives.items():
        predicted, sigma = columns.predicted.get(name), columns.uncertainty.get(name)
        if predicted is None or sigma is None:
            continue
        count = within = 0
        # In slices: a million rows at once would cost ~50 MB of temporary arrays.
        for start in range(0, len(measured), COVERAGE_CHUNK):
            part = slice(start, start + COVERAGE_CHUNK)
            m, p, s = measured[part], predicted[part], sigma[part]
            with np.errstate(invalid="ignore"):
                usable = np.isfinite(m) & np.isfinite(p) & np.isfinite(s) & (s > 0)
                if keep is not None:
                    usable &= keep[part]
                usable &= status[part]
                count += int(usable.sum())
                within += int((np.abs(m[usable] - p[usable]) <= 2 * s[usable]).sum())
        if count:
            found.append(Coverage(name, within / count, count))  # (as exact as a mean of flags)
    return found


COVERAGE_CHUNK = 1 << 16


def advice_for(trace: Trace, columns: CandidateColumns, coverage: list[Coverage]) -> Advice:
    objective = next(iter(columns.objectives), None)
    direction = columns.directions.get(objective or "", "maximize")
    return advise(
        trace.values(), kind=trace.kind, objective=objective, direction=direction, coverage=coverage
    )


def campaign_importance(columns: CandidateColumns) -> dict[str, Importance]:
    """Every objective's parameter importance (seconds: never on a UI thread)."""
    if not columns.parameters or not columns.objectives:
        return {}
    return importance_by_objective(columns.parameters, columns.objectives)


def analyze_state(state: CampaignState, *, importance: bool = True) -> Analysis:
    columns = candidate_columns(state)
    trace = campaign_trace(columns)
    advice = advice_for(trace, columns, coverage_of(columns)) if trace is not None else None
    return Analysis(
        campaign_id=state.campaign_id,
        measured=int(columns.measured.sum()),
        objectives=tuple(columns.objectives),
        importance=campaign_importance(columns) if importance else {},
        trace=trace,
        advice=advice,
    )


def analysis_document(analysis: Analysis) -> dict[str, Any]:
    """The object ``analyze --json`` prints (issue 18's shape; strict JSON, no NaN)."""
    points = analysis.trace.points if analysis.trace is not None else ()
    return {
        "campaign_id": analysis.campaign_id,
        "measured": analysis.measured,
        "importance": {
            objective: dict(result.ranking()) for objective, result in analysis.importance.items()
        },
        "hypervolume": [
            {"iteration": point.iteration, "value": point.value}
            for point in points
            if point.value is not None
        ],
        "reference_point": analysis.reference_point,
        "advice": {
            "stop": analysis.advice.stop if analysis.advice else False,
            "reasons": list(analysis.advice.reasons) if analysis.advice else [],
        },
    }


def analysis_lines(analysis: Analysis, width: int = 30) -> list[str]:
    """The same analysis as text for a terminal or a report."""
    lines = [f"campaign {analysis.campaign_id}: {analysis.measured} measured"]
    for objective, result in analysis.importance.items():
        lines.append(f"importance for {objective} ({result.rows} measurements):")
        if not result.informative:
            lines.append(f"  {result.reason}")
            continue
        for name, score in result.ranking():
            bar = "█" * round(score * width)
            lines.append(f"  {name:<20} {bar} {score:.2f}")
    trace = analysis.trace
    if trace is not None:
        what = "hypervolume" if trace.kind == "hypervolume" else "best so far"
        if analysis.reference_point:
            ref = ", ".join(f"{k}={v:.4g}" for k, v in analysis.reference_point.items())
            lines.append(f"{what} (reference point {ref}):")
        else:
            lines.append(f"{what}:")
        for point in trace.points:
            if point.value is not None:
                lines.append(f"  iteration {point.iteration:>4}  {point.value:.6g}")
    if analysis.advice is not None:
        verdict = "stop" if analysis.advice.stop else "continue"
        lines.append(f"advice: {verdict}: {analysis.advice.line}")
    return lines
