"""Large Optuna studies written fast, for benchmarks and tests (no optimizer run).

``study.optimize`` commits each trial in several transactions (~5 ms a trial on
SQLite): 50,000 trials would take minutes. These helpers write what Optuna
itself would have written, in one transaction (SQLite, through Optuna's own
table models) or as one journal write, and Optuna reads the result back like
any study (the tests check ``load_study`` on it).

Trials: two parameters (``x`` float in [-10, 10], ``n`` int in [1, 8]), value
``(x - 2)**2 + n``; every 50th trial FAIL, every 37th PRUNED; datetimes one
second apart from a fixed day.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
X_DIST = {"name": "FloatDistribution", "attributes": {"low": -10.0, "high": 10.0, "log": False, "step": None}}
N_DIST = {"name": "IntDistribution", "attributes": {"low": 1, "high": 8, "log": False, "step": 1}}


def trial_fields(number: int) -> dict[str, Any]:
    """Deterministic content of trial ``number``."""
    x = -10.0 + 20.0 * ((number * 7919) % 10007) / 10007
    n = 1 + number % 8
    state = "FAIL" if number % 50 == 49 else "PRUNED" if number % 37 == 36 else "COMPLETE"
    value = None if state == "FAIL" else (x - 2) ** 2 + n
    start = START + timedelta(seconds=number)
    return {"x": x, "n": n, "state": state, "value": value, "start": start, "end": start + timedelta(seconds=0.9)}


def make_sqlite_study(path: Path, n_trials: int, study_name: str = "big") -> str:
    """A study of ``n_trials`` finished trials in a new SQLite file; returns its URL."""
    import optuna
    from optuna.storages._rdb import models
    from optuna.trial import TrialState

    url = f"sqlite:///{path}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(url)
    study_id = storage.create_new_study([optuna.study.StudyDirection.MINIMIZE], study_name)
    trials, params, values = [], [], []
    for number in range(n_trials):
        f = trial_fields(number)
        trial_id = number + 1
        trials.append(
            {
                "trial_id": trial_id,
                "number": number,
                "study_id": study_id,
                "state": TrialState[f["state"]],
                "datetime_start": f["start"].replace(tzinfo=None),  # Optuna 5 stores naive UTC
                "datetime_complete": f["end"].replace(tzinfo=None),
            }
        )
        params.append({"trial_id": trial_id, "param_name": "x", "param_value": f["x"],
                       "distribution_json": json.dumps(X_DIST)})
        params.append({"trial_id": trial_id, "param_name": "n", "param_value": float(f["n"]),
                       "distribution_json": json.dumps(N_DIST)})
        if f["value"] is not None:
            values.append({"trial_id": trial_id, "objective": 0, "value": f["value"],
                           "value_type": models.TrialValueModel.TrialValueType.FINITE})
    with storage.engine.begin() as connection:
        connection.execute(models.TrialModel.__table__.insert(), trials)
        connection.execute(models.TrialParamModel.__table__.insert(), params)
        if values:
            connection.execute(models.TrialValueModel.__table__.insert(), values)
    storage.engine.dispose()
    return url


def make_journal_study(path: Path, n_trials: int, study_name: str = "big") -> str:
    """The same study as a journal file (the lines ``add_trial`` would write); returns its path."""
    worker = "bench-writer-0"
    lines = [{"op_code": 0, "worker_id": worker, "study_name": study_name, "directions": [1]}]
    for number in range(n_trials):
        f = trial_fields(number)
        state = {"COMPLETE": 1, "PRUNED": 2, "FAIL": 3}[f["state"]]  # optuna.trial.TrialState values
        lines.append(
            {
                "op_code": 4,
                "worker_id": worker,
                "study_id": 0,
                "datetime_start": f["start"].isoformat(timespec="microseconds"),
                "datetime_complete": f["end"].isoformat(timespec="microseconds"),
                "state": state,
                "value": f["value"],
                "values": None,
                "distributions": {"x": json.dumps(X_DIST), "n": json.dumps(N_DIST)},
                "params": {"x": f["x"], "n": float(f["n"])},
                "user_attrs": {},
                "system_attrs": {},
                "intermediate_values": {},
            }
        )
    path.write_text("".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines))
    return str(path)


def expected_best(n_trials: int) -> float:
    """The best (lowest) value among the complete trials of a generated study."""
    return min(
        (f["value"] for f in map(trial_fields, range(n_trials)) if f["state"] == "COMPLETE"),
        default=math.nan,
    )
