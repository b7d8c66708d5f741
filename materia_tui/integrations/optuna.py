"""Publish an Optuna study to materia-tui while it runs::

    from materia_tui.integrations.optuna import MateriaCallback

    callback = MateriaCallback("http://HOST:8765/api/v1", token=PUBLISH_TOKEN)   # or redis="redis://..."
    with callback:
        study.optimize(objective, n_trials=200, callbacks=[callback])

Each finished trial becomes events of campaign ``campaign_id`` (default: the
study name, made a valid id), mapped exactly as ``watch --optuna`` maps a
study (docs/optuna.md), except that iterations are ``batch`` trials (default
1) in the order the callback sees them: a callback sees no running trials.
Publishing happens in a background thread, so a slow or unreachable server
never slows the optimization: events wait (in order, up to ``max_pending``)
and are retried. A refused token or event stops publishing with one logged
error; the optimization goes on. ``close()`` (or leaving the ``with`` block)
waits up to ``timeout`` seconds for what is pending.

One callback publishes one campaign: several processes optimizing the same
study should each publish their own campaign, or leave publishing to one
``materia-tui publish --from-optuna`` process that follows the storage.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Protocol

from materia_tui.errors import MateriaError
from materia_tui.protocol import CampaignCompleted, CampaignStatus, Event
from materia_tui.source import EventReceived, MetadataReceived, SourceItem
from materia_tui.source.optuna_mapping import StudyMapper
from materia_tui.source.optuna_study import StudyInfo, campaign_id_for, study_info

log = logging.getLogger("materia_tui.integrations.optuna")

EVENTS_PER_REQUEST = 500
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0)
INFO_REFRESH_SECONDS = 5.0


class CampaignPublisher(Protocol):
    """``Publisher`` (Redis) and ``HttpPublisher`` (materia_tui.backend.publish) both are one."""

    def set_metadata(self, campaign: Any) -> None: ...
    def publish_many(self, campaign_id: str, events: Iterable[Any]) -> list[int]: ...
    def set_status(self, campaign_id: str, status: CampaignStatus) -> None: ...
    def close(self) -> None: ...


class Unavailable(Exception):
    """Publishing failed in a way worth retrying; ``str()`` is one sentence."""


class ItemDelivery:
    """Source items to a publisher, in order: what fails stays pending for ``flush`` to retry.

    A metadata item is ``set_metadata``; a run of events is one ``publish_many``
    (atomic for Redis and HTTP); after ``campaign_completed`` the campaign's
    status becomes ``completed``.
    """

    def __init__(self, publisher: CampaignPublisher, campaign_id: str) -> None:
        self.publisher = publisher
        self.campaign_id = campaign_id
        self.pending: deque[SourceItem] = deque()
        self.published_events = 0
        self._completed_status_due = False  # campaign_completed is out; the status is not yet

    @property
    def settled(self) -> bool:
        """Everything added has been published."""
        return not self.pending and not self._completed_status_due

    def add(self, items: Iterable[SourceItem]) -> None:
        self.pending.extend(item for item in items if isinstance(item, EventReceived | MetadataReceived))

    def flush(self) -> None:
        """Send everything pending; raises ``Unavailable`` (the rest stays pending),
        ``MateriaError`` (refused credentials) or ``ValueError`` (refused data)."""
        while self.pending or self._completed_status_due:
            if self._completed_status_due:
                self._call(self.publisher.set_status, self.campaign_id, "completed")
                self._completed_status_due = False
                continue
            first = self.pending[0]
            if isinstance(first, MetadataReceived):
                self._call(self.publisher.set_metadata, first.campaign)
                self.pending.popleft()
                continue
            events: list[Event] = []
            for item in self.pending:
                if not isinstance(item, EventReceived) or len(events) == EVENTS_PER_REQUEST:
                    break
                events.append(item.event)
            self._call(self.publisher.publish_many, self.campaign_id, events)
            for _ in events:
                self.pending.popleft()
            self.published_events += len(events)
            self._completed_status_due = any(isinstance(event, CampaignCompleted) for event in events)

    def _call(self, method: Any, *args: Any) -> None:
        from materia_tui.backend.publish import PublishUnavailable

        try:
            method(*args)
        except (PublishUnavailable, OSError) as exc:
            raise Unavailable(str(exc) or type(exc).__name__) from None
        except Exception as exc:
            if type(exc).__module__.startswith("redis"):  # redis-py's errors, without importing it
                raise Unavailable(f"Redis failed ({type(exc).__name__}).") from None
            raise


def make_publisher(
    url: str | None, redis: str | None, token: str | None, verify: bool | str = True
) -> CampaignPublisher:
    """``HttpPublisher`` for ``url``, ``Publisher`` for ``redis``: exactly one of them."""
    if (url is None) == (redis is None):
        raise ValueError("give exactly one of url= (a materia-tui serve) and redis=")
    if redis is not None:
        from materia_tui.backend.publish import Publisher

        return Publisher(redis)
    from materia_tui.backend.publish import HttpPublisher

    assert url is not None
    return HttpPublisher(url, token, verify=verify)


def info_of_study(study: Any) -> StudyInfo:
    """A live ``optuna.Study``'s name, directions, metric names and user attributes."""
    names = study.metric_names
    system = {"study:metric_names": list(names)} if names else {}
    return study_info(study.study_name, study.directions, system, study.user_attrs)


