"""The studies of an Optuna storage, for ``ls --optuna`` and the study picker (blocking calls).

Listing stays cheap on large studies: an RDB is asked for trial counts per
state (one grouped query) and for its best trial (an indexed query), never
for whole studies; a journal is in memory once read anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from materia_tui.source.optuna_mapping import StudyMapper
from materia_tui.source.optuna_storage import JournalStore, RdbStore, StudyStore, open_store
from materia_tui.source.optuna_study import campaign_id_for, is_feasible, study_info

if TYPE_CHECKING:
    from optuna.study._frozen import FrozenStudy

    from materia_tui.protocol import Campaign


@dataclass(frozen=True, slots=True)
class StudyRow:
    name: str
    campaign_id: str
    objectives: list[str]
    directions: list[str]
    trials: int
    finished: int
    running: int
    best_value: float | None  # single-objective studies: Optuna's best_trial.value
    best_trial: int | None


def list_study_campaigns(storage: str) -> list[tuple[str, Campaign]]:
    """(study name, its campaign metadata) for every study in ``storage``."""
    store = open_store(storage)
    try:
        listed = []
        for study in store.studies():
            campaign = StudyMapper(campaign_id_for(study.study_name), _info(study)).campaign()
            if campaign.id != study.study_name:  # the picker shows the id: show the real name too
                campaign = campaign.model_copy(update={"name": study.study_name})
            listed.append((study.study_name, campaign))
        return listed
    finally:
        store.close()


def study_rows(storage: str) -> list[StudyRow]:
    store = open_store(storage)
    try:
        studies = store.studies()
        counts = _state_counts(store)
        return [_row(store, study, counts.get(study._study_id, {})) for study in studies]
    finally:
        store.close()


def _info(study: FrozenStudy) -> Any:
    return study_info(study.study_name, study.directions, study.system_attrs, study.user_attrs)


def _state_counts(store: StudyStore) -> dict[int, dict[str, int]]:
    """Trials per state name, per study id."""
    counts: dict[int, dict[str, int]] = {}
    if isinstance(store, RdbStore):
        from optuna.storages._rdb import models
        from sqlalchemy import func

        session = store.optuna_storage.scoped_session()
        try:
            rows = (
                session.query(models.TrialModel.study_id, models.TrialModel.state, func.count())
                .group_by(models.TrialModel.study_id, models.TrialModel.state)
                .all()
            )
        finally:
            session.close()
        for study_id, state, count in rows:
            if study_id is not None:
                counts.setdefault(study_id, {})[state.name] = count
    elif isinstance(store, JournalStore):
        result = store.optuna_storage._replay_result
        for trial_id, trial in result._trials.items():
            per_state = counts.setdefault(result._trial_id_to_study_id[trial_id], {})
            per_state[trial.state.name] = per_state.get(trial.state.name, 0) + 1
    return counts


def _row(store: StudyStore, study: FrozenStudy, counts: dict[str, int]) -> StudyRow:
    info = _info(study)
    best_value, best_trial = _best(store, study) if len(info.directions) == 1 else (None, None)
    return StudyRow(
        name=study.study_name,
        campaign_id=campaign_id_for(study.study_name),
        objectives=info.objective_names,
        directions=list(info.directions),
        trials=sum(counts.values()),
        finished=sum(counts.get(state, 0) for state in ("COMPLETE", "PRUNED", "FAIL")),
        running=counts.get("RUNNING", 0),
        best_value=best_value,
        best_trial=best_trial,
    )


def _best(store: StudyStore, study: FrozenStudy) -> tuple[float | None, int | None]:
    """Optuna's ``study.best_trial``: the best complete trial, among the feasible ones."""
    storage = store.optuna_storage
    try:
        best = storage.get_best_trial(study._study_id)
    except ValueError:  # no complete trial yet
        return None, None
    if not is_feasible(best.system_attrs):
        from optuna.trial import TrialState

        complete = storage.get_all_trials(study._study_id, deepcopy=False, states=(TrialState.COMPLETE,))
        feasible = [t for t in complete if is_feasible(t.system_attrs) and t.values]
        if not feasible:
            return None, None
        maximize = study.directions[0].name == "MAXIMIZE"
        best = (max if maximize else min)(feasible, key=lambda t: t.values[0])
    return (best.values[0] if best.values else None), best.number
