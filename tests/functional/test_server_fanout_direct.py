"""The fan-out's direct-write path (``materia_tui.backend.server.fanout``): frames encoded
once and written straight to each client's transport while it keeps up, through
the queue and the sender when it does not; order, completeness and the 1013
close of a laggard hold across both paths. Real sockets on 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from materia_tui.backend.publish import MemoryPublisher
from materia_tui.backend.server import layout
from materia_tui.backend.server.app import RunningServer, start_server
from materia_tui.backend.server.auth import NoAuth
from materia_tui.backend.server.bus import MemoryBus
from materia_tui.backend.server.fanout import ClientStream, FanOut, text_frame
from tests.support.campaigns import campaign_meta
from tests.support.server_helpers import receive_until_seq, seqs, wait_until

CAMPAIGN = "camp-direct"
# Payload lengths on both sides of each of RFC 6455's three length encodings.
SIZES = [0, 1, 125, 126, 127, 1000, 65535, 65536, 200_000]


@pytest.fixture
async def bus() -> MemoryBus:
    bus = MemoryBus()
    await MemoryPublisher(bus).set_metadata(campaign_meta(CAMPAIGN))
    return bus


@pytest.fixture
async def server(bus: MemoryBus) -> AsyncIterator[RunningServer]:
    running = await start_server("127.0.0.1", 0, bus=bus, auth=NoAuth(), queue_size=100_000)
    yield running
    await running.close()


def padded(seq_hint: int, size: int) -> dict[str, Any]:
    """A valid event whose JSON text is ``size`` bytes or a little more."""
    return {"type": "campaign_error", "error": "x" * size, "iteration": seq_hint, "fatal": False}


def _handshake(port: int, path: str, rcvbuf: int | None = None) -> socket.socket:
    """A blocking raw WebSocket client socket, upgraded; the server's first byte after
    the 101 response is the first frame's."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # before connect: sets the window
    sock.settimeout(30)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = sock.recv(1)  # byte by byte: nothing past the headers may be consumed here
        if not chunk:
            raise ConnectionError("closed during the handshake")
        response += chunk
    assert response.startswith(b"HTTP/1.1 101"), response[:80]
    return sock


def _read_exactly(sock: socket.socket, count: int) -> bytes:
    data = bytearray()
    while len(data) < count:
        chunk = sock.recv(min(65536, count - len(data)))
        if not chunk:
            raise ConnectionError(f"closed after {len(data)} of {count} bytes")
        data += chunk
    return bytes(data)


def _read_frame(sock: socket.socket) -> tuple[int, bytes]:
    """(first header byte, payload) of one unmasked frame."""
    first, second = _read_exactly(sock, 2)
    assert not second & 0x80, "a server frame must not be masked"
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", _read_exactly(sock, 2))
    elif length == 127:
        (length,) = struct.unpack("!Q", _read_exactly(sock, 8))
    return first, _read_exactly(sock, length)



