"""Async REST client for campaign metadata and history (docs/PROTOCOL.md section 5).

Errors carry one plain sentence naming the URL without its query string and
never the token: ``AuthError`` for 401/403, ``NotFoundError`` for 404, and
``RestUnavailableError`` (transient: refused, timeouts, 5xx, unreadable
bodies) for everything else.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Mapping
from contextlib import suppress
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic_core import from_json

from materia_tui.errors import AuthError, ExitCode, MateriaError, NotFoundError, UsageError
from materia_tui.protocol import Campaign, Event, Rejected, parse, parse_campaign, parse_object
from materia_tui.sanitize import clean
from materia_tui.source import AclosesOnExit
from materia_tui.source.settings import ConnectionSettings, is_loopback

if TYPE_CHECKING:
    import httpx

READ_TIMEOUT_SECONDS = 60.0  # ConnectionSettings.read_timeout's default, for callers with their own client
FIRST_PAGE_LIMIT = 16  # events: until the first page shows their size, ask for few
NDJSON = "application/x-ndjson"
LAST_SEQ_HEADER = "X-Last-Seq"
# JSON lines when the server offers them (``serve`` does): each frame is then validated
# from its own bytes, without building the page's dicts first.
HISTORY_ACCEPT = f"{NDJSON}, application/json;q=0.9"
# How long asking for the next page ahead may wait for its request to be sent: a
# request on an open connection goes out in well under a millisecond, a new
# connection may take longer (then it is sent while the consumer's next await runs).
PREFETCH_SEND_WAIT = 0.05
Trace: TypeAlias = Callable[[str, object], Awaitable[None]]  # httpcore's "trace" extension


class RestUnavailableError(MateriaError):
    """A transient REST failure: worth retrying later."""

    exit_code = ExitCode.GAVE_UP


def display_url(url: str) -> str:
    """``url`` safe to show: no query string, no fragment, no user:password part."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal needs its brackets back
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return clean(urlunsplit((parts.scheme, netloc, parts.path, "", "")))


def ssl_context(settings: ConnectionSettings) -> ssl.SSLContext:
    """TLS settings shared by REST and WebSocket: verified unless told otherwise."""
    if settings.insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=settings.ca_bundle)


def _client_tls(settings: ConnectionSettings) -> ssl.SSLContext:
    """The REST client's TLS context. A plain-http base never speaks TLS (redirects
    are not followed), so it skips loading the CA store, ~50 ms of start-up: its
    context still verifies certificates, and trusts none."""
    if urlsplit(settings.base_url).scheme.lower() == "https":
        return ssl_context(settings)
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def auth_headers(settings: ConnectionSettings) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.token}"} if settings.token else {}


def http_status_error(status: int, url: str, what: str, how: str | None = None) -> MateriaError:
    """The error for a rejection ``status`` of ``url`` (docs/PROTOCOL.md section 3).

    ``how`` names the signal, e.g. "close code 4401"; by default "HTTP <status>".
    """
    shown = display_url(url)
    how = how or f"HTTP {status}"
    if status == 401:
        return AuthError(f"The server rejected the credentials ({how}) for {shown}; check the token.")
    if status == 403:
        return AuthError(f"The token is not allowed to see {what} ({how}) at {shown}.")
    if status == 404:
        return NotFoundError(f"{what[:1].upper()}{what[1:]} was not found ({how}) at {shown}.")
    return RestUnavailableError(f"The server answered {how} for {shown}.")


