"""The Celery app of ``materia-tui run --executor celery`` and its one task.

The task carries everything a worker needs (the evaluator spec, the parameters,
the campaign and candidate ids, the config's folder) and calls
``evaluation.evaluate``, which enforces the evaluator's timeout itself; Celery's
hard time limit, a little above it, is only a backstop. An evaluator failure is
that candidate's outcome (``error`` set), never a task failure.

Delivery: tasks are acknowledged late (after the evaluation), a task whose
worker process dies is requeued (``reject_on_worker_lost``), and a worker
reserves one task per pool slot (prefetch multiplier 1). A worker killed
outright (``kill -9``, machine gone) leaves its tasks unacknowledged in the
broker; the runner puts its own campaign's back in the queue once they are
older than the campaign's visibility timeout (celery_executor.py), and the
workers do the same for every task after ``--visibility-timeout`` (six hours by
default), so no task is lost even when its runner is gone.

Cancel is a flag in Redis (``cancel_key``), not Celery's ``revoke``: a revoked
id stays in every worker's memory for hours, so the same deterministic task id
re-sent by ``run --resume`` would be discarded. The task checks the flag before
it starts and every ``CANCEL_POLL_SECONDS`` while its evaluator runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Final

from materia_tui.backend.run.evaluation import (
    EvaluationOutcome,
    EvaluationTask,
    EvaluatorSpec,
    evaluate,
    kill_running_evaluations,
)

TASK_NAME: Final = "materia_tui.evaluate"
DEFAULT_QUEUE: Final = "materia"
# A worker's own sweep, for tasks whose runner is gone (a runner sweeps its campaign sooner, and
# again on --resume). Longer than any evaluation's hard limit, or a running one would be duplicated.
WORKER_VISIBILITY_TIMEOUT: Final = 6 * 3600.0
CANCEL_POLL_SECONDS: Final = 0.5
CANCEL_FLAG_SECONDS: Final = 86_400  # a cancelled campaign's flag outlives any redelivery
WORKER_NAME_ENV: Final = "MATERIA_WORKER"  # the Celery node name, in the evaluator's environment

Message = dict[str, Any]


def cancel_key(campaign_id: str) -> str:
    return f"materia:celery:cancel:{campaign_id}"


def task_id_for(task: EvaluationTask, instance: str = "") -> str:
    """The same task for the same candidate, every time it is sent.

    A digest of what is evaluated (parameters, evaluator) and of the campaign's
    ``instance`` (its creation time, kept by ``--resume``) follows the ids, so a
    fresh run that reuses a campaign id never takes an earlier run's stored
    result, while a resumed one takes those that finished while it was away.
    """
    identity = json.dumps([task_to_message(task), instance], sort_keys=True)
    digest = hashlib.sha256(identity.encode()).hexdigest()[:12]
    return f"materia:{task.campaign_id}:{task.candidate_id}:{digest}"


def task_id_prefix(campaign_id: str) -> str:
    return f"materia:{campaign_id}:"


def hard_time_limit(timeout: float) -> float:
    """Celery's backstop: evaluate() kills the evaluator at ``timeout`` itself."""
    return timeout + max(5.0, 0.1 * timeout)


def task_to_message(task: EvaluationTask) -> Message:
    spec = task.evaluator
    command = list(spec.command) if isinstance(spec.command, tuple) else spec.command
    return {
        "campaign_id": task.campaign_id,
        "candidate_id": task.candidate_id,
        "iteration": task.iteration,
        "parameters": dict(task.parameters),
        "evaluator": {
            "command": command, "python": spec.python, "timeout": spec.timeout, "workdir": spec.workdir,
        },
    }


def task_from_message(message: Message) -> EvaluationTask:
    spec = message["evaluator"]
    command = spec["command"]
    return EvaluationTask(
        campaign_id=str(message["campaign_id"]),
        candidate_id=str(message["candidate_id"]),
        iteration=int(message["iteration"]),
        parameters=dict(message["parameters"]),
        evaluator=EvaluatorSpec(
            command=tuple(command) if isinstance(command, list) else command,
            python=spec["python"],
            timeout=float(spec["timeout"]),
            workdir=str(spec["workdir"]),
        ),
    )


def outcome_to_message(outcome: EvaluationOutcome) -> Message:
    return dataclasses.asdict(outcome)


