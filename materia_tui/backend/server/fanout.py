"""Fan-out of live frames to WebSocket clients, one bounded queue each.

The bus hands each frame to :meth:`FanOut.on_frame`, which never awaits a
socket, so a slow client cannot delay the others. The frame is encoded once
per event, as the complete WebSocket frame (server frames are unmasked, so
every uncompressed client gets the same bytes), and for each client:

- when nothing of that client is waiting (its queue is empty and its
  transport holds no unsent bytes), the bytes are written straight to the
  transport: no task, no await, one ``write`` per client, and the loop over
  the clients does only that (a 5,000-client fan-out is ~75% kernel time:
  the Python around each write is the part left to save);
- otherwise the payload is appended to the client's bounded queue and a
  sender task (started on demand, gone once the queue is empty) sends it
  through aiohttp's ``send_frame``, which waits for the socket to drain.

Order holds because a frame only bypasses the queue when the queue is empty,
and the sender takes a frame off the queue and writes it to the transport in
one step (aiohttp writes an uncompressed frame before its first await). A
client whose queue is full has fallen too far behind: it is closed with 1013
("try again later") and, like any transient close, resumes by REST backfill.
Memory per client is bounded by the queue length (payloads are shared bytes)
plus the transport's write buffer (one frame the kernel did not take whole,
then the sender's frames up to the high-water mark).

Connections are never compressed (``compress=False`` in ``app.py``: the
server does not accept permessage-deflate): the payloads are small JSON, and
per-client deflate would cost CPU on every frame of every client, the
resource the fan-out runs out of first. A compressed connection would still
work, through the queue, since pre-encoded bytes would be wrong for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections import deque

from aiohttp import WSMsgType, web

log = logging.getLogger(__name__)

CLOSE_GOING_AWAY = 1001
CLOSE_INTERNAL_ERROR = 1011
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_TOKEN_EXPIRED = 4401
# A peer that never reads would keep a closing socket's buffer forever.
ABORT_AFTER_CLOSE_SECONDS = 30.0

_FIN_TEXT = 0x80 | WSMsgType.TEXT  # FIN bit, no RSV bits, opcode 1
_PACK_LEN1 = struct.Struct("!BB").pack
_PACK_LEN2 = struct.Struct("!BBH").pack
_PACK_LEN3 = struct.Struct("!BBQ").pack


def text_frame(payload: bytes) -> bytes:
    """The whole unmasked, uncompressed, final text frame of ``payload`` (RFC 6455 5.2).

    Byte for byte what aiohttp's ``WebSocketWriter`` puts on the wire for a
    server's uncompressed ``send_frame(payload, WSMsgType.TEXT)``.
    """
    length = len(payload)
    if length < 126:
        header = _PACK_LEN1(_FIN_TEXT, length)
    elif length < 65536:
        header = _PACK_LEN2(_FIN_TEXT, 126, length)
    else:
        header = _PACK_LEN3(_FIN_TEXT, 127, length)
    return header + payload


class ClientStream:
    """One WebSocket client of one campaign."""

    __slots__ = (
        "_closer",
        "_closing",
        "_direct",
        "_direct_transport",
        "_protocol",
        "_queue",
        "_queue_size",
        "_sender",
        "_transport",
        "campaign_id",
        "direct_writes",
        "queued_writes",
        "ws",
    )

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, campaign_id: str,
                 queue_size: int) -> None:
        self.ws = ws
        self.campaign_id = campaign_id
        self._transport = request.transport
        self._protocol = request.protocol
        # Pre-encoded bytes are only right for an uncompressed connection.
        self._direct = self._transport is not None and not ws.compress
        self._queue: deque[bytes] = deque()
        self._queue_size = queue_size
        self._closing = False
        self._sender: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None
        # The transport while the direct path is open to this client (uncompressed, not
        # closing, nothing queued), else None: one check in the fan-out's loop.
        self._direct_transport = self._transport if self._direct else None
        self.direct_writes = 0  # frames written straight to the transport
        self.queued_writes = 0  # frames that went through the queue and the sender

    @property
    def closing(self) -> bool:
        return self._closing

    @property
    def queued(self) -> int:
        """Frames waiting for the sender (0 while the client keeps up)."""
        return len(self._queue)

    @property
    def on_direct_path(self) -> bool:
        """Frames go straight to the transport (nothing queued, no sender at work)."""
        return self._direct_transport is not None

    @property
    def unsent_bytes(self) -> int:
        """Bytes in the transport's buffer that the kernel has not taken yet."""
        transport = self._transport
        return transport.get_write_buffer_size() if transport is not None else 0

    @property
    def writing_paused(self) -> bool:
        """The transport's buffer is past its high-water mark (the peer reads too slowly)."""
        return self._protocol.writing_paused

    def enqueue(self, payload: bytes) -> bool:
        """Queue ``payload`` for the sender; False when the queue is full."""
        if self._closing:
            return True
        queue = self._queue
        if len(queue) >= self._queue_size:
            return False
        queue.append(payload)
        self._direct_transport = None  # until the sender has drained the queue
        self.queued_writes += 1
        if self._sender is None:
            self._sender = asyncio.create_task(self._send_loop(), name=f"ws-sender-{self.campaign_id}")
        return True

    async def _send_loop(self) -> None:
        queue = self._queue
        try:
            while queue:
                # popleft and the transport write happen in one step (aiohttp
                # writes an uncompressed frame before its first await): an empty
                # queue means every older frame is in the transport already.
                await self.ws.send_frame(queue.popleft(), WSMsgType.TEXT)
        except (ConnectionError, RuntimeError) as exc:
            # The peer went away mid-send; the receive loop notices and cleans up.
            log.debug("sending to a client failed: %s", type(exc).__name__)
            self._closing = True
            queue.clear()
        finally:
            self._sender = None
            if not queue and not self._closing and self._direct:
                self._direct_transport = self._transport  # caught up: direct writes again

    def close_soon(self, code: int, reason: str) -> None:
        """Stop sending and close with ``code`` (idempotent, never blocks the caller)."""
        if self._closing:
            return
        sender = self._stop_sending()
        self._closer = asyncio.create_task(self._close(sender, code, reason), name="ws-closer")

    def _stop_sending(self) -> asyncio.Task[None] | None:
        """Drop what is queued and cancel the sender; returns it, to be awaited."""
        self._closing = True
        self._direct_transport = None
        self._queue.clear()
        sender = self._sender
        if sender is not None:
            sender.cancel()
        return sender

    async def _close(self, sender: asyncio.Task[None] | None, code: int, reason: str) -> None:
        if sender is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await sender
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
        sender = self._stop_sending()
        if sender is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await sender
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

    def streams(self, campaign_id: str) -> list[ClientStream]:
        """The connected clients of one campaign."""
        return list(self._clients.get(campaign_id, ()))

    def on_frame(self, campaign_id: str, frame: str) -> None:
        clients = self._clients.get(campaign_id)
        if not clients:
            return
        # UTF-8 and the WebSocket header once per event, not once per client.
        payload = frame.encode()
        encoded = text_frame(payload)
        for client in clients:
            # Written here rather than in a ClientStream method: per client per event, the
            # Python between two socket writes is what a 5,000-client fan-out can still save.
            transport = client._direct_transport
            if (
                transport is not None
                and not transport.get_write_buffer_size()
                and not client.ws.closed
                and not transport.is_closing()
            ):
                transport.write(encoded)
                client.direct_writes += 1
            elif not client.enqueue(payload):
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
