"""Evaluations on Celery workers (``run --executor celery --broker URL``).

Each candidate is one Celery task (celery_app.py) whose id is derived from the
campaign and candidate (``task_id_for``): a task sent again is recognisably
the same one. The runner reads outcomes by polling the Redis result backend
for its pending task ids (one MGET per ``poll_interval``), which survives a
broker restart that a pub/sub subscription would not, and applies each
candidate's first outcome only: a slow worker finishing a task that was
already redelivered and finished elsewhere changes nothing.

Bounds (docs/celery.md):
- a worker killed mid-evaluation: its task runs again within the campaign's
  visibility timeout (``max(2 x evaluator timeout, 60 s)`` unless given) plus
  one sweep (``sweep_interval``), as soon as a worker is free; the runner does
  this sweep for its own campaign's tasks, so it does not depend on how the
  workers were started;
- the broker gone (restarted, unreachable): ``problem`` says so, the runner
  waits; when it is back, every task with no outcome and not started is sent
  again (the broker may have lost its queue), and duplicates are harmless
  (the worker skips a task whose result is stored; the runner applies one).
- an evaluation may run twice (a killed worker's task, a re-sent one) but is
  applied once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from materia_tui.backend.run.celery_app import (
    CANCEL_FLAG_SECONDS,
    DEFAULT_QUEUE,
    TASK_NAME,
    cancel_key,
    hard_time_limit,
    make_app,
    outcome_from_message,
    task_id_for,
    task_id_prefix,
    task_to_message,
)
from materia_tui.backend.run.evaluation import EvaluationOutcome, EvaluationTask
from materia_tui.backend.run.executor import ExecutorStatus
from materia_tui.sanitize import clean

MIN_VISIBILITY_TIMEOUT: Final = 60.0
UNACKED_KEY: Final = "unacked"  # kombu's Redis transport: messages taken and not yet acknowledged
CANCELLED: Final = "cancelled"
BROKER_ERRORS: Final = frozenset({"ConnectionError", "TimeoutError", "OperationalError", "BusyLoadingError",
                                  "ConnectionRefusedError", "ConnectionResetError", "BrokenPipeError"})
MAX_RESENDS: Final = 5
STATUS_INTERVAL: Final = 10.0  # seconds between Celery inspect broadcasts (workers' pool sizes)


def visibility_timeout_for(evaluator_timeout: float) -> float:
    """Long enough that a live worker's task is never handed to another one."""
    return max(2 * evaluator_timeout, MIN_VISIBILITY_TIMEOUT)


def epoch_key(campaign_id: str) -> str:
    return f"materia:celery:epoch:{campaign_id}"


def display_url(url: str) -> str:
    """The broker URL without its password."""
    from kombu.utils.url import maybe_sanitize_url

    return clean(str(maybe_sanitize_url(url)), 200)


@dataclass
class _Pending:
    task: EvaluationTask
    sent: bool = False
    started: bool = False
    resent: int = 0  # times sent again after its worker lost the broker


@dataclass
class _Campaign:
    """What one ``run`` call waits for."""

    pending: dict[str, _Pending] = field(default_factory=dict)  # task id -> pending


