"""History pages on the wire: JSON or JSON lines, gzip when the client accepts it.

``GET .../events`` answers, by the request's ``Accept``:

- ``application/json`` (the default, docs/PROTOCOL.md section 5):
  ``{"events": [...], "last_seq": K}``, the stored frames spliced in, never re-encoded.
- ``application/x-ndjson`` when ``Accept`` names it: one stored frame per line.
  A client splits the body on newlines and validates each frame straight from its
  bytes, about 2.5x faster than ``json.loads`` of a JSON page and a model
  validation of each dict, on events of 5,000 candidates.

Both carry the campaign's newest seq in ``X-Last-Seq``. A body of 1 KiB or more is
gzip-compressed when ``Accept-Encoding`` allows gzip (httpx sends it by default), at
level 1 in a worker thread: on issue 17's campaign level 1 makes pages 3.4x smaller
(505 MB of JSON -> 146 MB at a million candidates) for ~7 ms of CPU per MB; level 6
saves another 11% of the bytes for ~40% more CPU. With the client's ~7 ms per MB to
decompress, gzip pays on links below ~400 Mbit/s; on loopback it is a loss for both
ends, so materia-tui's own client asks for ``identity`` there.
"""

from __future__ import annotations

import asyncio
import gzip
import json

from aiohttp import web

from materia_tui.backend.server.bus import HistoryPage

NDJSON = "application/x-ndjson"
LAST_SEQ_HEADER = "X-Last-Seq"
GZIP_LEVEL = 1
GZIP_MIN_BYTES = 1024
GZIP_IN_THREAD_BYTES = 256 * 1024  # below this, a thread hop costs more than it frees the loop


def accepts(header: str, token: str, *, wildcard: bool = False) -> bool:
    """Whether an ``Accept``/``Accept-Encoding`` header allows ``token`` (q > 0).

    With ``wildcard``, ``*`` allows it too (for encodings); a media type must be
    named, so ``*/*`` never turns a plain client's JSON into JSON lines.
    """
    allowed = False
    for item in header.split(","):
        name, _, params = item.partition(";")
        name = name.strip().lower()
        if name != token and not (wildcard and name == "*"):
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if name == token:
            return quality > 0
        allowed = quality > 0
    return allowed


def _one_line(frame: str) -> str:
    # Stored frames are compact JSON; a foreign publisher's pretty-printed one is
    # re-encoded so that one line stays one frame (JSON strings cannot hold a raw newline).
    if "\n" not in frame:
        return frame
    return json.dumps(json.loads(frame), separators=(",", ":"), ensure_ascii=False)


def page_body(page: HistoryPage, *, lines: bool) -> bytes:
    if lines:
        return "\n".join(_one_line(f) for f in page.frames).encode()
    return ('{"events":[' + ",".join(page.frames) + '],"last_seq":' + str(page.last_seq) + "}").encode()


def gzip_bytes(body: bytes) -> bytes:
    return gzip.compress(body, GZIP_LEVEL, mtime=0)


async def history_response(request: web.Request, page: HistoryPage) -> web.Response:
    lines = accepts(request.headers.get("Accept", ""), NDJSON)
    body = page_body(page, lines=lines)
    headers = {LAST_SEQ_HEADER: str(page.last_seq), "Vary": "Accept, Accept-Encoding"}
    if len(body) >= GZIP_MIN_BYTES and accepts(
        request.headers.get("Accept-Encoding", ""), "gzip", wildcard=True
    ):
        if len(body) >= GZIP_IN_THREAD_BYTES:
            body = await asyncio.to_thread(gzip_bytes, body)  # zlib frees the GIL meanwhile
        else:
            body = gzip_bytes(body)
        headers["Content-Encoding"] = "gzip"
    content_type = NDJSON if lines else "application/json"
    return web.Response(body=body, content_type=content_type, charset="utf-8", headers=headers)
