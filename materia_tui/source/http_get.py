"""One HTTP/1.1 GET over asyncio streams: the first history page of ``watch`` (start-up).

httpx, with the httpcore, anyio and h11 it loads, costs ~50 ms of imports, a tenth
of the monitor's start; the first page needs one GET, and asyncio is loaded
already (Textual runs on it). This client does that GET and nothing else:

- one request per connection (``Connection: close``); no redirects, proxies,
  cookies or retries;
- the body by ``Content-Length``, ``Transfer-Encoding: chunked`` or up to the
  end of the connection, at most ``max_body`` bytes (compressed and decoded);
- ``Content-Encoding`` identity or gzip (the only one it asks for).

Anything outside that (another status is the caller's business) raises
``HttpGetError``: the caller then does the same request through httpx
(``source/rest.py``), whose errors are the ones users see.
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

from materia_tui import __version__

MAX_HEAD_BYTES = 64 * 1024  # the status line and the headers, together
MAX_HEADERS = 100
MAX_INTERIM = 5  # 1xx answers before the real one
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

T = TypeVar("T")


class HttpGetError(Exception):
    """This GET could not be done or read here (the reason is for logs, not for users)."""


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]  # names in lower case; a repeated header's values joined by ", "
    body: bytes  # decoded; empty unless the status is 200


async def http_get(
    url: str,
    headers: Mapping[str, str],
    *,
    tls: Callable[[], ssl.SSLContext],
    connect_timeout: float,
    read_timeout: float,
    max_body: int,
) -> HttpAnswer:
    """GET ``url`` with ``headers``; the body is read only for a 200. ``tls`` makes the
    context of an https URL; ``read_timeout`` bounds each wait for bytes."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        raise HttpGetError("bad port") from None
    if scheme not in ("http", "https") or not parts.hostname:
        raise HttpGetError("not an http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise HttpGetError("credentials in the URL")  # httpx would send them: its business
    host = parts.hostname
    request = _request(host, port, parts.path or "/", parts.query, headers)
    context = tls() if scheme == "https" else None
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                host,
                port or (443 if context else 80),
                ssl=context,
                server_hostname=host if context else None,
                limit=MAX_HEAD_BYTES,
            ),
            connect_timeout,
        )
    except (OSError, TimeoutError, ssl.SSLError, ValueError) as exc:
        raise HttpGetError(f"connect: {type(exc).__name__}") from None
    try:
        writer.write(request)
        return await _answer(reader, read_timeout, max_body)
    except (
        OSError,
        TimeoutError,
        ssl.SSLError,
        asyncio.IncompleteReadError,
        asyncio.LimitOverrunError,
    ) as exc:
        raise HttpGetError(f"read: {type(exc).__name__}") from None
    finally:
        writer.close()


