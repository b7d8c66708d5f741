"""A cheap WebSocket load generator: many raw-socket clients in one process.

``python -m bench.load_clients URL CLIENTS EVENTS [CONCURRENCY]`` opens CLIENTS connections
(at most CONCURRENCY handshakes at a time)
to the ``ws://`` URL (an asyncio ``Protocol`` each: a handshake, then a
minimal RFC 6455 frame parser; no per-message Python objects beyond the
payload), prints ``ready`` once every handshake succeeded, then reads until
each client has EVENTS text frames and prints one JSON line: the latencies
(``receive time - sent_at`` of each frame, in 0.1 ms units) and the problems
found (missing, out of order or duplicated ``seq``). Two such processes give
the clients two cores' worth of CPU, so the server is what is measured.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import resource
import sys
import time
from urllib.parse import urlsplit

_SENT_AT = re.compile(rb'"sent_at":\s*([0-9.e+-]+)')
_SEQ = re.compile(rb'"seq":\s*(\d+)')
CONNECT_CONCURRENCY = 64


class RawClient(asyncio.Protocol):
    def __init__(
        self, request: bytes, expected: int, done: asyncio.Future[None], handshake: asyncio.Future[None]
    ) -> None:
        self.request = request
        self.expected = expected
        self.done = done
        self.handshake = handshake
        self.buffer = bytearray()
        self.upgraded = False
        self.latencies: list[int] = []
        self.last_seq = 0
        self.problems = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.buffer.startswith(b"HTTP/1.1 101"):
                if not self.handshake.done():
                    self.handshake.set_exception(
                        RuntimeError(bytes(self.buffer[:60]).decode(errors="replace"))
                    )
                return
            del self.buffer[: end + 4]
            self.upgraded = True
            if not self.handshake.done():
                self.handshake.set_result(None)
        self._frames()

    def _frames(self) -> None:
        buffer = self.buffer
        now = time.time()
        while len(buffer) >= 2:
            opcode = buffer[0] & 0x0F
            length = buffer[1] & 0x7F
            start = 2
            if length == 126:
                if len(buffer) < 4:
                    return
                length = int.from_bytes(buffer[2:4], "big")
                start = 4
            elif length == 127:
                if len(buffer) < 10:
                    return
                length = int.from_bytes(buffer[2:10], "big")
                start = 10
            if len(buffer) < start + length:
                return
            payload = bytes(buffer[start : start + length])
            del buffer[: start + length]
            if opcode == 0x1:
                self._message(payload, now)
            elif opcode == 0x9 and self.transport is not None:
                self.transport.write(_pong(payload))  # a server closes clients that never answer pings

    def _message(self, payload: bytes, now: float) -> None:
        sent = _SENT_AT.search(payload)
        seq = _SEQ.search(payload)
        if sent is None or seq is None:
            return
        number = int(seq.group(1))
        if number <= self.last_seq:
            self.problems += 1
        self.last_seq = number
        self.latencies.append(round((now - float(sent.group(1))) * 10_000))
        if len(self.latencies) == self.expected and not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


def _pong(payload: bytes) -> bytes:
    """A client's (so masked) pong frame echoing a ping's payload (< 126 bytes by RFC 6455)."""
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x8A, 0x80 | len(masked)]) + mask + masked


def _request(url: str) -> bytes:
    parts = urlsplit(url)
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


async def run(url: str, clients: int, expected: int, concurrency: int) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    parts = urlsplit(url)
    gate = asyncio.Semaphore(concurrency)
    protocols: list[RawClient] = []

    async def one() -> None:
        done: asyncio.Future[None] = loop.create_future()
        handshake: asyncio.Future[None] = loop.create_future()
        async with gate:
            _, protocol = await loop.create_connection(
                lambda: RawClient(_request(url), expected, done, handshake),
                parts.hostname or "127.0.0.1",
                parts.port or 80,
            )
            await asyncio.wait_for(handshake, 30)
        protocols.append(protocol)

    await asyncio.gather(*(one() for _ in range(clients)))
    print("ready", flush=True)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(p.done for p in protocols)), 120)
    missing = sum(max(0, expected - len(p.latencies)) for p in protocols)
    problems = sum(p.problems for p in protocols)
    for p in protocols:
        if p.transport is not None:
            p.transport.close()
    return {
        "latencies": [latency for p in protocols for latency in p.latencies],
        "missing": missing,
        "out_of_order": problems,
    }


def main() -> None:
    url, clients, expected = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    concurrency = int(sys.argv[4]) if len(sys.argv) > 4 else CONNECT_CONCURRENCY
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, clients + 256)), hard))
    print(json.dumps(asyncio.run(run(url, clients, expected, concurrency))), flush=True)


if __name__ == "__main__":
    main()