class CeleryExecutor:
    """Candidates' evaluations as Celery tasks on ``broker_url``'s workers."""

    def __init__(
        self,
        broker_url: str,
        *,
        queue: str = DEFAULT_QUEUE,
        visibility_timeout: float | None = None,
        poll_interval: float = 0.05,
        sweep_interval: float | None = None,
    ) -> None:
        import redis

        self.broker_url = broker_url
        self.queue = queue
        self._fixed_visibility_timeout = visibility_timeout
        self.poll_interval = poll_interval
        self._sweep_interval = sweep_interval
        self.app = make_app(broker_url, queue=queue)
        self._redis = redis.Redis.from_url(broker_url, socket_timeout=5, socket_connect_timeout=3)
        self._applied: set[tuple[str, str]] = set()  # (campaign, candidate) whose outcome was yielded
        self._epochs: dict[str, str] = {}  # campaign id -> marker token
        self._busy = 0
        self._waiting = 0
        self._workers = 0
        self._status_at = 0.0
        self._status_thread: threading.Thread | None = None
        self._swept_at = 0.0
        self._closed = False
        self._cancelled = False
        self._sent_before = False
        self._running: list[_Campaign] = []
        self.problem: str | None = None  # one sentence while the broker is unreachable
        # The campaign's identity across --resume (its created_at): part of every task id.
        self.instance = ""
        self.where = f"Celery workers (queue {queue!r} on {display_url(broker_url)})"

    def reachable(self, timeout: float = 3.0) -> bool:
        """Whether the broker answers now (checked once, before a campaign starts)."""
        import redis

        probe = redis.Redis.from_url(self.broker_url, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            return bool(probe.ping())
        except (redis.RedisError, OSError):
            return False
        finally:
            probe.close()

    # -- the Executor protocol -------------------------------------------------------------------

    def status(self) -> ExecutorStatus:
        self._refresh_workers_in_background()
        return ExecutorStatus(busy=self._busy, waiting=self._waiting, workers=self._workers)

    async def run(self, tasks: Sequence[EvaluationTask]) -> AsyncIterator[EvaluationOutcome]:
        campaign = _Campaign({task_id_for(task, self.instance): _Pending(task) for task in tasks})
        self._cancelled = False
        self._refresh_workers_in_background()
        self._running.append(campaign)
        try:
            if campaign.pending:
                await self._until_done(self._prepare, campaign)
            while campaign.pending and not self._cancelled:
                try:
                    outcomes = await asyncio.to_thread(self._poll, campaign)
                except Exception as exc:
                    self._broker_lost(exc)
                    await asyncio.sleep(min(1.0, 10 * self.poll_interval))
                    continue
                for task, outcome in outcomes:
                    key = (task.campaign_id, task.candidate_id)
                    if key not in self._applied:  # first outcome wins
                        self._applied.add(key)
                        yield outcome
                if campaign.pending:
                    await asyncio.sleep(self.poll_interval)
            for pending in list(campaign.pending.values()):  # cancelled: one outcome per task still
                yield EvaluationOutcome(pending.task.candidate_id, {}, False, CANCELLED, 0.0)
            campaign.pending.clear()
        finally:
            self._running.remove(campaign)

    async def cancel(self) -> None:
        """Stop the campaign's evaluations: queued tasks are taken out of the queue, a worker
        that took one does not start it, and running evaluations are killed (their process
        group, by the worker, within ``CANCEL_POLL_SECONDS``). Workers stay up."""
        self._cancelled = True
        campaigns = list(self._epochs)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self._cancel_campaigns, campaigns)

    async def aclose(self) -> None:
        if any(campaign.pending for campaign in self._running):
            await self.cancel()
        self._closed = True
        with contextlib.suppress(Exception):
            self._redis.close()
        with contextlib.suppress(Exception):
            self.app.close()

    # -- sending ---------------------------------------------------------------------------------

    async def _until_done(self, step: Any, campaign: _Campaign) -> None:
        """Run a blocking broker step in a thread until it succeeds, saying why it waits."""
        while True:
            try:
                await asyncio.to_thread(step, campaign)
            except Exception as exc:
                self._broker_lost(exc)
                await asyncio.sleep(1.0)
            else:
                self.problem = None
                return

    def _prepare(self, campaign: _Campaign) -> None:
        """Mark the campaign's epoch, clear a cancel left by an earlier run, take outcomes
        already stored (a resumed campaign), send the rest."""
        campaign_ids = {p.task.campaign_id for p in campaign.pending.values()}
        for campaign_id in campaign_ids:
            if campaign_id not in self._epochs:
                token = secrets.token_hex(8)
                self._redis.set(epoch_key(campaign_id), token, ex=7 * 86_400)
                self._redis.delete(cancel_key(campaign_id))
                self._epochs[campaign_id] = token
        unsent = [tid for tid, p in campaign.pending.items() if not p.sent]
        if not self._sent_before:  # a resumed campaign's tasks may still be queued or held by a worker
            held = self._held_task_ids()
            for task_id in unsent:
                campaign.pending[task_id].sent = task_id in held
            unsent = [tid for tid in unsent if tid not in held]
        self._send(campaign, unsent)
        self._sent_before = True

    def _send(self, campaign: _Campaign, task_ids: list[str]) -> None:
        stored = self._metas(task_ids)
        for task_id, meta in zip(task_ids, stored, strict=True):
            pending = campaign.pending[task_id]
            status = meta.get("status") if meta else None
            if status in ("SUCCESS", "STARTED") and not _is_cancelled(meta):
                pending.sent = True  # its result is there, or a worker has it
                continue
            if status is not None:  # an earlier run's failure, revoke or cancel: run it again
                self._redis.delete(self.app.backend.get_key_for_task(task_id))
            task = pending.task
            self.app.send_task(
                TASK_NAME,
                args=[task_to_message(task)],
                task_id=task_id,
                exchange="",  # the default exchange routes by queue name, with no binding in Redis
                routing_key=self.queue,
                time_limit=hard_time_limit(task.evaluator.timeout),
                retry=True,
                retry_policy={"max_retries": 2, "interval_start": 0.1, "interval_step": 0.2},
            )
            pending.sent = True
        self._waiting = self._queue_length()

    # -- polling ---------------------------------------------------------------------------------

    def _poll(self, campaign: _Campaign) -> list[tuple[EvaluationTask, EvaluationOutcome]]:
        task_ids = list(campaign.pending)
        campaign_ids = sorted({p.task.campaign_id for p in campaign.pending.values()})
        backend = self.app.backend
        pipe = self._redis.pipeline(transaction=False)  # one round trip a poll
        pipe.mget([backend.get_key_for_task(task_id) for task_id in task_ids])
        pipe.mget([epoch_key(c) for c in campaign_ids])
        pipe.llen(self.queue)
        raw_metas, epochs, queued = pipe.execute()
        metas = [None if value is None else _decode(value) for value in raw_metas]
        epochs_lost = any(value is None for value in epochs)
        self._waiting = int(queued)
        outcomes: list[tuple[EvaluationTask, EvaluationOutcome]] = []
        for task_id, meta in zip(task_ids, metas, strict=True):
            status = meta.get("status") if meta else None
            pending = campaign.pending[task_id]
            pending.started = status == "STARTED"
            if _is_cancelled(meta) and not self._cancelled:
                self._send(campaign, [task_id])  # a cancelled earlier run's leftover
                continue
            if _lost_to_the_broker(meta) and pending.resent < MAX_RESENDS:
                pending.resent += 1  # the worker could not store its result: run it again
                self._send(campaign, [task_id])
                continue
            outcome = _outcome(pending.task, meta) if status in ("SUCCESS", "FAILURE") else None
            if outcome is not None:
                del campaign.pending[task_id]
                outcomes.append((pending.task, outcome))
        self._busy = sum(1 for p in campaign.pending.values() if p.started)
        if self.problem is not None or epochs_lost:
            self._recover(campaign)
        self._maybe_sweep(campaign)
        return outcomes

    def _metas(self, task_ids: list[str]) -> list[dict[str, Any] | None]:
        if not task_ids:
            return []
        backend = self.app.backend
        raw = self._redis.mget([backend.get_key_for_task(task_id) for task_id in task_ids])
        return [None if value is None else _decode(value) for value in raw]

    def _queue_length(self) -> int:
        return int(self._redis.llen(self.queue))

    def _recover(self, campaign: _Campaign) -> None:
        """The broker is back, or lost its data: send again each task it no longer holds
        (not queued, not taken by a worker, not started, no result)."""
        for campaign_id in list(self._epochs):
            self._redis.set(epoch_key(campaign_id), self._epochs[campaign_id], ex=7 * 86_400)
        held = self._held_task_ids()
        lost = [tid for tid, p in campaign.pending.items() if not p.started and tid not in held]
        self._send(campaign, lost)
        self.problem = None

    def _held_task_ids(self) -> set[str]:
        """Ids of the tasks in the queue or taken by a worker and not yet acknowledged."""
        held = {_message_id(raw, in_unacked=False) for raw in self._redis.lrange(self.queue, 0, -1)}
        held.update(_message_id(raw) for raw in self._redis.hvals(UNACKED_KEY))
        return held

    def _maybe_sweep(self, campaign: _Campaign) -> None:
        """Put back in the queue this campaign's tasks that a worker took and never
        acknowledged within the visibility timeout (the worker died)."""
        visibility = self._visibility_timeout(campaign)
        interval = self._sweep_interval or max(1.0, min(10.0, visibility / 6))
        now = time.time()
        if now - self._swept_at < interval:
            return
        self._swept_at = now
        restore_older_than(self.app, visibility, task_id_prefixes(campaign))

    def _visibility_timeout(self, campaign: _Campaign) -> float:
        if self._fixed_visibility_timeout is not None:
            return self._fixed_visibility_timeout
        longest = max((p.task.evaluator.timeout for p in campaign.pending.values()), default=0.0)
        return visibility_timeout_for(longest)

    def _broker_lost(self, exc: BaseException) -> None:
        if self.problem is None:
            reason = clean(str(exc) or type(exc).__name__, 120)
            self.problem = f"broker {display_url(self.broker_url)} unreachable ({reason}); waiting for it"

    # -- status and cancel -----------------------------------------------------------------------

    def _refresh_workers_in_background(self) -> None:
        now = time.monotonic()
        if self._closed or now - self._status_at < STATUS_INTERVAL:
            return
        if self._status_thread is not None and self._status_thread.is_alive():
            return
        self._status_at = now
        self._status_thread = threading.Thread(target=self._refresh_workers, daemon=True,
                                               name="materia-celery-status")
        self._status_thread.start()

    def _refresh_workers(self) -> None:
        with contextlib.suppress(Exception):
            self._workers = count_worker_slots(self.app)

    def _cancel_campaigns(self, campaign_ids: list[str]) -> None:
        for campaign_id in campaign_ids:
            self._redis.set(cancel_key(campaign_id), "1", ex=CANCEL_FLAG_SECONDS)
        remove_queued(self._redis, self.queue, tuple(task_id_prefix(c) for c in campaign_ids))
        self._waiting = self._queue_length()


