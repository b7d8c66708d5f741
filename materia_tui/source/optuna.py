"""Watch an Optuna study as a campaign: ``OptunaSource(storage, study_name)``.

The source polls the storage about every half second in a thread of its own
(the event loop stays free), reads only what changed (``optuna_storage``) and
maps it to protocol events (``optuna_mapping``). It never writes to the
storage. When a read fails after the first (the database is locked for too
long, the optimizer's machine is gone, the file is being replaced) it reports
``reconnecting`` and reopens the storage; a replaced file is noticed by its
inode and reread, and trials already shown are not shown again.

It ends (``ConnectionChanged("closed")``) once ``n_trials`` trials have
finished, if given; otherwise it follows the study until closed. Final errors
are raised from the iterator: ``UsageError`` (exit 2) when the storage cannot
be read at all, ``NotFoundError`` (exit 4) for an unknown study.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any, TypedDict, TypeVar, Unpack

from materia_tui.errors import MateriaError, UsageError
from materia_tui.sanitize import clean
from materia_tui.source import ConnectionChanged, GeneratorSource, SourceItem
from materia_tui.source.optuna_mapping import StudyMapper
from materia_tui.source.optuna_storage import StorageTrouble, StudyStore, open_store, short_reason
from materia_tui.source.optuna_study import campaign_id_for

POLL_SECONDS = 0.5
INFO_REFRESH_SECONDS = 5.0  # metric names and units may be set after the study starts
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)
YIELD_EVERY_ITEMS = 512  # hand the loop back this often while a long history is handed on
T = TypeVar("T")


class FollowOptions(TypedDict, total=False):
    """How a study is followed: the keyword options of ``StudyFollower`` (and of
    ``OptunaSource``, which passes them on)."""

    campaign_id: str | None  # default: ``campaign_id_for(study_name)``
    batch: int | None  # trials per iteration (default: as many as ran at once)
    n_trials: int | None  # the campaign completes once this many trials have finished
    clock: Callable[[], float]  # default: time.time
    info_refresh_seconds: float  # default: INFO_REFRESH_SECONDS


class StudyFollower:
    """The synchronous half: one storage, one study, one mapper (call from one thread)."""

    def __init__(self, storage: str, study_name: str, **options: Unpack[FollowOptions]) -> None:
        self.storage = storage
        self.study_name = study_name
        self.campaign_id = options.get("campaign_id") or campaign_id_for(study_name)
        self._batch = options.get("batch")
        self._n_trials = options.get("n_trials")
        self._clock = options.get("clock", time.time)
        self._info_refresh_seconds = options.get("info_refresh_seconds", INFO_REFRESH_SECONDS)
        self._store: StudyStore | None = None
        self._study_id = -1
        self._info_read_at = 0.0
        self.mapper: StudyMapper | None = None

    def poll(self) -> list[SourceItem]:
        """The items since the previous poll. The first call raises final errors;
        later failures raise ``StorageTrouble`` and the next call reopens."""
        first = self.mapper is None
        try:
            store = self._current_store()
            trials = store.changes(self._study_id)
            now = self._clock()
            mapper = self.mapper
            if mapper is None:
                mapper = self.mapper = StudyMapper(
                    self.campaign_id, store.info(self._study_id), batch=self._batch, n_trials=self._n_trials
                )
                self._info_read_at = now
            elif now - self._info_read_at >= self._info_refresh_seconds:
                mapper.set_info(store.info(self._study_id))
                self._info_read_at = now
            return mapper.take(trials, now)
        except MateriaError as exc:
            self.close()
            if first:
                raise
            raise StorageTrouble(exc.message) from None  # e.g. the file is gone while it is replaced
        except Exception as exc:  # storages raise SQLAlchemy, OS, JSON and Optuna errors alike
            self.close()
            if first:
                raise UsageError(
                    f"Cannot read the Optuna storage {clean(self.storage, 200)} ({short_reason(exc)})."
                ) from None
            raise StorageTrouble(f"Reading the storage failed ({short_reason(exc)}).") from None

    def _current_store(self) -> StudyStore:
        store = self._store
        if store is not None and store.replaced():
            self.close()
            store = None
        if store is None:
            store = open_store(self.storage)
            try:
                self._study_id = store.study_id(self.study_name)
            except BaseException:
                store.close()
                raise
            self._store = store
        return store

    def close(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            with contextlib.suppress(Exception):  # best effort: the store is being dropped
                store.close()

    @property
    def completed(self) -> bool:
        return self.mapper is not None and self.mapper.completed


_Job = tuple[Callable[[], Any], "asyncio.Future[Any] | None"]


class _ReadingThread:
    """Runs the source's reads, one at a time, on one daemon thread: a database
    connection stays on the thread that made it, and quitting never waits for a
    long read to finish (the storage is only read: abandoning one is harmless)."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    async def run(self, function: Callable[[], T]) -> T:
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="optuna-source", daemon=True)
            self._thread.start()
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._jobs.put((function, future))
        return await future

    def stop(self, last: Callable[[], object] | None = None) -> None:
        """Run ``last`` (if the thread runs) after the job in hand, then end the thread."""
        if self._thread is not None:
            if last is not None:
                self._jobs.put((last, None))
            self._jobs.put(None)

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            function, future = job
            try:
                outcome, failed = function(), False
            except BaseException as exc:  # handed to the awaiting coroutine, whatever it is
                outcome, failed = exc, True
            if future is not None:
                with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits
                    future.get_loop().call_soon_threadsafe(_settle, future, outcome, failed)


