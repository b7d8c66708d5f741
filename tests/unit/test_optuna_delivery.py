"""``ItemDelivery``: a study's items reach a publisher in order, and a failure loses nothing.

The publisher here is an in-memory recorder that refuses a scripted number of
calls, as an unreachable server would (``PublishUnavailable``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from materia_tui.backend.publish import PublishUnavailable
from materia_tui.errors import AuthError
from materia_tui.integrations.optuna import ItemDelivery, Unavailable
from materia_tui.source.optuna_mapping import StudyMapper
from materia_tui.source.optuna_study import StudyInfo

T0 = datetime(2026, 3, 1, 12, 0, 0)


class FlakyPublisher:
    def __init__(self, failures: int = 0, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or PublishUnavailable("the server is away")
        self.calls: list[tuple[str, Any]] = []

    def _maybe_fail(self) -> None:
        if self.failures:
            self.failures -= 1
            raise self.error

    def set_metadata(self, campaign: Any) -> None:
        self._maybe_fail()
        self.calls.append(("meta", campaign.id))

    def publish_many(self, campaign_id: str, events: Iterable[Any]) -> list[int]:
        self._maybe_fail()
        batch = list(events)
        self.calls.append(("events", [e.seq for e in batch]))
        return [e.seq for e in batch]

    def set_status(self, campaign_id: str, status: str) -> None:
        self._maybe_fail()
        self.calls.append(("status", status))

    def close(self) -> None:
        pass


def study_items(n: int) -> list[Any]:
    mapper = StudyMapper("camp", StudyInfo("s", ("minimize",)), batch=1, n_trials=n)
    trials = []
    for number in range(n):
        trial = create_trial(
            state=TrialState.COMPLETE, value=float(number), params={"x": 0.5},
            distributions={"x": FloatDistribution(0, 1)},
        )
        trial.number = number
        trial.datetime_start = T0 + timedelta(seconds=number)
        trial.datetime_complete = trial.datetime_start + timedelta(seconds=0.5)
        trials.append(trial)
    return mapper.take(trials, (T0 + timedelta(days=1)).timestamp())


def test_everything_arrives_in_order_with_the_status_last() -> None:
    publisher = FlakyPublisher()
    delivery = ItemDelivery(publisher, "camp")
    delivery.add(study_items(3))
    delivery.flush()
    assert publisher.calls[0] == ("meta", "camp")
    assert publisher.calls[1] == ("events", list(range(1, 14)))  # 4 per trial and campaign_completed
    assert publisher.calls[-1] == ("status", "completed")
    assert delivery.settled and delivery.published_events == 13


@pytest.mark.parametrize("failures", [1, 2, 3])
def test_a_failure_keeps_the_rest_pending_and_a_retry_resumes_without_loss(failures: int) -> None:
    publisher = FlakyPublisher(failures=failures)
    delivery = ItemDelivery(publisher, "camp")
    delivery.add(study_items(2))
    for _ in range(failures):
        with pytest.raises(Unavailable):
            delivery.flush()
        assert not delivery.settled
    delivery.flush()
    seqs = [seq for kind, value in publisher.calls if kind == "events" for seq in value]
    assert seqs == list(range(1, 10))
    assert publisher.calls[-1] == ("status", "completed")


def test_large_histories_go_in_bounded_requests() -> None:
    publisher = FlakyPublisher()
    delivery = ItemDelivery(publisher, "camp")
    delivery.add(study_items(300))  # 1,201 events
    delivery.flush()
    sizes = [len(value) for kind, value in publisher.calls if kind == "events"]
    assert sizes == [500, 500, 201]


def test_a_refused_token_is_final() -> None:
    delivery = ItemDelivery(FlakyPublisher(failures=1, error=AuthError("refused")), "camp")
    delivery.add(study_items(1))
    with pytest.raises(AuthError):
        delivery.flush()


def test_a_status_update_that_fails_is_retried_not_forgotten() -> None:
    class StatusAway(FlakyPublisher):
        def set_status(self, campaign_id: str, status: str) -> None:
            if not any(kind == "status-tried" for kind, _ in self.calls):
                self.calls.append(("status-tried", status))
                raise PublishUnavailable("away")
            super().set_status(campaign_id, status)

    publisher = StatusAway()
    delivery = ItemDelivery(publisher, "camp")
    delivery.add(study_items(1))
    with pytest.raises(Unavailable):
        delivery.flush()
    assert not delivery.settled
    delivery.flush()
    assert publisher.calls[-1] == ("status", "completed") and delivery.settled
