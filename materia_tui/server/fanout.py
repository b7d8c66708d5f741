"""Fan-out of live frames to WebSocket clients, one bounded queue each.

The bus hands each frame to :meth:`FanOut.on_frame`, which only appends the
(shared, immutable) frame to every client's queue: it never awaits a socket,
so a slow client cannot delay the others. Each client has its own sender task
draining its queue. A client whose queue is full has fallen too far behind:
it is closed with 1013 ("try again later") and, like any transient close,
resumes by REST backfill. Memory per client is bounded by the queue length
(frames are shared strings) plus the socket's write buffer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

from aiohttp import WSMsgType, web

log = logging.getLogger(__name__)

CLOSE_GOING_AWAY = 1001
CLOSE_INTERNAL_ERROR = 1011
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_TOKEN_EXPIRED = 4401
# A peer that never reads would keep a closing socket's buffer forever.
ABORT_AFTER_CLOSE_SECONDS = 30.0


class ClientStream:
    """One WebSocket client of one campaign."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, campaign_id: str,
                 queue_size: int) -> None:
        self.ws = ws
        self.campaign_id = campaign_id
        self._transport = request.transport
        self._queue: deque[bytes] = deque()
        self._queue_size = queue_size
        self._wakeup = asyncio.Event()
        self._closing = False
        self._sender = asyncio.create_task(self._send_loop(), name=f"ws-sender-{campaign_id}")
        self._closer: asyncio.Task[None] | None = None

    @property
    def closing(self) -> bool:
        return self._closing

    def offer(self, frame: bytes) -> bool:
        """Queue a frame; False when the client is too far behind to take it."""
        if self._closing:
            return True
        if len(self._queue) >= self._queue_size:
            return False
        self._queue.append(frame)
        self._wakeup.set()
        return True

    async def _send_loop(self) -> None:
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._queue:
                    # The frame was UTF-8 encoded once for all clients (send_str would
                    # encode it again for each one).
                    await self.ws.send_frame(self._queue.popleft(), WSMsgType.TEXT)
        except (ConnectionError, RuntimeError) as exc:
            # The peer went away mid-send; the receive loop notices and cleans up.
            log.debug("sending to a client failed: %s", type(exc).__name__)

    def close_soon(self, code: int, reason: str) -> None:
        """Stop sending and close with ``code`` (idempotent, never blocks the caller)."""
        if self._closing:
            return
        self._closing = True
        self._queue.clear()
        self._sender.cancel()
        self._closer = asyncio.create_task(self._close(code, reason), name="ws-closer")

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await self._sender
        # drain=False: a client that stops reading must not block its own close.
        with contextlib.suppress(Exception):
            await self.ws.close(code=code, message=reason.encode(), drain=False)
        transport = self._transport
        if transport is not None and not transport.is_closing():
            asyncio.get_running_loop().call_later(ABORT_AFTER_CLOSE_SECONDS, transport.abort)

    async def wait_closed(self) -> None:
        if self._closer is not None:
            with contextlib.suppress(Exception):
                await self._closer

    async def stop(self) -> None:
        """Release the sender once the connection has ended."""
        self._closing = True
        self._sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._sender
        await self.wait_closed()


class FanOut:
    """Every connected client, by campaign; the bus's listener."""

    def __init__(self) -> None:
        self._clients: dict[str, set[ClientStream]] = {}
        self.overflow_closes = 0

    def add(self, client: ClientStream) -> None:
        self._clients.setdefault(client.campaign_id, set()).add(client)

    def remove(self, client: ClientStream) -> None:
        clients = self._clients.get(client.campaign_id)
        if clients is not None:
            clients.discard(client)
            if not clients:
                del self._clients[client.campaign_id]

    def client_count(self) -> int:
        return sum(len(c) for c in self._clients.values())

    def on_frame(self, campaign_id: str, frame: str) -> None:
        clients = self._clients.get(campaign_id)
        if not clients:
            return
        encoded = frame.encode()
        for client in clients:
            if not client.offer(encoded):
                self.overflow_closes += 1
                log.warning("a client of campaign %s fell too far behind; closing it with 1013", campaign_id)
                client.close_soon(CLOSE_TRY_AGAIN_LATER, "client too slow; resume by backfill")

    def on_gap(self) -> None:
        for client in self._all():
            client.close_soon(CLOSE_INTERNAL_ERROR, "event bus interrupted; resume by backfill")

    async def close_all(self, code: int = CLOSE_GOING_AWAY, reason: str = "server shutting down") -> None:
        clients = self._all()
        for client in clients:
            client.close_soon(code, reason)
        await asyncio.gather(*(c.wait_closed() for c in clients))

    def _all(self) -> list[ClientStream]:
        return [client for clients in self._clients.values() for client in clients]
