"""A comparable summary of a CampaignState, for "same final state" assertions."""

from __future__ import annotations

from typing import Any

from materia_tui.state import CampaignState


def fingerprint(state: CampaignState) -> dict[str, Any]:
    return {
        "status": state.status,
        "phase": state.phase,
        "current_iteration": state.current_iteration,
        "iterations": {
            n: (
                it.started_at,
                it.trained_at,
                it.proposed_at,
                it.evaluated_at,
                it.completed_at,
                it.train_loss,
                it.val_loss,
                it.proposed,
                it.evaluated,
                it.best_value,
                it.pareto_size,
            )
            for n, it in state.iterations.items()
        },
        "candidates": [
            (
                c.id,
                c.row,
                c.iteration,
                c.parameters,
                c.predicted,
                c.uncertainty,
                c.acquisition_value,
                c.objectives,
                c.feasible,
                c.error,
                c.status,
                c.on_front,
            )
            for c in state.candidate_list
        ],
        "evaluations": state.evaluations,
        "best": dict(state.best),
        "best_history": list(state.best_history),
        "front": sorted(state.front_ids()),
        "convergence": list(state.convergence),
        "converged_at": state.converged_at,
        "errors": list(state.errors),
        "totals": (state.total_iterations, state.total_evaluations),
        "applied": state.counters.applied,
        "started_at": state.started_at,
        "finished_at": state.finished_at,
        "last_seq": state.last_seq,
    }