def _settle(future: asyncio.Future[Any], outcome: Any, failed: bool) -> None:
    if not future.done():
        if failed:
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


class OptunaSource(GeneratorSource):
    """``async for item in OptunaSource("sqlite:///study.db", "my-study"): ...``"""

    def __init__(
        self,
        storage: str,
        study_name: str,
        *,
        poll_seconds: float = POLL_SECONDS,
        **options: Unpack[FollowOptions],
    ) -> None:
        self.follower = StudyFollower(storage, study_name, **options)
        self.campaign_id = self.follower.campaign_id
        self.poll_seconds = poll_seconds
        self.polls = 0  # polls whose items were handed on (the history's included)
        self._reader = _ReadingThread()
        self._items = self._run()

    def __repr__(self) -> str:
        return f"OptunaSource({self.follower.storage!r}, {self.follower.study_name!r})"

    async def _run(self) -> AsyncGenerator[SourceItem, None]:
        follower = self.follower
        try:
            yield ConnectionChanged("connecting")
            try:
                items = await self._reader.run(follower.poll)
            except MateriaError as exc:
                yield ConnectionChanged("failed", detail=exc.message)
                raise
            yield ConnectionChanged("backfilling")
            async for item in self._hand_on(items):
                yield item
            yield ConnectionChanged("live", detail=f"Following {clean(follower.study_name, 80)}.")
            failures = 0
            while not follower.completed:
                await asyncio.sleep(self.poll_seconds)
                try:
                    items = await self._reader.run(follower.poll)
                except StorageTrouble as exc:
                    failures += 1
                    delay = RETRY_SECONDS[min(failures, len(RETRY_SECONDS)) - 1]
                    yield ConnectionChanged("reconnecting", attempt=failures, retry_in=delay, detail=str(exc))
                    await asyncio.sleep(delay)
                    continue
                if failures:
                    yield ConnectionChanged("live", attempt=failures)
                    failures = 0
                async for item in self._hand_on(items):
                    yield item
            yield ConnectionChanged("closed", detail="The study has reached its number of trials.")
        finally:
            self._reader.stop(last=follower.close)

    async def _hand_on(self, items: list[SourceItem]) -> AsyncGenerator[SourceItem, None]:
        self.polls += 1
        for count, item in enumerate(items, start=1):
            if count % YIELD_EVERY_ITEMS == 0:
                await asyncio.sleep(0)
            yield item
