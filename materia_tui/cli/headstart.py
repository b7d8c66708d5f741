"""Start a source before its consumer exists: ``HeadStart(source, state)``.

``materia-tui watch`` builds the full-screen monitor (Textual's import, CSS,
compose) for several hundred milliseconds; connecting, fetching the metadata
and the history take a few round trips. ``HeadStart`` starts iterating the
source at once, in a task, and folds what arrives straight into ``state``, so
the monitor's first frame already shows the history instead of an empty screen
followed by the data one refresh later.

When the consumer (the monitor's view) first asks for an item, the head start
ends and the consumer takes over the same iterator, item by item, as if it had
iterated from the start, except that:

- the data items folded during the head start are not handed over again (they
  are in ``state``); ``received_data`` says whether there were any, and
  ``on_data`` (optional) is called when the first one is folded in;
- of the connection changes, only the latest is handed over (it is the
  current status), and always first, so the consumer redraws;
- an exception that ended the source during the head start (a ``MateriaError``,
  or its end) is raised to the consumer after that status.

The viewer's "first frame is out" (``first_frame_shown``, the ``AwaitsFirstFrame``
capability) calls ``on_first_frame`` (optional) and goes on to the source.

An item that was in flight when the consumer arrived is the consumer's: the
head start's pending ``__anext__`` is awaited by the consumer, never repeated
and never cancelled, so no item is lost or delivered twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from typing import Self

from materia_tui.source import ConnectionChanged, EventSource, SourceItem, first_frame_shown
from materia_tui.state import CampaignState
from materia_tui.state.intake import apply_item


class HeadStart:
    """``head = HeadStart(source, state)`` inside a running loop; later ``async for item in head``."""

    def __init__(self, source: EventSource, state: CampaignState) -> None:
        self.source = source
        self.state = state
        self.received_data = False
        self.on_data: Callable[[], None] | None = None
        self.on_first_frame: Callable[[], None] | None = None
        self.folded = 0  # data items folded into the state during the head start
        self._iterator: AsyncIterator[SourceItem] = aiter(source)
        self._pending: asyncio.Future[SourceItem] | None = None
        self._status: ConnectionChanged | None = None
        self._outcome: Exception | None = None  # StopAsyncIteration, a MateriaError, ...
        self._running = True
        self._task: asyncio.Task[None] | None = asyncio.get_running_loop().create_task(
            self._run(), name="source-head-start"
        )

    def __repr__(self) -> str:
        return f"HeadStart({self.source!r}, folded={self.folded}, running={self._running})"

    async def _run(self) -> None:
        while True:
            self._pending = asyncio.ensure_future(self._step())
            try:
                # shield: when the consumer takes over, this task is cancelled but
                # the pending item is left for the consumer to await.
                item = await asyncio.shield(self._pending)
            except Exception as exc:  # the end, a MateriaError, or a bug: the consumer's to see
                self._pending = None
                self._outcome = exc
                return
            self._pending = None
            self._fold(item)

    async def _step(self) -> SourceItem:
        return await anext(self._iterator)

    def _fold(self, item: SourceItem) -> None:
        if isinstance(item, ConnectionChanged):
            self._status = item
            return
        apply_item(self.state, item)
        self.folded += 1
        if not self.received_data:
            self.received_data = True
            if self.on_data is not None:
                self.on_data()

    def first_frame_shown(self) -> None:
        """The viewer's first frame is out (``AwaitsFirstFrame``)."""
        if self.on_first_frame is not None:
            self.on_first_frame()
        first_frame_shown(self.source)

    def hand_over(self) -> None:
        """End the head start now (the first ``__anext__`` does this by itself)."""
        if not self._running:
            return
        self._running = False
        if self._task is not None:
            self._task.cancel()
            self._task = None

    # ----- the consumer's side ----------------------------------------------------

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> SourceItem:
        self.hand_over()
        if self._status is not None:
            status, self._status = self._status, None
            return status
        if self._outcome is not None:
            outcome, self._outcome = self._outcome, None
            raise outcome
        pending, self._pending = self._pending, None
        if pending is not None:
            return await pending
        return await anext(self._iterator)

    async def aclose(self) -> None:
        self.hand_over()
        self._status = self._outcome = None
        pending, self._pending = self._pending, None
        if pending is not None and not pending.done():
            pending.cancel()  # a generator cannot be closed while a step of it runs
            with suppress(asyncio.CancelledError, Exception):
                await pending
        await self.source.aclose()