def _request(host: str, port: int | None, path: str, query: str, headers: Mapping[str, str]) -> bytes:
    shown_host = f"[{host}]" if ":" in host else host
    all_headers = {
        "Host": shown_host if port is None else f"{shown_host}:{port}",
        "User-Agent": f"materia-tui/{__version__}",
        **headers,
        "Connection": "close",
    }
    target = f"{path}?{query}" if query else path
    # Printable ASCII only (and no space in the target): httpx would quote or refuse the
    # rest, and a line end in a token or a path would split the request.
    if not _printable(target, space=False) or not all(
        _TOKEN_CHARS.issuperset(name) and _printable(value, space=True) for name, value in all_headers.items()
    ):
        raise HttpGetError("a header or the path holds characters this client does not send")
    lines = [f"GET {target} HTTP/1.1", *(f"{name}: {value}" for name, value in all_headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def _printable(text: str, *, space: bool) -> bool:
    low = " " if space else "!"
    return all(low <= c <= "~" for c in text)


async def _timed(step: Awaitable[T], seconds: float) -> T:
    """One wait for bytes, at most ``seconds`` (httpx's read timeout means the same)."""
    return await asyncio.wait_for(step, seconds)


async def _answer(reader: asyncio.StreamReader, read_timeout: float, max_body: int) -> HttpAnswer:
    for _ in range(MAX_INTERIM + 1):
        status, headers = await _head(reader, read_timeout)
        if not 100 <= status < 200:
            break
    else:
        raise HttpGetError("too many interim answers")
    if status != 200:
        return HttpAnswer(status, headers, b"")
    body = await _body(reader, headers, read_timeout, max_body)
    return HttpAnswer(status, headers, _decoded(body, headers.get("content-encoding", ""), max_body))


async def _head(reader: asyncio.StreamReader, read_timeout: float) -> tuple[int, dict[str, str]]:
    """The status and the headers of one answer."""
    status_line = (await _timed(reader.readuntil(b"\n"), read_timeout)).decode("latin-1").rstrip("\r\n")
    version, _, rest = status_line.partition(" ")
    code = rest[:3]
    if version not in ("HTTP/1.1", "HTTP/1.0") or not code.isdigit() or rest[3:4] not in ("", " "):
        raise HttpGetError("not an HTTP/1.x status line")
    headers: dict[str, str] = {}
    size = len(status_line)
    for _ in range(MAX_HEADERS + 1):
        line = (await _timed(reader.readuntil(b"\n"), read_timeout)).decode("latin-1").rstrip("\r\n")
        size += len(line)
        if size > MAX_HEAD_BYTES:
            raise HttpGetError("headers too large")
        if not line:
            return int(code), headers
        name, colon, value = line.partition(":")
        if not colon or not name or not _TOKEN_CHARS.issuperset(name):
            raise HttpGetError("malformed header line")  # an obs-fold continuation included
        name, value = name.lower(), value.strip(" \t")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    raise HttpGetError("too many headers")


async def _body(
    reader: asyncio.StreamReader, headers: Mapping[str, str], read_timeout: float, max_body: int
) -> bytes:
    transfer = headers.get("transfer-encoding")
    if transfer is not None:
        if transfer.lower() != "chunked":
            raise HttpGetError(f"transfer encoding {transfer!r}")
        return await _chunked(reader, read_timeout, max_body)
    length = headers.get("content-length")
    if length is not None:
        if not length.isdigit() or int(length) > max_body:  # repeated and joined: not digits
            raise HttpGetError("unusable or too large Content-Length")
        return await _timed(reader.readexactly(int(length)), read_timeout)
    chunks: list[bytes] = []
    size = 0
    while chunk := await _timed(reader.read(65536), read_timeout):  # to the end of the connection
        size += len(chunk)
        if size > max_body:
            raise HttpGetError("body too large")
        chunks.append(chunk)
    return b"".join(chunks)


async def _chunked(reader: asyncio.StreamReader, read_timeout: float, max_body: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        line = await _timed(reader.readuntil(b"\n"), read_timeout)
        digits = line.split(b";", 1)[0].strip()
        if not digits or len(digits) > 16 or any(c not in b"0123456789abcdefABCDEF" for c in digits):
            raise HttpGetError("malformed chunk size")
        length = int(digits, 16)
        if length == 0:
            break
        size += length
        if size > max_body:
            raise HttpGetError("body too large")
        chunks.append(await _timed(reader.readexactly(length), read_timeout))
        if (await _timed(reader.readuntil(b"\n"), read_timeout)).strip():
            raise HttpGetError("chunk not followed by a line end")
    for _ in range(MAX_HEADERS + 1):  # the trailer section, ignored
        if not (await _timed(reader.readuntil(b"\n"), read_timeout)).strip():
            return b"".join(chunks)
    raise HttpGetError("too many trailers")


def _decoded(body: bytes, encoding: str, max_body: int) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip"):
        raise HttpGetError(f"content encoding {encoding!r}")
    inflater = zlib.decompressobj(_GZIP_WBITS)
    try:
        decoded = inflater.decompress(body, max_body + 1)
    except zlib.error:
        raise HttpGetError("bad gzip data") from None
    if len(decoded) > max_body or inflater.unconsumed_tail:
        raise HttpGetError("decoded body too large")
    if not inflater.eof:
        raise HttpGetError("truncated gzip data")
    return decoded
