"""The campaign's record: candidates, results, and what each iteration has published.

Built by the runner as it goes, or rebuilt from a journal by ``from_events``
(the same events, in the same order), so a resumed campaign continues exactly
where the journal stops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from materia_tui.backend.run.config import LoadedConfig
from materia_tui.backend.run.evaluation import EvaluationOutcome, ParameterValue
from materia_tui.backend.run.progress import Measured

# How far an iteration got: the last of its events that was published.
Phase = Literal["started", "trained", "proposed", "evaluated", "completed", "done"]


@dataclass(frozen=True, slots=True)
class Candidate:
    id: str
    iteration: int
    parameters: dict[str, ParameterValue]
    predicted: dict[str, float]
    uncertainty: dict[str, float]
    acquisition_value: float | None

    def event(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "parameters": dict(self.parameters)}
        if self.predicted:
            out["predicted"] = dict(self.predicted)
            out["uncertainty"] = dict(self.uncertainty)
        if self.acquisition_value is not None:
            out["acquisition_value"] = self.acquisition_value
        return out


@dataclass(frozen=True, slots=True)
class Result:
    candidate_id: str
    objectives: dict[str, float]
    feasible: bool
    error: str | None

    def event(self) -> dict[str, Any]:
        return {
            "candidate_id": self.candidate_id,
            "objectives": dict(self.objectives),
            "feasible": self.feasible,
            "error": self.error,
        }


@dataclass(slots=True)
class Ledger:
    loaded: LoadedConfig
    candidates: dict[str, Candidate] = field(default_factory=dict)
    results: dict[str, Result] = field(default_factory=dict)
    iteration: int = 0  # the latest iteration started
    phase: Phase = "done"
    finished: str | None = None  # "completed" or "failed" when the journal ends the campaign

    @property
    def objective_names(self) -> list[str]:
        return list(self.loaded.config.objectives)

    def next_candidate_id(self) -> str:
        return f"c-{len(self.candidates) + 1:04d}"

    def pending(self) -> list[Candidate]:
        """Proposed in the current iteration, not measured yet."""
        current = self.iteration
        return [c for c in self.candidates.values() if c.iteration == current and c.id not in self.results]

    def iteration_results(self, iteration: int) -> list[Result]:
        ids = [c.id for c in self.candidates.values() if c.iteration == iteration]
        return [self.results[i] for i in ids if i in self.results]

    def to_result(self, outcome: EvaluationOutcome) -> Result:
        """The evaluator's outcome judged against the config: objectives present, constraints met."""
        if outcome.error is not None:
            return Result(outcome.candidate_id, {}, False, outcome.error)
        missing = [name for name in self.objective_names if name not in outcome.objectives]
        if missing:
            got = ", ".join(sorted(outcome.objectives)) or "none"
            reason = f"the output lacks {', '.join(missing)} (numbers found: {got})"
            return Result(outcome.candidate_id, {}, False, reason[:300])
        objectives = {name: outcome.objectives[name] for name in self.objective_names}
        constraints = self.loaded.config.constraints
        feasible = outcome.feasible and all(c.allows(objectives[name]) for name, c in constraints.items())
        return Result(outcome.candidate_id, objectives, feasible, None)

    def measured(self) -> list[Measured]:
        """Feasible measurements, in maximize form."""
        signs = [1.0 if o.direction == "maximize" else -1.0 for o in self.loaded.config.objectives.values()]
        out = []
        for candidate in self.candidates.values():
            result = self.results.get(candidate.id)
            if result is None or result.error is not None or not result.feasible:
                continue
            values = tuple(s * result.objectives[n] for s, n in zip(signs, self.objective_names, strict=True))
            out.append(Measured(candidate.id, candidate.iteration, values))
        return out

    def best_primary(self) -> float | None:
        """The running best of the first objective, in its own direction."""
        measured = self.measured()
        if not measured:
            return None
        first = next(iter(self.loaded.config.objectives.values()))
        best = max(m.values[0] for m in measured)
        return best if first.direction == "maximize" else -best

    def failed_streak(self) -> int:
        """Completed iterations in a row, ending with the latest, in which every evaluation failed."""
        streak = 0
        last = self.iteration if self.phase in ("evaluated", "completed", "done") else self.iteration - 1
        for iteration in range(last, 0, -1):
            results = self.iteration_results(iteration)
            if results and all(r.error is not None for r in results):
                streak += 1
            else:
                break
        return streak

    # ----- rebuilding from a journal ---------------------------------------------------

    def apply(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "iteration_started":
            self.iteration, self.phase = int(event["iteration"]), "started"
        elif kind == "surrogate_trained":
            self.phase = "trained"
        elif kind == "candidates_proposed":
            for c in event["candidates"]:
                self.candidates[c["id"]] = Candidate(
                    c["id"],
                    int(event["iteration"]),
                    dict(c["parameters"]),
                    dict(c.get("predicted") or {}),
                    dict(c.get("uncertainty") or {}),
                    c.get("acquisition_value"),
                )
            self.phase = "proposed"
        elif kind == "candidates_evaluated":
            for r in event["results"]:
                objectives = dict(r.get("objectives") or {})
                feasible = bool(r.get("feasible", True))
                self.results[r["candidate_id"]] = Result(
                    r["candidate_id"], objectives, feasible, r.get("error")
                )
            self.phase = "evaluated"
        elif kind == "iteration_completed":
            self.phase = "completed"
        elif kind == "convergence_update":
            self.phase = "done"
        elif kind == "campaign_completed":
            self.finished = "completed"
        elif kind == "campaign_error" and event.get("fatal"):
            self.finished = "failed"
