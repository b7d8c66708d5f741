"""Where evaluations run: the ``Executor`` interface and the local process pool.

``LocalExecutor`` runs up to ``workers`` evaluator processes at once; each is
supervised by a thread blocked in ``evaluate`` (the evaluator is the process,
the thread only waits for it), so a pool of N workers is N evaluator process
groups at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from materia_tui.backend.run.evaluation import (
    CANCELLED,
    EvaluationOutcome,
    EvaluationTask,
    evaluate,
    kill_running_evaluations,
)


@dataclass(frozen=True, slots=True)
class ExecutorStatus:
    busy: int
    waiting: int
    workers: int


class Executor(Protocol):
    def run(self, tasks: Sequence[EvaluationTask]) -> AsyncIterator[EvaluationOutcome]:
        """Yield each outcome as it completes: exactly one outcome per task."""
        ...

    def status(self) -> ExecutorStatus: ...

    async def cancel(self) -> None:
        """Stop running evaluations now (kill their process groups); queued ones do not start."""
        ...

    async def aclose(self) -> None: ...


def cancelled_outcome(task: EvaluationTask) -> EvaluationOutcome:
    return EvaluationOutcome(task.candidate_id, {}, False, CANCELLED, 0.0)


class LocalExecutor:
    """Up to ``workers`` evaluations at once on this machine."""

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self._threads = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="materia-eval")
        self._busy = 0
        self._waiting = 0
        self._counts = threading.Lock()  # the pool's threads update busy/waiting
        self._cancelled = False

    def status(self) -> ExecutorStatus:
        return ExecutorStatus(busy=self._busy, waiting=self._waiting, workers=self.workers)

    async def run(self, tasks: Sequence[EvaluationTask]) -> AsyncIterator[EvaluationOutcome]:
        self._cancelled = False
        with self._counts:
            self._waiting += len(tasks)
        submitted = [self._threads.submit(self._evaluate, task) for task in tasks]
        futures = [asyncio.wrap_future(future) for future in submitted]
        try:
            for next_done in asyncio.as_completed(futures):
                yield await next_done
        finally:
            # Left early (the consumer stopped or was cancelled): queued tasks never start,
            # running ones are killed, and their threads are waited for.
            for future in submitted:
                if future.cancel():  # only a task no thread has started yet
                    with self._counts:
                        self._waiting -= 1
            if not all(future.done() for future in submitted):
                kill_running_evaluations()
                with contextlib.suppress(BaseException):
                    await asyncio.gather(*futures, return_exceptions=True)

    def _evaluate(self, task: EvaluationTask) -> EvaluationOutcome:
        with self._counts:
            self._waiting -= 1
            if self._cancelled:
                return cancelled_outcome(task)
            self._busy += 1
        try:
            return evaluate(task)
        finally:
            with self._counts:
                self._busy -= 1

    async def cancel(self) -> None:
        self._cancelled = True
        kill_running_evaluations()

    async def aclose(self) -> None:
        await self.cancel()
        await asyncio.to_thread(self._threads.shutdown, wait=True, cancel_futures=True)