async def serve_one_route(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> tuple[web.AppRunner, int]:
    """``handler`` at ``/ws`` on an ephemeral loopback port (the caller cleans the runner up)."""
    app = web.Application()
    app.router.add_get("/ws", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, runner.addresses[0][1]

async def test_encoded_frames_are_byte_identical_to_aiohttps() -> None:
    """aiohttp's own ``send_frame`` on a real socket produces exactly ``text_frame``'s bytes."""
    payloads = [bytes([65 + i % 26]) * size for i, size in enumerate(SIZES)]

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        for payload in payloads:
            await ws.send_frame(payload, WSMsgType.TEXT)
        await ws.receive()  # until the client goes away
        return ws

    runner, port = await serve_one_route(handler)
    expected = b"".join(text_frame(p) for p in payloads)

    def read_all() -> bytes:
        with _handshake(port, "/ws") as sock:
            return _read_exactly(sock, len(expected))

    try:
        wire = await asyncio.to_thread(read_all)
    finally:
        await runner.cleanup()
    assert wire == expected
    # and the header of each length class is the RFC's
    assert text_frame(b"a" * 125)[:2] == b"\x81\x7d"
    assert text_frame(b"a" * 126)[:4] == b"\x81\x7e\x00\x7e"
    assert text_frame(b"a" * 65536)[:10] == b"\x81\x7f" + (65536).to_bytes(8, "big")


async def test_websockets_client_decodes_direct_frames_of_every_length_class(
    server: RunningServer, bus: MemoryBus
) -> None:
    """A real ``websockets`` client (offering permessage-deflate, as it does by default)
    gets every frame of every size intact, and the server wrote them directly."""
    publisher = MemoryPublisher(bus)
    async with connect(server.websocket_url(CAMPAIGN), max_size=None) as ws:
        assert ws.response is not None
        # The server declines compression: the pre-encoded bytes are only right uncompressed.
        assert "Sec-WebSocket-Extensions" not in ws.response.headers
        await wait_until(lambda: len(server.fanout.streams(CAMPAIGN)) == 1, what="the stream")
        (stream,) = server.fanout.streams(CAMPAIGN)
        for index, size in enumerate(SIZES):
            await publisher.publish(CAMPAIGN, padded(index + 1, size))
        received = await receive_until_seq(ws, len(SIZES), [])
    history = (await bus.history(CAMPAIGN, 0, 100)).frames
    assert seqs(received) == list(range(1, len(SIZES) + 1))
    assert received == [json.loads(frame) for frame in history]
    assert [len(e["error"]) for e in received] == SIZES
    assert stream.direct_writes == len(SIZES) and stream.queued_writes == 0


async def test_a_compressed_connection_never_gets_pre_encoded_frames() -> None:
    """With deflate negotiated the stream falls back to aiohttp's own (compressing) sender."""
    fanout = FanOut()
    streams: list[ClientStream] = []

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=True)
        await ws.prepare(request)
        stream = ClientStream(ws, request, CAMPAIGN, queue_size=100)
        fanout.add(stream)
        streams.append(stream)
        try:
            async for _message in ws:
                pass
        finally:
            fanout.remove(stream)
            await stream.stop()
        return ws

    runner, port = await serve_one_route(handler)
    frames = [json.dumps({"seq": i + 1, "text": "abc" * size}) for i, size in enumerate([1, 100, 30_000])]
    try:
        async with connect(f"ws://127.0.0.1:{port}/ws", max_size=None) as ws:
            assert ws.response is not None
            assert "permessage-deflate" in ws.response.headers.get("Sec-WebSocket-Extensions", "")
            await wait_until(lambda: len(streams) == 1, what="the stream")
            for frame in frames:
                fanout.on_frame(CAMPAIGN, frame)
            received = [await asyncio.wait_for(ws.recv(), 10) for _ in frames]
    finally:
        await runner.cleanup()
    assert received == frames
    assert streams[0].direct_writes == 0 and streams[0].queued_writes == len(frames)


MIN_HAZARDS = 5


class _ResumeHook:
    """A transport's protocol, wrapped: after the real ``resume_writing`` runs, ``hook``
    runs in the same callback -- before any task, the client's sender included, wakes."""

    def __init__(self, protocol: Any, hook: Callable[[], None]) -> None:
        self._protocol = protocol
        self._hook = hook

    def resume_writing(self) -> None:
        self._protocol.resume_writing()
        self._hook()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._protocol, name)


class SlowReader:
    """A raw client in a thread: reads nothing until ``go`` is set, then reads in small
    sips, collecting the seq of every text frame until it has ``last_seq`` or the close."""

    def __init__(self, port: int, path: str) -> None:
        self.sock = _handshake(port, path, rcvbuf=4096)
        self.go = threading.Event()
        self.seqs: list[int] = []
        self.close_code: int | None = None
        self.error: BaseException | None = None
        self.last_seq = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.go.wait(60)
            while True:
                first, payload = _read_frame(self.sock)
                opcode = first & 0x0F
                if opcode == 0x8:
                    self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                    return
                if opcode == 0x1:
                    self.seqs.append(json.loads(payload)["seq"])
                    if self.last_seq and self.seqs[-1] >= self.last_seq:
                        return
        except BaseException as exc:  # reported to the test
            self.error = exc
        finally:
            self.sock.close()


def _shrink_send_buffer(stream: ClientStream) -> None:
    """A small kernel send buffer, so a client that stops reading pauses the
    transport after a few frames instead of after megabytes."""
    sock = stream.ws.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)


