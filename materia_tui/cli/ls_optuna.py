"""``materia-tui ls --optuna STORAGE``: the studies of an Optuna storage, as a table or JSON."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from materia_tui.cli.ls import aligned_table, print_listing

if TYPE_CHECKING:
    from materia_tui.source.optuna_listing import StudyRow

HEADERS = ("STUDY", "OBJECTIVES", "TRIALS", "RUNNING", "BEST")


def run_optuna(args: argparse.Namespace) -> int:
    from materia_tui.source.optuna_listing import study_rows

    rows = study_rows(args.optuna)
    print_listing(args.json, "studies", [row_json(row) for row in rows], lambda: table_lines(rows))
    return 0


def row_json(row: StudyRow) -> dict[str, Any]:
    from materia_tui.source.optuna_study import finite

    return {
        "study": row.name,
        "campaign_id": row.campaign_id,
        "objectives": [
            {"name": n, "direction": d} for n, d in zip(row.objectives, row.directions, strict=True)
        ],
        "trials": row.trials,
        "finished": row.finished,
        "running": row.running,
        "best_value": finite(row.best_value) if row.best_value is not None else None,
        "best_trial": row.best_trial,
    }


def table_lines(rows: list[StudyRow]) -> list[str]:
    return aligned_table(HEADERS, [_cells(row) for row in rows]) if rows else ["No studies."]


def _cells(row: StudyRow) -> tuple[str, str, str, str, str]:
    from materia_tui.output.numbers import format_value
    from materia_tui.sanitize import clean

    arrows = {"minimize": "min", "maximize": "max"}
    objectives = ", ".join(
        f"{clean(n, 24)} ({arrows.get(d, d)})" for n, d in zip(row.objectives, row.directions, strict=True)
    )
    best = "-"
    if row.best_value is not None:
        best = f"{format_value(row.best_value)} (trial {row.best_trial})"
    elif len(row.objectives) > 1:
        best = "Pareto front: watch it"
    return (clean(row.name, 40), objectives, f"{row.finished}/{row.trials}", str(row.running), best)
