"""Which executor a ``run`` uses: ``--executor local`` (a process pool, the default) or
``--executor celery --broker URL`` (Celery workers, docs/celery.md)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Final, Literal

from materia_tui.backend.run.executor import Executor, ExecutorStatus, LocalExecutor
from materia_tui.errors import UsageError

ExecutorKind = Literal["local", "celery"]
KINDS: Final = ("local", "celery")


def make_executor(
    kind: str,
    broker: str | None,
    workers: int,
    *,
    queue: str | None = None,
    visibility_timeout: float | None = None,
) -> Executor:
    """The executor a command line asks for; a UsageError (exit 2) for a bad combination,
    a missing extra or a broker that does not answer."""
    if kind == "local":
        if broker is not None:
            raise UsageError("--broker goes with --executor celery.")
        return LocalExecutor(workers)
    if kind != "celery":
        raise UsageError(f"--executor must be one of {', '.join(KINDS)}, not {kind!r}.")
    if not broker:
        raise UsageError("--executor celery needs --broker URL (the Redis the workers take tasks from).")
    if not broker.startswith(("redis://", "rediss://")):
        raise UsageError("--broker must be a redis:// or rediss:// URL.")
    if visibility_timeout is not None and visibility_timeout <= 0:
        raise UsageError("--visibility-timeout must be positive.")
    try:
        from materia_tui.backend.run.celery_app import DEFAULT_QUEUE
        from materia_tui.backend.run.celery_executor import CeleryExecutor, display_url
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in ("celery", "kombu", "billiard", "redis"):
            extra = "--executor celery needs its extra: pip install 'materia-tui[celery]'."
            raise UsageError(extra) from None
        raise
    try:
        executor = CeleryExecutor(broker, queue=queue or DEFAULT_QUEUE, visibility_timeout=visibility_timeout)
    except ValueError:
        raise UsageError("--broker is not a Redis URL (redis://host:port/db).") from None
    if not executor.reachable():
        raise UsageError(f"Cannot reach the broker at {display_url(broker)}: check --broker.")
    return executor


def describe(executor: Executor, status: ExecutorStatus) -> str:
    """Where evaluations run, for a progress line: ``3 workers, 2 busy, 4 waiting``."""
    parts = [f"{status.workers} worker{'s' if status.workers != 1 else ''}", f"{status.busy} busy"]
    if status.waiting:
        parts.append(f"{status.waiting} waiting")
    problem = getattr(executor, "problem", None)
    return ", ".join(parts) + (f"; {problem}" if problem else "")


async def report_status(
    executor: Executor, write: Callable[[str], None], *, interval: float = 1.0, every: float = 15.0
) -> None:
    """Write where evaluations run when it changes (at most every ``every`` seconds) and at
    once when the broker goes away or comes back."""
    last_line, last_problem, written_at = "", None, -every
    where = getattr(executor, "where", "this machine")
    write(f"evaluations on {where}")  # at once: a short campaign may end before the first count
    await asyncio.sleep(1.5)  # the first count of the workers takes a Celery inspect (~1 s)
    while True:
        status = executor.status()
        problem = getattr(executor, "problem", None)
        line = f"evaluations on {where}: {describe(executor, status)}"
        now = time.monotonic()
        if problem != last_problem or (line != last_line and now - written_at >= every):
            if problem is None and last_problem is not None:
                line += " (the broker is back)"
            write(line)
            last_line, last_problem, written_at = line, problem, now
        await asyncio.sleep(interval)