async def test_direct_writes_wait_behind_queued_frames_of_a_slow_reader(
    server: RunningServer, bus: MemoryBus
) -> None:
    """While a client's queue holds frames, new frames join the queue even when its
    transport has room again: writing them directly would overtake the queued ones."""
    reader = await asyncio.to_thread(SlowReader, server.port, f"/ws/campaigns/{CAMPAIGN}")
    await wait_until(lambda: len(server.fanout.streams(CAMPAIGN)) == 1, what="the stream")
    (stream,) = server.fanout.streams(CAMPAIGN)
    _shrink_send_buffer(stream)
    transport = stream._transport
    assert transport is not None
    # Resume only once the transport's buffer is empty: the moment a direct write
    # would look safe if the code forgot the queue.
    transport.set_write_buffer_limits(high=8192, low=0)
    published = 0

    def publish() -> None:
        nonlocal published
        published += 1
        body = layout.event_body(CAMPAIGN, padded(published, 2000), now=layout.utc_now_iso())
        bus.publish_now(CAMPAIGN, [body])

    # 1. Direct writes until the client's buffers are full and frames queue up.
    while stream.queued == 0:
        publish()
        await asyncio.sleep(0)
        assert published < 10_000, "the transport never paused"
    direct_before = stream.direct_writes
    assert direct_before > 0 and stream.writing_paused
    # 2. The reader sips. Each time the transport resumes with older frames still
    #    queued, a frame is published in that same callback, before the sender runs:
    #    an empty transport buffer and a non-empty queue -- the case under test --
    #    on every resume rather than when the scheduler happens to allow it.
    hazards = 0

    def publish_while_queued() -> None:
        nonlocal hazards
        if stream.queued and stream.unsent_bytes == 0:
            hazards += 1
            publish()

    protocol = transport.get_protocol()
    transport.set_protocol(_ResumeHook(protocol, publish_while_queued))
    reader.go.set()
    try:
        async with asyncio.timeout(60):
            while hazards < MIN_HAZARDS or published < 400:
                # A burst deep enough that aiohttp's sender, past its 64 KiB output
                # limit, waits for the transport to drain with frames still queued.
                while stream.queued < 50:
                    publish()
                await asyncio.sleep(0.001)
    finally:
        transport.set_protocol(protocol)
    # 3. Drain: then the direct path must take over again (once the transport, too,
    #    has handed everything to the kernel).
    await wait_until(lambda: stream.on_direct_path and stream.unsent_bytes == 0, timeout=30,
                     what="the queue to drain")
    queued_total = stream.queued_writes
    direct_after_drain = stream.direct_writes
    publish()
    assert stream.direct_writes == direct_after_drain + 1 and stream.queued_writes == queued_total
    for _ in range(4):
        publish()
    reader.last_seq = published
    await asyncio.to_thread(reader.thread.join, 30)
    assert reader.error is None, reader.error
    assert hazards >= MIN_HAZARDS, "the test never offered a frame while older ones were queued"
    assert reader.seqs == list(range(1, published + 1)), "lost, repeated or reordered frames"
    assert queued_total > 0
    assert stream.direct_writes > direct_before  # back on the direct path after draining


async def test_a_laggard_of_small_frames_is_closed_with_1013_and_the_others_get_everything(
    bus: MemoryBus,
) -> None:
    server = await start_server("127.0.0.1", 0, bus=bus, auth=NoAuth(), queue_size=64)
    publisher = MemoryPublisher(bus)
    try:
        reader = await asyncio.to_thread(SlowReader, server.port, f"/ws/campaigns/{CAMPAIGN}")
        await wait_until(lambda: len(server.fanout.streams(CAMPAIGN)) == 1, what="the slow stream")
        (slow,) = server.fanout.streams(CAMPAIGN)
        _shrink_send_buffer(slow)
        count = 3000  # ~1.5 MB of small frames: far past 4 KiB buffers plus 64 queued frames
        received: list[dict[str, Any]] = []
        async with connect(server.websocket_url(CAMPAIGN)) as fast:
            task = asyncio.create_task(receive_until_seq(fast, count, received, timeout=60))
            for index in range(count):
                await publisher.publish(CAMPAIGN, padded(index + 1, 400))
                if index % 50 == 0:
                    await asyncio.sleep(0)  # let the fast client read (the slow one never does)
            await task
            await wait_until(lambda: server.fanout.overflow_closes == 1, what="the laggard's 1013")
            assert slow.closing and slow.direct_writes > 0
            reader.go.set()  # now it reads what it was sent, then the close
            await asyncio.to_thread(reader.thread.join, 30)
        assert seqs(received) == list(range(1, count + 1))
        assert server.fanout.overflow_closes == 1  # never the fast client
        assert reader.error is None, reader.error
        assert reader.close_code == 1013
        assert 0 < len(reader.seqs) < count
        assert reader.seqs == list(range(1, len(reader.seqs) + 1))  # a prefix, in order
    finally:
        await server.close()


async def test_a_client_that_vanishes_mid_stream_does_not_disturb_the_others(
    server: RunningServer, bus: MemoryBus
) -> None:
    publisher = MemoryPublisher(bus)
    url = server.websocket_url(CAMPAIGN)
    async with connect(url) as stays:
        gone = await connect(url)
        await wait_until(lambda: len(server.fanout.streams(CAMPAIGN)) == 2, what="two streams")
        await publisher.publish(CAMPAIGN, padded(1, 10))
        gone.transport.abort()  # no close handshake: the server finds out by writing
        for index in range(2, 51):
            await publisher.publish(CAMPAIGN, padded(index, 10))
        received = await receive_until_seq(stays, 50, [])
    assert seqs(received) == list(range(1, 51))
    await wait_until(lambda: len(server.fanout.streams(CAMPAIGN)) == 0, what="both streams gone")
    with pytest.raises(ConnectionClosed):
        # Whatever it had read before the abort (seq 1 on uvloop, nothing on asyncio), then the end.
        for _ in range(50):
            await asyncio.wait_for(gone.recv(), 5)