def _decode(value: bytes | str) -> dict[str, Any] | None:
    with contextlib.suppress(ValueError):
        meta = json.loads(value)
        return meta if isinstance(meta, dict) else None
    return None


def _lost_to_the_broker(meta: dict[str, Any] | None) -> bool:
    """A task failure that is the broker's, not the evaluation's (evaluate() never raises):
    the worker lost Redis while it stored the outcome."""
    result = meta.get("result") if meta else None
    return bool(meta and meta.get("status") == "FAILURE" and isinstance(result, dict)
                and result.get("exc_type") in BROKER_ERRORS)


def _is_cancelled(meta: dict[str, Any] | None) -> bool:
    result = meta.get("result") if meta else None
    return bool(meta and meta.get("status") == "SUCCESS" and isinstance(result, dict)
                and result.get("error") == CANCELLED)


def _outcome(task: EvaluationTask, meta: dict[str, Any] | None) -> EvaluationOutcome | None:
    assert meta is not None
    result = meta.get("result")
    if meta.get("status") == "SUCCESS":
        try:
            outcome = outcome_from_message(result) if isinstance(result, dict) else None
        except (KeyError, TypeError, ValueError):
            outcome = None
        if outcome is not None and outcome.candidate_id == task.candidate_id:
            return outcome
        return EvaluationOutcome(task.candidate_id, {}, False, "the worker returned no outcome", 0.0)
    # FAILURE: the task itself failed (Celery's hard time limit, a worker-side bug).
    reason = "the evaluation task failed"
    if isinstance(result, dict):
        kind, message = result.get("exc_type"), result.get("exc_message")
        detail = " ".join(str(part) for part in (message if isinstance(message, list) else [message]) if part)
        if kind == "TimeLimitExceeded":
            reason = f"timed out after {task.evaluator.timeout:g} s (the worker's hard limit)"
        elif kind:
            reason = f"the evaluation task failed: {kind}{': ' + detail if detail else ''}"
    return EvaluationOutcome(task.candidate_id, {}, False, clean(reason, 300), 0.0)


