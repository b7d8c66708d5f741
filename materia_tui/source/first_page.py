"""The monitor's source: the first history page at once, then ``WebSocketSource``.

``FirstPageSource(campaign_id, settings)`` is a ``WebSocketSource`` whose first
connection starts with two plain GETs (``source/http_get.py``, over the asyncio
Textual already loads): the campaign's metadata and the first page of its
history. Their items come first; then, once the viewer's first frame is out
(``first_frame_shown``, when ``wait_for_first_frame``), it imports the live
source (websockets; httpx, with httpcore and anyio: ~60 ms) and hands the rest
to a ``WebSocketSource`` resuming after the last seq it handed on, which
connects, backfills from there and goes live as usual. So the first frame shows
the history's first page without those imports, and nothing is lost or doubled:
the WebSocket and the rest of the history come in the order they always do.
A history that runs past the first page is announced before the page
(``ConnectionChanged("backfilling", history=(0, last))``, as the live source
announces one), and the live source's first "connecting" is not handed on while
it loads: the viewer says "loading history" from its first frame to the last page.

The first page is handed on only while it is plainly the next events (seqs
rising, nothing that may end the campaign, no unsequenced event); from the
first item that is not, the live source pages it again under its own rules.
Any failure of the GETs (refused, timeouts, another status than 200, an
unreadable answer, a proxy in the environment) hands on nothing of them: the
live source then makes the same requests through httpx, and its errors (auth,
not found, unreachable) are the ones users see, as before.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncGenerator, Callable, Iterator
from contextlib import suppress
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from pydantic_core import from_json

from materia_tui.errors import UsageError
from materia_tui.protocol import (
    Campaign,
    CampaignCompleted,
    CampaignError,
    Rejected,
    is_valid_campaign_id,
    parse_campaign,
)
from materia_tui.sanitize import clean
from materia_tui.source import (
    ConnectionChanged,
    EventReceived,
    FrameRejected,
    GeneratorSource,
    MetadataReceived,
    SourceItem,
)
from materia_tui.source.http_get import HttpAnswer, http_get
from materia_tui.source.rest import (
    FIRST_PAGE_LIMIT,
    HISTORY_ACCEPT,
    HistoryPage,
    RestUnavailableError,
    auth_headers,
    history_page,
    ssl_context,
)
from materia_tui.source.settings import ConnectionSettings, is_loopback

if TYPE_CHECKING:
    from materia_tui.source.websocket import WebSocketSource

# A first page larger than this (compressed, or decoded) is left to httpx.
MAX_FIRST_PAGE_BYTES = 64 * 1024 * 1024
# How long the live source waits for the viewer's first frame at most: a viewer
# that never says must not keep the stream from going live.
FIRST_FRAME_PATIENCE_SECONDS = 3.0
# httpx goes through a proxy these name (trust_env); this client does not, so it steps aside.
PROXY_VARIABLES = frozenset({"http_proxy", "https_proxy", "all_proxy"})


class FirstPageSource(GeneratorSource):
    """``async for item in FirstPageSource("camp-1", settings): ...``; ``await source.aclose()``."""

    def __init__(
        self,
        campaign_id: str,
        settings: ConnectionSettings,
        *,
        wait_for_first_frame: bool = False,
        patience: float = FIRST_FRAME_PATIENCE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not is_valid_campaign_id(campaign_id):  # the CLI checked it already, with the rule spelled out
            raise UsageError(f"{clean(campaign_id, 80)!r} is not a valid campaign id.")
        settings.websocket_url(campaign_id)  # a URL the live source would refuse is refused now
        self.campaign_id = campaign_id
        self._settings = settings
        self._clock = clock
        self._first_frame = asyncio.Event() if wait_for_first_frame else None
        self._patience = patience
        self.held_seq = 0  # the last seq handed on from the first page
        self.live: WebSocketSource | None = None  # the source of the rest, once started
        self._items = self._run()

    def __repr__(self) -> str:
        return f"FirstPageSource({self.campaign_id!r}, held_seq={self.held_seq}, live={self.live!r})"

    def first_frame_shown(self) -> None:
        """The viewer's first frame is out: the live source may start (``AwaitsFirstFrame``)."""
        if self._first_frame is not None:
            self._first_frame.set()

    async def _run(self) -> AsyncGenerator[SourceItem, None]:
        yield ConnectionChanged("connecting")
        campaign, page = await fetch_first_page(self.campaign_id, self._settings)
        if campaign is not None:
            yield MetadataReceived(campaign)
        history = _history_beyond(page)
        if history is not None:
            yield ConnectionChanged("backfilling", history=history)
        if page is not None:
            for item in self._admitted(page):
                yield item
        if self._first_frame is not None and (campaign is not None or self.held_seq):
            with suppress(TimeoutError):
                await asyncio.wait_for(self._first_frame.wait(), self._patience)
        # In a thread: the viewer stays responsive while the live source's stack loads.
        live_source = await asyncio.to_thread(live_source_class)
        self.live = live_source(self.campaign_id, self._settings, after_seq=self.held_seq, clock=self._clock)
        try:
            async for item in self.live:
                if history is not None and isinstance(item, ConnectionChanged):
                    status, history = _continued(item, history)
                    if status is None:
                        continue
                    item = status
                if campaign is not None and isinstance(item, MetadataReceived):
                    # The live source asks for the metadata again as it connects: the same
                    # answer is no news (and would be written twice into a --record file).
                    repeated, campaign = item.campaign == campaign, None
                    if repeated:
                        continue
                yield item
        finally:
            await self.live.aclose()

    def _admitted(self, page: HistoryPage) -> Iterator[SourceItem]:
        """The page's items while each is plainly the next one; the rest is the live source's."""
        for parsed in page:
            seq = parsed.seq
            if seq is None or seq <= self.held_seq:
                return
            if isinstance(parsed, Rejected):
                if seq != self.held_seq + 1:  # a rejected frame's other seqs are untrusted
                    return
                self.held_seq = seq
                yield FrameRejected(parsed, self._clock())
                continue
            if isinstance(parsed, CampaignCompleted | CampaignError):
                return  # whether it ends the stream is the live source's rule
            self.held_seq = seq
            yield EventReceived(parsed, self._clock())


