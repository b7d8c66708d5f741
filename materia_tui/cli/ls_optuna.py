"""``materia-tui ls --optuna STORAGE``: the studies of an Optuna storage, as a table or JSON."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from materia_tui.source.optuna_listing import StudyRow

HEADERS = ("STUDY", "OBJECTIVES", "TRIALS", "RUNNING", "BEST")


def run_optuna(args: argparse.Namespace) -> int:
    from materia_tui.source.optuna_listing import study_rows

    rows = study_rows(args.optuna)
    if args.json:
        print(json.dumps({"studies": [row_json(row) for row in rows]}, indent=2, allow_nan=False))
    else:
        for line in table_lines(rows):
            print(line)
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
    if not rows:
        return ["No studies."]
    cells = [HEADERS, *(_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADERS))]
    return ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in cells]


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