def task_id_prefixes(campaign: _Campaign) -> tuple[str, ...]:
    return tuple(sorted({task_id_prefix(p.task.campaign_id) for p in campaign.pending.values()}))


def restore_older_than(app: Any, visibility_timeout: float, prefixes: tuple[str, ...]) -> int:
    """Requeue unacknowledged tasks whose id starts with one of ``prefixes`` and that a
    worker took more than ``visibility_timeout`` seconds ago; how many. Uses kombu's
    own restore (a Redis transaction), so a worker sweeping at once does no harm."""
    restored = 0
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        client = channel.client
        ceiling = time.time() - visibility_timeout
        for tag in client.zrangebyscore(channel.unacked_index_key, "-inf", ceiling):
            raw = client.hget(channel.unacked_key, tag)
            if raw is None or not _message_id(raw).startswith(prefixes):
                continue
            channel.qos.restore_by_tag(tag, client)
            restored += 1
    return restored


def _message_id(raw: bytes | str, *, in_unacked: bool = True) -> str:
    """A task message's id; in the unacked hash a message is ``[message, exchange, routing_key]``."""
    with contextlib.suppress(ValueError, TypeError, IndexError, KeyError, AttributeError):
        message = json.loads(raw)
        return str((message[0] if in_unacked else message)["headers"]["id"])
    return ""


def remove_queued(client: Any, queue: str, prefixes: tuple[str, ...]) -> int:
    """Remove the queued (not yet taken) tasks whose id starts with one of ``prefixes``."""
    removed = 0
    for raw in client.lrange(queue, 0, -1):
        task_id = _message_id(raw, in_unacked=False)
        if task_id and task_id.startswith(prefixes):
            removed += int(client.lrem(queue, 1, raw))
    return removed


def count_worker_slots(app: Any, timeout: float = 1.0) -> int:
    """Evaluation slots (pool processes) of the workers that answer within ``timeout``."""
    stats = app.control.inspect(timeout=timeout).stats() or {}
    slots = 0
    for reply in stats.values():
        pool = reply.get("pool", {}) if isinstance(reply, dict) else {}
        slots += int(pool.get("max-concurrency", 1)) if isinstance(pool, dict) else 1
    return slots