class MateriaCallback:
    """``study.optimize(..., callbacks=[MateriaCallback(url, token=...)])``: see the module doc."""

    def __init__(
        self,
        url: str | None = None,
        *,
        token: str | None = None,
        redis: str | None = None,
        campaign_id: str | None = None,
        batch: int = 1,
        n_trials: int | None = None,
        verify: bool | str = True,
        max_pending: int = 100_000,
        timeout: float = 10.0,
    ) -> None:
        if token is None and url is not None:
            token = os.environ.get("MATERIA_TOKEN")
        self._publisher = make_publisher(url, redis, token, verify)
        self._campaign_id = campaign_id
        self._batch = batch
        self._n_trials = n_trials
        self._timeout = timeout
        self._mapper: StudyMapper | None = None
        self._info_read_at = 0.0
        self._lock = threading.Lock()
        self._max_pending = max_pending
        self._queue: queue.Queue[list[SourceItem] | None] = queue.Queue()
        self._outstanding = 0  # batches queued and not yet delivered (or given up)
        self._settled = threading.Condition()
        self.error: str | None = None  # set when publishing stopped for good
        self.dropped = 0  # items not queued because max_pending were waiting
        self._thread = threading.Thread(target=self._send_loop, name="materia-callback", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"MateriaCallback({self._publisher!r}, campaign_id={self._campaign_id!r})"

    def __call__(self, study: Any, trial: Any) -> None:
        """Optuna calls this after each finished trial (from any of its threads)."""
        if self.error is not None:
            return
        try:
            with self._lock:
                items = self._items(study, trial)
        except Exception as exc:  # never break the user's optimization over monitoring
            log.warning("materia-tui: trial %s not published: %s", getattr(trial, "number", "?"), exc)
            return
        if not items:
            return
        with self._settled:
            if self._outstanding >= self._max_pending:  # the server has been away for long
                self.dropped += len(items)
                return
            self._queue.put(items)
            self._outstanding += 1

    def _items(self, study: Any, trial: Any) -> list[SourceItem]:
        now = time.time()
        mapper = self._mapper
        if mapper is None:
            campaign_id = self._campaign_id or campaign_id_for(study.study_name)
            self._campaign_id = campaign_id
            mapper = self._mapper = StudyMapper(
                campaign_id, info_of_study(study), batch=self._batch, n_trials=self._n_trials
            )
            self._info_read_at = now
        elif now - self._info_read_at >= INFO_REFRESH_SECONDS:
            mapper.set_info(info_of_study(study))
            self._info_read_at = now
        return mapper.take([trial], now)

    # ----- the sender thread ----------------------------------------------------------

    def _send_loop(self) -> None:
        delivery: ItemDelivery | None = None
        failures = taken = 0  # consecutive failures; batches taken from the queue, not yet settled
        closing = False
        while not (closing and taken == 0):
            if taken == 0:
                batch = self._queue.get()
                if batch is None:
                    return
                if delivery is None:
                    assert self._campaign_id is not None  # set with the first items
                    delivery = ItemDelivery(self._publisher, self._campaign_id)
                delivery.add(batch)
                taken = 1
            assert delivery is not None
            while not closing:  # take what else waits: fewer, larger requests
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    closing = True
                else:
                    delivery.add(more)
                    taken += 1
            try:
                if self.error is None:
                    delivery.flush()
                failures = 0
            except Unavailable as exc:
                failures += 1
                if failures == 1:
                    log.warning("materia-tui: publishing paused, will retry: %s", exc)
                if closing:
                    return  # close() waited as long as it was told to
                time.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS)) - 1])
                continue
            except (MateriaError, ValueError) as exc:
                self.error = exc.message if isinstance(exc, MateriaError) else str(exc)
                log.error("materia-tui: publishing stopped: %s", self.error)
            delivery.pending.clear()
            with self._settled:
                self._outstanding -= taken
                self._settled.notify_all()
            taken = 0

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far is published (True) or ``timeout`` passes."""
        with self._settled:
            return self._settled.wait_for(lambda: self._outstanding == 0, timeout)

    def close(self, timeout: float | None = None) -> None:
        """Publish what is pending (waiting up to ``timeout`` s, default the constructor's), then stop."""
        self.flush(self._timeout if timeout is None else timeout)
        self._queue.put(None)
        self._thread.join(1.0)
        self._publisher.close()

    def __enter__(self) -> MateriaCallback:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