def outcome_from_message(message: Message) -> EvaluationOutcome:
    return EvaluationOutcome(
        candidate_id=str(message["candidate_id"]),
        objectives={str(k): float(v) for k, v in dict(message["objectives"]).items()},
        feasible=bool(message["feasible"]),
        error=None if message.get("error") is None else str(message["error"]),
        duration=float(message.get("duration", 0.0)),
        worker=None if message.get("worker") is None else str(message["worker"]),
    )


def transport_options(visibility_timeout: float) -> dict[str, Any]:
    """Broker options: fail fast on a dead broker (the callers retry), sweep often."""
    return {
        "visibility_timeout": visibility_timeout,
        # kombu sweeps every interval x throttle seconds (100 s by default).
        "unacked_restore_interval": max(1, min(10, int(visibility_timeout / 6))),
        "unacked_restore_throttle": 1,
        "socket_timeout": 10,
        "socket_connect_timeout": 5,
        "retry_on_timeout": True,
    }


def make_app(broker_url: str, *, queue: str = DEFAULT_QUEUE,
             visibility_timeout: float = WORKER_VISIBILITY_TIMEOUT) -> Any:
    """A Celery app on ``broker_url`` (also the result backend), with the evaluation task."""
    from celery import Celery

    app = Celery("materia_tui", broker=broker_url, backend=broker_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=queue,
        broker_transport_options=transport_options(visibility_timeout),
        result_backend_transport_options={"socket_timeout": 10, "socket_connect_timeout": 5,
                                          "retry_on_timeout": True},
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a worker waits for its broker, forever
        worker_cancel_long_running_tasks_on_connection_loss=False,  # the result still counts
        result_expires=86_400,
        # A worker that finishes while Redis is away keeps its outcome until Redis is back
        # (about 5 minutes, backing off to 2 s between tries); after that the runner sends it again.
        result_backend_always_retry=True,
        result_backend_max_retries=150,
        result_backend_max_sleep_between_retries_ms=2000,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        task_send_sent_event=False,
    )
    app.task(name=TASK_NAME, bind=True, acks_late=True, reject_on_worker_lost=True)(_evaluate_task)
    return app


def _evaluate_task(self: Any, message: Message) -> Message:
    task = task_from_message(message)
    backend = self.app.backend
    node = str(self.request.hostname or "") or None
    if _cancelled(backend, task.campaign_id):
        return outcome_to_message(EvaluationOutcome(task.candidate_id, {}, False, "cancelled", 0.0, node))
    previous = _stored_success(backend, str(self.request.id))
    if previous is not None:  # a redelivered task whose first run finished: not run again
        return previous
    with contextlib.suppress(Exception):  # the runner's "busy" count; no broker, no count
        self.update_state(state="STARTED", meta={"worker": node})
    outcome = _evaluate_until_cancelled(task, backend)
    return outcome_to_message(dataclasses.replace(outcome, worker=node))


def _cancelled(backend: Any, campaign_id: str) -> bool:
    try:
        return bool(backend.client.exists(cancel_key(campaign_id)))
    except Exception:  # the broker is away: evaluate rather than guess
        return False


def _stored_success(backend: Any, task_id: str) -> Message | None:
    try:
        meta = backend.get_task_meta(task_id, cache=False)
    except Exception:
        return None
    result = meta.get("result")
    if meta.get("status") != "SUCCESS" or not isinstance(result, dict) or result.get("error") == "cancelled":
        return None
    return result


def _evaluate_until_cancelled(task: EvaluationTask, backend: Any) -> EvaluationOutcome:
    """evaluate() in a thread; this one watches the campaign's cancel flag meanwhile."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="materia-celery-eval") as pool:
        future = pool.submit(evaluate, task)
        while True:
            try:
                return future.result(timeout=CANCEL_POLL_SECONDS)
            except FutureTimeout:
                if _cancelled(backend, task.campaign_id):
                    kill_running_evaluations()  # this pool process runs one evaluation: this one


def die_with_worker() -> None:
    """A pool process dies with its worker (``kill -9`` of ``materia-tui worker``), and
    its evaluator with it (the evaluator's leader has PR_SET_PDEATHSIG on its pool
    process): a killed worker leaves nothing running, as a machine that is gone."""
    if sys.platform.startswith("linux"):
        from billiard.util import set_pdeathsig

        with contextlib.suppress(OSError):
            set_pdeathsig(signal.SIGKILL)
        if os.getppid() == 1:  # the worker died before the call above
            os._exit(1)
