"""The Python SDK, in the shape of MatCraft's::

    from materia_tui.client import Client

    with Client("https://api.matcraft.ai/api/v1", token=jwt) as client:
        campaign = client.campaigns.get("camp-123")
        for event in client.campaigns.stream("camp-123"):
            print(event.type, event.seq)

``AsyncClient`` has the same shape (``await client.campaigns.get(id)``,
``async for event in client.campaigns.stream(id)``). Streams resume after
reconnects without loss or duplicates and end when the campaign completes or
fails. Final failures raise ``materia_tui.errors`` subclasses: ``AuthError``,
``NotFoundError``, ``GaveUpError`` (only with ``max_retries``), ``UsageError``;
REST calls that cannot reach the server raise ``RestUnavailableError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from materia_tui.protocol import Campaign, Event
from materia_tui.source import AclosesOnExit, ClosesOnExit, EventReceived
from materia_tui.source.rest import RestClient, RestUnavailableError, display_url
from materia_tui.source.settings import ConnectionSettings
from materia_tui.source.websocket import WebSocketSource

__all__ = ["AsyncClient", "Client", "RestUnavailableError"]

T = TypeVar("T")
# Events handed from the network thread to the caller; a slow caller makes the
# network side wait (and, after the socket buffers fill, the server).
STREAM_QUEUE_SIZE = 1024
STOP_TIMEOUT_SECONDS = 5.0
_POLL_SECONDS = 0.1


# ----- async ----------------------------------------------------------------


class AsyncCampaigns:
    def __init__(self, settings: ConnectionSettings) -> None:
        self._settings = settings

    async def get(self, campaign_id: str) -> Campaign:
        async with RestClient(self._settings) as rest:
            return await rest.get_campaign(campaign_id)

    async def list(self) -> list[Campaign]:
        async with RestClient(self._settings) as rest:
            return await rest.list_campaigns()

    async def stream(self, campaign_id: str, after_seq: int = 0) -> AsyncIterator[Event]:
        """Typed events of one campaign, from ``after_seq`` on, until it completes or fails."""
        source = WebSocketSource(campaign_id, self._settings, after_seq=after_seq)
        try:
            async for item in source:
                if isinstance(item, EventReceived):
                    yield item.event
        finally:
            await source.aclose()


class _Connected:
    """What both clients hold: the connection settings (the token never shows in repr)."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        insecure: bool = False,
        ca_bundle: str | None = None,
        max_retries: int | None = None,
    ) -> None:
        self._settings = ConnectionSettings(
            base_url, token=token, insecure=insecure, ca_bundle=ca_bundle, max_retries=max_retries
        )
        self._settings.websocket_url("probe")  # a bad base URL fails here, as a UsageError
        self._open()

    def _open(self) -> None:
        """Build what the client serves (its ``campaigns``)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={display_url(self._settings.base_url)!r})"


class AsyncClient(_Connected, AclosesOnExit):
    """``async with AsyncClient(base_url, token) as client: ...``"""

    def _open(self) -> None:
        self.campaigns = AsyncCampaigns(self._settings)

    async def aclose(self) -> None:
        """Nothing is held between calls; streams close when their ``async for`` ends."""


# ----- sync -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Failure:
    error: BaseException


class _End:
    pass


_END = _End()


class _StreamWorker:
    """Runs one WebSocketSource on its own event loop in a daemon thread."""

    def __init__(self, source: WebSocketSource) -> None:
        self._source = source
        self.queue: queue.Queue[Event | _Failure | _End] = queue.Queue(STREAM_QUEUE_SIZE)
        self.stopping = threading.Event()
        self._running = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._main, name="materia-stream", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """Cancel the source and wait for the thread; safe to call more than once."""
        self.stopping.set()
        self._running.wait(STOP_TIMEOUT_SECONDS)
        loop, task = self._loop, self._task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the loop already finished
                loop.call_soon_threadsafe(task.cancel)
        if threading.current_thread() is not self._thread:
            self._thread.join(STOP_TIMEOUT_SECONDS)

    def _main(self) -> None:
        asyncio.run(self._pump())

    async def _pump(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._running.set()
        try:
            if self.stopping.is_set():
                return
            async for item in self._source:
                if isinstance(item, EventReceived):
                    await self._put(item.event)
            await self._put(_END)
        except asyncio.CancelledError:
            pass  # stop() asked for it
        except Exception as exc:
            await self._put(_Failure(exc))
        finally:
            await self._source.aclose()

    async def _put(self, item: Event | _Failure | _End) -> None:
        try:
            self.queue.put_nowait(item)
        except queue.Full:
            await asyncio.to_thread(self._put_blocking, item)

    def _put_blocking(self, item: Event | _Failure | _End) -> None:
        while not self.stopping.is_set():
            try:
                self.queue.put(item, timeout=_POLL_SECONDS)
                return
            except queue.Full:
                continue


class Campaigns:
    def __init__(self, settings: ConnectionSettings, workers: set[_StreamWorker]) -> None:
        self._settings = settings
        self._workers = workers
        self._async = AsyncCampaigns(settings)

    def get(self, campaign_id: str) -> Campaign:
        return _run_in_thread(lambda: self._async.get(campaign_id))

    def list(self) -> list[Campaign]:
        return _run_in_thread(self._async.list)

    def stream(self, campaign_id: str, after_seq: int = 0) -> Iterator[Event]:
        """Typed events until the campaign ends; ``break`` (or ``.close()``) stops cleanly."""
        source = WebSocketSource(campaign_id, self._settings, after_seq=after_seq)
        worker = _StreamWorker(source)
        return self._events(worker)

    def _events(self, worker: _StreamWorker) -> Iterator[Event]:
        self._workers.add(worker)
        worker.start()
        try:
            while True:
                try:
                    item = worker.queue.get(timeout=_POLL_SECONDS)
                except queue.Empty:
                    if worker.alive or not worker.queue.empty():
                        continue
                    if worker.stopping.is_set():
                        return  # Client.close() ended the stream
                    raise RuntimeError("the stream thread ended unexpectedly") from None
                if isinstance(item, _End):
                    return
                if isinstance(item, _Failure):
                    raise item.error
                yield item
        finally:
            worker.stop()
            self._workers.discard(worker)


class Client(_Connected, ClosesOnExit):
    """``with Client(base_url, token) as client: ...``; the token never shows in repr."""

    def _open(self) -> None:
        self._workers: set[_StreamWorker] = set()
        self.campaigns = Campaigns(self._settings, self._workers)

    def close(self) -> None:
        """Stop every open stream (their loops end quietly)."""
        for worker in list(self._workers):
            worker.stop()


def _run_in_thread(call: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run one coroutine to completion on a fresh loop in a helper thread.

    A helper thread works whether or not the caller already runs an event loop
    (e.g. in Jupyter), where ``asyncio.run`` would refuse.
    """
    outcome: list[T] = []
    failure: list[BaseException] = []

    def main() -> None:
        try:
            outcome.append(asyncio.run(call()))
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=main, name="materia-rest", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]
