"""A campaign server that costs (almost) nothing: for measuring clients, not servers.

It speaks just enough HTTP/1.1 and RFC 6455 for ``WebSocketSource`` and a bare
``websockets`` client: ``GET /api/v1/campaigns/{id}`` (metadata), ``GET
.../events`` (empty history, ``last_seq`` 0) and the WebSocket handshake on
``/ws/campaigns/{id}``, after which it writes every pre-encoded frame in
large chunks and then a normal close. A benchmark that used an aiohttp or
websockets server would measure that server too (on this machine aiohttp
sends ~40k frames/s, about what a client can receive), so the ratios would
say nothing about the client.

Run it in a child process (``start_frame_server``), so it has its own GIL:
``python -m bench.frame_server CAMPAIGN COUNT`` prints its port, then serves.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CHUNK_BYTES = 1 << 20


def encode_text_frame(payload: bytes) -> bytes:
    """One unmasked, unfragmented server-to-client text frame."""
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x81, length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, length)
    else:
        header = struct.pack("!BBQ", 0x81, 127, length)
    return header + payload


CLOSE_FRAME = struct.pack("!BBH", 0x88, 2, 1000)


def _http_response(status: str, body: bytes, content_type: str = "application/json") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


def _headers(head: bytes) -> tuple[str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    path = lines[0].split(" ")[1] if len(lines[0].split(" ")) > 1 else "/"
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return path, headers


class _Server:
    def __init__(self, campaign_id: str, blob: bytes) -> None:
        self.campaign_id = campaign_id
        self.blob = blob
        self.meta = json.dumps({"id": campaign_id, "name": "bench", "status": "running"}).encode()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path, headers = _headers(head)
            if headers.get("upgrade", "").lower() == "websocket":
                await self._websocket(reader, writer, headers)
            elif path.startswith(f"/api/v1/campaigns/{self.campaign_id}/events"):
                writer.write(_http_response("200 OK", b'{"events": [], "last_seq": 0}'))
            elif path.split("?")[0] == f"/api/v1/campaigns/{self.campaign_id}":
                writer.write(_http_response("200 OK", self.meta))
            else:
                writer.write(_http_response("404 Not Found", b"{}"))
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _websocket(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: dict[str, str]
    ) -> None:
        key = headers.get("sec-websocket-key", "").encode()
        accept = base64.b64encode(hashlib.sha1(key + WS_GUID).digest()).decode()
        writer.write(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept}\r\n\r\n"
            ).encode()
        )
        view = memoryview(self.blob)
        for start in range(0, len(view), CHUNK_BYTES):
            writer.write(view[start : start + CHUNK_BYTES])
            await writer.drain()
        writer.write(CLOSE_FRAME)
        await writer.drain()
        # The client answers the close (or just hangs up); the server then closes TCP
        # first, as RFC 6455 asks, which is what a client's close() waits for.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reader.read(65536), 5)


@dataclass(frozen=True)
class FrameServer:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    def websocket_url(self, campaign_id: str) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/campaigns/{campaign_id}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


async def _serve(campaign_id: str, count: int) -> None:
    from bench.common import proposed_frames

    frames = proposed_frames(count, campaign_id=campaign_id, with_completion=True)
    handler = _Server(campaign_id, b"".join(encode_text_frame(frame.encode()) for frame in frames))
    server = await asyncio.start_server(handler.handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def start_frame_server(campaign_id: str, count: int) -> FrameServer:
    """A child process serving ``proposed_frames(count, campaign_id=..., with_completion=True)``
    to every WebSocket client of ``campaign_id``."""
    root = Path(__file__).resolve().parent.parent
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.frame_server", campaign_id, str(count)],
        cwd=root,
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.strip().isdigit():
        process.kill()
        raise RuntimeError("the frame server did not start")
    return FrameServer(int(line), process)


if __name__ == "__main__":
    asyncio.run(_serve(sys.argv[1], int(sys.argv[2])))
