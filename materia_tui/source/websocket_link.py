"""The plumbing of one WebSocket connection, under ``WebSocketSource``: the task
that reads frames into a bounded buffer while the source backfills, the link
that says whether the socket outlived a REST failure, and the token-safe logger.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.protocol import State

from materia_tui.source.settings import ConnectionSettings

LIVE_BUFFER_FRAMES = 4096
LIVE_BUFFER_BYTES = 64 * 1024 * 1024
CLOSE_TIMEOUT_SECONDS = 2.0
# How long a REST failure waits to learn whether the WebSocket went down with it.
LINK_GRACE_SECONDS = 0.25


@dataclass(frozen=True, slots=True)
class Closed:
    """The reader's last word: why the WebSocket stopped."""

    error: BaseException


class LiveBuffer:
    """Live frames waiting while we backfill: bounded by count and bytes.

    One producer (the reader task), one consumer (the source). A full buffer
    makes the reader wait, which pushes back on the socket instead of growing
    memory; one frame is always admitted so a single huge frame cannot block.
    """

    def __init__(self, max_frames: int, max_bytes: int) -> None:
        self._items: deque[tuple[str | bytes | Closed, int]] = deque()
        self._bytes = 0
        self._max_frames = max_frames
        self._max_bytes = max_bytes
        # Each side sets the other's event only while the other waits on it: an
        # ``Event.set`` is a Python-level call, and a frame would otherwise cost two.
        self._not_empty = asyncio.Event()
        self._has_room = asyncio.Event()
        self._getter_waits = False
        self._putter_waits = False

    def __len__(self) -> int:
        return len(self._items)

    async def put(self, item: str | bytes | Closed, size: int) -> None:
        while not self.offer(item, size):
            self._has_room.clear()
            self._putter_waits = True
            await self._has_room.wait()

    def offer(self, item: str | bytes | Closed, size: int) -> bool:
        """Append ``item`` if there is room (what ``put`` waits for), and say whether it did."""
        items = self._items
        if items and (len(items) >= self._max_frames or self._bytes + size > self._max_bytes):
            return False
        items.append((item, size))
        self._bytes += size
        if self._getter_waits:
            self._getter_waits = False
            self._not_empty.set()
        return True

    async def get(self) -> str | bytes | Closed:
        while not self._items:
            self._not_empty.clear()
            self._getter_waits = True
            await self._not_empty.wait()
        return self.get_nowait()

    def get_nowait(self) -> str | bytes | Closed:
        """The oldest item; the buffer must not be empty (``len``)."""
        item, size = self._items.popleft()
        self._bytes -= size
        if self._putter_waits:
            self._putter_waits = False
            self._has_room.set()
        return item


async def read_frames(ws: ClientConnection, buffer: LiveBuffer) -> None:
    try:
        while True:
            message = await ws.recv()
            if not buffer.offer(message, len(message)):  # a coroutine per frame costs more than the check
                await buffer.put(message, len(message))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # the close, or anything else that ends this connection
        await buffer.put(Closed(exc), 0)


@dataclass(frozen=True, slots=True)
class Link:
    """The WebSocket of one connection and the task reading it."""

    ws: ClientConnection
    reader: asyncio.Task[None]

    async def survives(self) -> bool:
        """Whether the WebSocket is still up after a REST failure (waits briefly for it to fall)."""
        await asyncio.wait({self.reader}, timeout=LINK_GRACE_SECONDS)
        return not self.reader.done() and self.ws.state is State.OPEN


class RedactingLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """websockets' logger with the token masked: at DEBUG it logs every handshake
    header, ``Authorization: Bearer <token>`` included."""

    def __init__(self, token: str | None) -> None:
        super().__init__(logging.getLogger("websockets.client"), {})
        self._token = token

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        token = self._token
        if token:
            msg = str(msg).replace(token, "[token]")
            args = tuple(str(a).replace(token, "[token]") if token in str(a) else a for a in args)
        self.logger.log(level, msg, *args, **kwargs)


def close_timeout(settings: ConnectionSettings) -> float:
    """After a keepalive timeout, websockets waits this long for a closing handshake
    that a half-open peer never answers. A quarter of the ping timeout keeps the
    detection of a dead peer near interval + timeout (twice the timeout by default)."""
    if settings.ping_timeout is None:
        return CLOSE_TIMEOUT_SECONDS
    return min(CLOSE_TIMEOUT_SECONDS, settings.ping_timeout / 4)