def _history_beyond(page: HistoryPage | None) -> tuple[int, int] | None:
    """The history's seqs (from, to) when it runs past the first page, as
    ``WebSocketSource`` announces a history of several pages; else None."""
    if page is None or page.last_seq is None or page.last_seq <= len(page):
        return None
    return (0, page.last_seq)


def _continued(
    item: ConnectionChanged, history: tuple[int, int]
) -> tuple[ConnectionChanged | None, tuple[int, int] | None]:
    """The live source's status while the history the first page announced still loads,
    and the history still to follow (None once that is over). Its first "connecting"
    is no news (the history is still loading: a viewer would flash "connecting"
    between the first page and the rest); its own announcement keeps the first page's
    start, so the share loaded does not fall back to 0%. Anything else ends the
    announcement and passes as it is."""
    if item.status == "connecting" and item.attempt == 0:
        return None, history
    if item.status == "backfilling":
        if item.history is not None:
            item = replace(item, history=(history[0], item.history[1]))
        return item, history
    return item, None


def live_source_class() -> type[WebSocketSource]:
    """The live source's class, its stack imported (websockets, httpx and what httpx
    loads at its first request); ``FirstPageSource`` calls it in a thread."""
    # Here, off the UI thread, rather than in RestClient() and at its first request.
    import anyio  # noqa: F401
    import httpcore  # noqa: F401
    import httpx  # noqa: F401

    from materia_tui.source.websocket import WebSocketSource

    return WebSocketSource


async def fetch_first_page(
    campaign_id: str, settings: ConnectionSettings
) -> tuple[Campaign | None, HistoryPage | None]:
    """The campaign's metadata and the first page of its history, each None when it
    could not be had here (the live source then asks again through httpx)."""
    if PROXY_VARIABLES.intersection(name.lower() for name in os.environ):
        return None, None
    campaign_url = f"{settings.base_url.rstrip('/')}/campaigns/{quote(campaign_id, safe='')}"
    events_url = f"{campaign_url}/events?after_seq=0&limit={min(settings.page_limit, FIRST_PAGE_LIMIT)}"
    metadata, history = await asyncio.gather(
        _get(campaign_url, settings, "application/json"), _get(events_url, settings, HISTORY_ACCEPT)
    )
    campaign = page = None
    with suppress(ValueError):
        campaign = parse_campaign(from_json(metadata.body)) if metadata is not None else None
    with suppress(RestUnavailableError):
        page = history_page(history.body, history.headers, events_url) if history is not None else None
    return campaign, page


async def _get(url: str, settings: ConnectionSettings, accept: str) -> HttpAnswer | None:
    """A 200 answer of ``url``, or None."""
    loopback = is_loopback(urlsplit(url).hostname or "")
    headers = {
        **auth_headers(settings),
        "Accept": accept,
        # Compressing costs both ends more than loopback's bandwidth saves (as rest.py says).
        "Accept-Encoding": "identity" if loopback else "gzip",
    }
    try:
        answer = await http_get(
            url,
            headers,
            tls=lambda: ssl_context(settings),
            connect_timeout=settings.open_timeout,
            # A server that stalls here costs this wait before the live source asks again.
            read_timeout=min(settings.read_timeout, settings.open_timeout),
            max_body=MAX_FIRST_PAGE_BYTES,
        )
    except Exception:  # HttpGetError, or anything unforeseen: the live source asks again, through httpx
        return None
    return answer if answer.status == 200 else None
