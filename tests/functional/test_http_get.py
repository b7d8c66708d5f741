"""source/http_get.py against real sockets on 127.0.0.1: a raw server answers each
request with scripted bytes, so every framing (length, chunked, to the end), gzip,
interim answers and every malformed or oversized answer is exercised."""

from __future__ import annotations

import asyncio
import gzip
import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from materia_tui.source.http_get import HttpAnswer, HttpGetError, http_get

BODY = b'{"events": [], "last_seq": 0}'


class RawServer:
    """Answers every connection with the bytes ``answer``; keeps the requests."""

    def __init__(self, answer: bytes, *, hold: bool = False) -> None:
        self.answer = answer
        self.hold = hold  # keep the connection open after answering
        self.requests: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        self.requests.append(request)
        writer.write(self.answer)
        await writer.drain()
        if self.hold:
            await asyncio.sleep(5)
        writer.close()


@asynccontextmanager
async def raw_server(answer: bytes, *, hold: bool = False) -> AsyncIterator[tuple[str, RawServer]]:
    handler = RawServer(answer, hold=hold)
    server = await asyncio.start_server(handler.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/api/v1/campaigns/c1/events?after_seq=0&limit=16", handler
    finally:
        server.close()


def no_tls() -> ssl.SSLContext:
    raise AssertionError("a plain-http GET made a TLS context")


async def get(
    url: str, headers: dict[str, str] | None = None, max_body: int = 1 << 20, read: float = 2.0
) -> HttpAnswer:
    return await http_get(
        url, headers or {}, tls=no_tls, connect_timeout=2.0, read_timeout=read, max_body=max_body
    )


def answer(head: str, body: bytes = b"") -> bytes:
    return head.replace("\n", "\r\n").encode() + b"\r\n" + body


async def test_content_length_body_headers_and_the_request_sent() -> None:
    reply = answer(
        f"HTTP/1.1 200 OK\nContent-Type: application/json\nX-Last-Seq: 7\nContent-Length: {len(BODY)}\n", BODY
    )
    async with raw_server(reply) as (url, server):
        got = await get(url, {"Authorization": "Bearer secret", "Accept": "application/json"})
    request = server.requests[0].decode()
    assert got.status == 200 and got.body == BODY
    assert got.headers["content-type"] == "application/json" and got.headers["x-last-seq"] == "7"
    lines = request.split("\r\n")
    assert lines[0] == "GET /api/v1/campaigns/c1/events?after_seq=0&limit=16 HTTP/1.1"
    assert "Authorization: Bearer secret" in lines and "Connection: close" in lines
    assert any(line.startswith("Host: 127.0.0.1:") for line in lines)


async def test_chunked_body_with_extensions_and_trailers() -> None:
    chunks = b"5;ext=1\r\n" + BODY[:5] + b"\r\n" + f"{len(BODY) - 5:x}\r\n".encode() + BODY[5:] + b"\r\n"
    reply = answer("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n", chunks + b"0\r\nX-Trailer: yes\r\n\r\n")
    async with raw_server(reply) as (url, _):
        assert (await get(url)).body == BODY


async def test_body_to_the_end_of_the_connection() -> None:
    async with raw_server(answer("HTTP/1.0 200 OK\n", BODY)) as (url, _):
        assert (await get(url)).body == BODY


async def test_gzip_is_decoded_and_interim_answers_skipped() -> None:
    packed = gzip.compress(BODY)
    reply = answer("HTTP/1.1 100 Continue\n") + answer(
        f"HTTP/1.1 200 OK\nContent-Encoding: gzip\nContent-Length: {len(packed)}\n", packed
    )
    async with raw_server(reply) as (url, _):
        assert (await get(url)).body == BODY


async def test_another_status_is_returned_without_its_body() -> None:
    async with raw_server(answer("HTTP/1.1 401 Unauthorized\nContent-Length: 5\n", b"nope!")) as (url, _):
        got = await get(url)
    assert got.status == 401 and got.body == b""


@pytest.mark.parametrize(
    "reply",
    [
        answer("HTTP/2 200 OK\nContent-Length: 0\n"),  # not HTTP/1.x
        answer("HTTP/1.1 2x0 OK\nContent-Length: 0\n"),
        answer("HTTP/1.1 200 OK\nBad Header Line\n"),
        answer("HTTP/1.1 200 OK\n folded: continuation\n"),
        answer("HTTP/1.1 200 OK\nContent-Length: -1\n"),
        answer("HTTP/1.1 200 OK\nContent-Length: 4\nContent-Length: 5\n", b"12345"),  # joined: not digits
        answer("HTTP/1.1 200 OK\nContent-Length: 99\n", b"short"),  # the connection ends first
        answer("HTTP/1.1 200 OK\nTransfer-Encoding: gzip, chunked\n", b"0\r\n\r\n"),
        answer("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n", b"zz\r\n"),
        answer("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n", b"3\r\nabcXX\r\n0\r\n\r\n"),
        answer("HTTP/1.1 200 OK\nContent-Encoding: br\nContent-Length: 2\n", b"{}"),
        answer("HTTP/1.1 200 OK\nContent-Encoding: gzip\nContent-Length: 4\n", b"nope"),
        answer("HTTP/1.1 200 OK\nContent-Encoding: gzip\nContent-Length: 10\n", gzip.compress(BODY)[:10]),
        answer("HTTP/1.1 100 Continue\n") * 7,
        b"garbage without a line end",
        answer("HTTP/1.1 200 OK\n" + "X-Many: header\n" * 101),
        answer("HTTP/1.1 200 OK\nX-Long: " + "x" * 70_000 + "\n"),
    ],
)
async def test_a_malformed_answer_is_an_error(reply: bytes) -> None:
    async with raw_server(reply) as (url, _):
        with pytest.raises(HttpGetError):
            await get(url)


@pytest.mark.parametrize(
    "reply",
    [
        answer("HTTP/1.1 200 OK\nContent-Length: 2000\n", b"x" * 2000),
        answer("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n", b"7d0\r\n" + b"x" * 2000 + b"\r\n0\r\n\r\n"),
        answer("HTTP/1.1 200 OK\n", b"x" * 2000),
        # A small body that inflates past the limit (a decompression bomb, in small).
        answer(
            "HTTP/1.1 200 OK\nContent-Encoding: gzip\nContent-Length: 43\n",
            gzip.compress(b"0" * 100_000)[:43],
        ),
    ],
)
async def test_a_body_over_the_limit_is_an_error(reply: bytes) -> None:
    async with raw_server(reply) as (url, _):
        with pytest.raises(HttpGetError):
            await get(url, max_body=1000)


async def test_silence_is_a_timeout() -> None:
    async with raw_server(answer("HTTP/1.1 200 OK\nContent-Length: 10\n", b"123"), hold=True) as (url, _):
        with pytest.raises(HttpGetError, match="TimeoutError"):
            await get(url, read=0.2)


async def test_refused_is_an_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(HttpGetError, match="connect"):
        await get(f"http://127.0.0.1:{port}/x")


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("http://127.0.0.1:1/a b", {}),  # a space would end the request target
        ("http://127.0.0.1:1/x", {"Authorization": "Bearer a\r\nX-Injected: 1"}),
        ("http://127.0.0.1:1/x", {"Authorization": "Bearer caf\u00e9"}),
        ("http://user:pw@127.0.0.1:1/x", {}),  # httpx sends URL credentials; this client does not
        ("ftp://127.0.0.1:1/x", {}),
        ("http://127.0.0.1:99999/x", {}),
    ],
)
async def test_what_it_does_not_send_is_refused_before_connecting(url: str, headers: dict[str, str]) -> None:
    with pytest.raises(HttpGetError):
        await get(url, headers)