class RestClient(AclosesOnExit):
    """``async with RestClient(settings) as rest: await rest.get_campaign("camp-1")``."""

    def __init__(self, settings: ConnectionSettings) -> None:
        # Here, not at the top: the monitor's first page comes without httpx (source/first_page.py).
        import httpx

        self._settings = settings
        self._base = settings.base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            headers=auth_headers(settings),
            verify=_client_tls(settings),
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.open_timeout),
            follow_redirects=False,
        )
        self._http_error = httpx.HTTPError
        self._history_headers = {"Accept": HISTORY_ACCEPT}
        self.prefetch = True  # ask for the next history page while the consumer folds one
        if is_loopback(urlsplit(self._base).hostname or ""):
            # Compressing costs both ends more CPU than loopback's bandwidth saves (see
            # materia_tui.backend.server.pages); the WebSocket skips deflate there too.
            self._history_headers["Accept-Encoding"] = "identity"

    def __repr__(self) -> str:
        return f"RestClient(base_url={display_url(self._base)!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    def campaign_url(self, campaign_id: str) -> str:
        return f"{self._base}/campaigns/{quote(campaign_id, safe='')}"

    async def get_campaign(self, campaign_id: str) -> Campaign:
        url = self.campaign_url(campaign_id)
        body = await self._get_json(url, None, f"campaign {campaign_id!r}")
        campaign = parse_campaign(body)
        if campaign is None:
            raise RestUnavailableError(f"The server sent unusable campaign metadata from {display_url(url)}.")
        return campaign

    async def list_campaigns(self) -> list[Campaign]:
        url = f"{self._base}/campaigns"
        body = await self._get_json(url, None, "the campaign list")
        items = body.get("campaigns") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise RestUnavailableError(f"The server sent an unusable campaign list from {display_url(url)}.")
        return [c for c in (parse_campaign(item) for item in items) if c is not None]

    async def events_after(self, campaign_id: str, after_seq: int) -> AsyncGenerator[HistoryPage, None]:
        """Pages of the campaign's history after ``after_seq``, oldest first, until ``last_seq``.

        Each page parses its events as it is iterated, so only one page's bytes and
        the event in hand are held. The first page asks for ``FIRST_PAGE_LIMIT``
        events, the next ones for as many as fit ``settings.page_bytes`` at the sizes
        seen so far (servers may send fewer, e.g. ``serve`` stops pages at 4 MiB).

        While the consumer folds one page, the next one is already asked for (the
        server builds it meanwhile, on another core or host): at most one page ahead,
        and only when the page's own frames say where it ends (``serve`` stamps the
        seq first). The page ahead is used only if the page in hand really ended
        there; a failure of it is raised after the page in hand was consumed, so
        nothing before it is lost.
        """
        url = f"{self.campaign_url(campaign_id)}/events"
        what = f"the history of campaign {campaign_id!r}"
        cursor = after_seq
        page = await self._history_page(url, cursor, min(self._settings.page_limit, FIRST_PAGE_LIMIT), what)
        ahead: Prefetch | None = None
        try:
            while True:
                limit = _next_limit(page, self._settings)
                ends_at = page.stamped_end() if self.prefetch else None
                if ends_at is not None and page.last_seq is not None and cursor < ends_at < page.last_seq:
                    ahead = await self._ask_ahead(url, ends_at, limit, what)
                if len(page):
                    yield page
                page_max = max(page.finish(), cursor) if len(page) else cursor
                last_seq = page.last_seq
                del page  # its bytes go before the next page's arrive
                # Stop when we hold last_seq, or when the server made no progress
                # (a page without seqs, or an empty one), which would loop forever.
                if page_max <= cursor or last_seq is None or page_max >= last_seq:
                    return
                cursor = page_max
                if ahead is not None and ahead.cursor == cursor:
                    page = await ahead.task
                else:  # no page ahead, or one from a seq the page did not end at
                    if ahead is not None:
                        await ahead.cancel()
                    page = await self._history_page(url, cursor, limit, what)
                ahead = None
        finally:
            if ahead is not None:
                await ahead.cancel()

    async def _ask_ahead(self, url: str, cursor: int, limit: int, what: str) -> Prefetch:
        """The page after ``cursor``, asked for now and awaited later. Returns once its
        request is on the wire (or after ``PREFETCH_SEND_WAIT``): the consumer's folding
        keeps the event loop busy, so a request not yet sent would wait for it."""
        sent = asyncio.Event()

        async def on_trace(name: str, info: object) -> None:
            if name.endswith("send_request_body.complete"):
                sent.set()

        task = asyncio.create_task(self._history_page(url, cursor, limit, what, trace=on_trace))
        waiter = asyncio.create_task(sent.wait())
        await asyncio.wait((task, waiter), timeout=PREFETCH_SEND_WAIT, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        return Prefetch(cursor, task)

    async def _history_page(
        self, url: str, cursor: int, limit: int, what: str, *, trace: Trace | None = None
    ) -> HistoryPage:
        params = {"after_seq": str(cursor), "limit": str(limit)}
        body, headers = await self._get(url, params, what, headers=self._history_headers, trace=trace)
        return history_page(body, headers, url)

    def _unresolved(self, url: str) -> str:
        """The sentence for a host name that does not resolve, with where the URL came from."""
        host = clean(urlsplit(url).hostname or "", 100)
        origin = self._settings.url_origin
        if origin:
            return f"The host name {host} does not resolve: {clean(origin, 300)}"
        return f"The host name {host} does not resolve ({display_url(url)})."

    async def _get_json(self, url: str, params: dict[str, str] | None, what: str) -> Any:
        body, _ = await self._get(url, params, what)
        try:
            return from_json(body)
        except ValueError:
            shown = display_url(url)
            raise RestUnavailableError(f"The server sent a body that is not JSON from {shown}.") from None

    async def _get(
        self,
        url: str,
        params: dict[str, str] | None,
        what: str,
        *,
        headers: dict[str, str] | None = None,
        trace: Trace | None = None,
    ) -> tuple[bytes, httpx.Headers]:
        """The body (decompressed) and headers of a 200 answer.

        The body is read into bytes of our own rather than ``response.content``: an
        httpx response sits in reference cycles (with its request and streams), so a
        response holding its body keeps it until the cyclic collector runs, which
        materia-tui makes rare (cli/main.py). At a million candidates that kept
        most of the history's 505 MB of pages alive at once.
        """
        try:
            extensions = {"trace": trace} if trace is not None else None
            async with self._http.stream(
                "GET", url, params=params, headers=headers, extensions=extensions
            ) as response:
                if response.status_code != 200:
                    raise http_status_error(response.status_code, url, what)
                chunks = [chunk async for chunk in response.aiter_bytes()]
        except self._http_error as exc:
            if _caused_by(exc, ssl.SSLCertVerificationError):
                raise UsageError(
                    f"TLS certificate verification failed for {display_url(url)}; "
                    "pass a CA bundle, or --insecure if you trust this network."
                ) from None
            if _caused_by(exc, socket.gaierror):
                raise RestUnavailableError(self._unresolved(url)) from None
            raise RestUnavailableError(
                f"Could not reach {display_url(url)} ({type(exc).__name__})."
            ) from None
        return b"".join(chunks), response.headers


def history_page(body: bytes, headers: Mapping[str, str], url: str) -> HistoryPage:
    """The page a 200 answer of ``url`` holds (JSON lines or a JSON object; ``headers``'
    names in lower case, or case-insensitive)."""
    if headers.get("content-type", "").startswith(NDJSON):
        lines = [line for line in body.split(b"\n") if line.strip()]
        return HistoryPage(lines, _header_int(headers.get(LAST_SEQ_HEADER.lower())), len(body), raw=True)
    try:
        decoded = from_json(body)
    except ValueError:
        shown = display_url(url)
        raise RestUnavailableError(f"The server sent a body that is not JSON from {shown}.") from None
    raw_events, last_seq = _history_page(decoded, url)
    return HistoryPage(raw_events, last_seq, len(body), raw=False)


class HistoryPage:
    """One page of history, parsed one event at a time as it is iterated.

    Items are the page's raw frames (bytes, from JSON lines: validated straight from
    their bytes) or its decoded objects (from a JSON page); each is dropped once
    parsed, so a consumer folding the events never holds the page's models at once.
    """

    __slots__ = ("_items", "_next", "_raw", "body_bytes", "last_seq", "max_seq")

    def __init__(self, items: list[Any], last_seq: int | None, body_bytes: int, *, raw: bool) -> None:
        self._items: list[Any] = items
        self._raw = raw
        self._next = 0
        self.last_seq = last_seq
        self.body_bytes = body_bytes
        self.max_seq = 0

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Event | Rejected]:
        items = self._items
        while self._next < len(items):
            item = items[self._next]
            items[self._next] = None
            self._next += 1
            parsed = parse(item) if self._raw else parse_object(item)
            if self._raw and parsed.seq is None and isinstance(parsed, Rejected):
                # A frame rejected unread (over 16 MiB) still occupies its seq: paging must pass it.
                parsed = replace(parsed, seq=_stamped_seq(item))
            if parsed.seq is not None and parsed.seq > self.max_seq:
                self.max_seq = parsed.seq
            yield parsed

    def stamped_end(self) -> int | None:
        """The page's highest seq as its frames state it, before any is parsed (None:
        unknown, e.g. frames that do not begin with their seq, or a page parsed already)."""
        if self._next or not self._items:
            return None
        if self._raw:
            seqs = [_stamped_seq(frame) for frame in self._items]
        else:
            seqs = [item.get("seq") if isinstance(item, dict) else None for item in self._items]
        if any(type(seq) is not int for seq in seqs):
            return None
        return max(seqs)  # type: ignore[type-var]  # every one an int, checked above

    def finish(self) -> int:
        """Parse what the consumer left (normally nothing); the page's highest seq."""
        for _ in self:
            pass
        return self.max_seq


class Prefetch:
    """The page after ``cursor``, being fetched by ``task``."""

    __slots__ = ("cursor", "task")

    def __init__(self, cursor: int, task: asyncio.Task[HistoryPage]) -> None:
        self.cursor = cursor
        self.task = task

    async def cancel(self) -> None:
        """Not wanted after all: stopped, and its outcome (a page, or an error) dropped."""
        self.task.cancel()
        with suppress(asyncio.CancelledError, Exception):
            await self.task


def _next_limit(page: HistoryPage, settings: ConnectionSettings) -> int:
    per_event = max(1, page.body_bytes // max(1, len(page)))
    return max(1, min(settings.page_limit, settings.page_bytes // per_event))


def _stamped_seq(frame: bytes) -> int | None:
    # Servers that stamp frames as PROTOCOL.md section 6 does put the seq first.
    if frame.startswith(b'{"seq":'):
        digits = frame[7:27].split(b",", 1)[0]
        if digits.isdigit():
            return int(digits)
    return None


def _header_int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _caused_by(exc: BaseException, cause: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    for _ in range(10):  # the chain is short; never loop on a cycle
        if seen is None:
            return False
        if isinstance(seen, cause):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _history_page(body: Any, url: str) -> tuple[list[Any], int | None]:
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise RestUnavailableError(f"The server sent an unusable history page from {display_url(url)}.")
    last_seq = body.get("last_seq")
    usable_last = last_seq if isinstance(last_seq, int) and not isinstance(last_seq, bool) else None
    return body["events"], usable_last


