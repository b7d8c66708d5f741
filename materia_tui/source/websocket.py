"""The live source: one campaign over WebSocket, with REST metadata and backfill.

Flow of one connection (docs/PROTOCOL.md sections 3-5)::

    connecting -> REST metadata -> WS handshake -> reader task buffers live frames
    -> backfilling (REST history after the last seq held) -> live (buffered and
    new frames, duplicates dropped, gaps filled from REST first)

Transient failures (refused, 5xx, 1001/1006/1011/1012/1013, ping timeout)
lead to ``reconnecting`` and a capped, jittered backoff; the next connection
resumes from the last seq held, so the consumer sees every event once.
401/403 (4401/4403) raise ``AuthError``; 404 (4404) raises ``NotFoundError``.
"""

from __future__ import annotations

import asyncio
import random
import socket
import ssl
import time
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing, suppress
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidStatus

from materia_tui.errors import GaveUpError, MateriaError, NotFoundError, UsageError
from materia_tui.protocol import (
    MAX_FRAME_BYTES,
    Campaign,
    CampaignCompleted,
    CampaignError,
    Event,
    Rejected,
    is_valid_campaign_id,
    parse,
)
from materia_tui.sanitize import clean
from materia_tui.source import (
    ConnectionChanged,
    EventReceived,
    FrameRejected,
    GeneratorSource,
    MetadataReceived,
    SourceItem,
    event_received,
)
from materia_tui.source.backoff import Backoff
from materia_tui.source.rest import (
    RestClient,
    RestUnavailableError,
    auth_headers,
    display_url,
    http_status_error,
    ssl_context,
)
from materia_tui.source.settings import ConnectionSettings, is_loopback
from materia_tui.source.websocket_failures import TransientFailure, closed_error, unresolved_host_failure
from materia_tui.source.websocket_link import (
    LIVE_BUFFER_BYTES,
    LIVE_BUFFER_FRAMES,
    Closed,
    Link,
    LiveBuffer,
    RedactingLogger,
    close_timeout,
    read_frames,
)

# A frame slightly over 16 MiB is rejected by protocol.parse (costing that frame),
# rather than by websockets (costing the connection).
MAX_MESSAGE_BYTES = 2 * MAX_FRAME_BYTES
# A connection that lived this long, or delivered a live frame, resets the failure count.
STABLE_CONNECTION_SECONDS = 5.0
# After this many consecutive history failures on working WebSockets, go live
# without history rather than never: a broken REST must not block live events.
# A failure counts only if the WebSocket outlived it: a cut that takes both down
# is an ordinary reconnect, never a reason to accept a gap.
HISTORY_ATTEMPTS = 3


class WebSocketSource(GeneratorSource):
    """``async for item in WebSocketSource("camp-1", settings): ...``; ``await source.aclose()``.

    ``after_seq``: the last seq the consumer already holds (resume point).
    ``stop_at_end``: end (after ``ConnectionChanged("closed")``) once the
    campaign completed or failed. ``clock``: the ``received_at`` of items.
    """

    def __init__(
        self,
        campaign_id: str,
        settings: ConnectionSettings,
        *,
        after_seq: int = 0,
        stop_at_end: bool = True,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        if not is_valid_campaign_id(campaign_id):
            raise UsageError(
                f"{clean(campaign_id, 80)!r} is not a valid campaign id "
                "(1-128 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit)."
            )
        self.campaign_id = campaign_id
        self._settings = settings
        self._ws_url = settings.websocket_url(campaign_id)
        self._shown_url = display_url(self._ws_url)
        self._stop_at_end = stop_at_end
        self._clock = clock
        self._backoff = Backoff(settings.backoff_initial, settings.backoff_max, rng)
        self.last_seq = after_seq  # the newest seq handed to the consumer
        self._rest_absent = False  # the backend serves no REST: the WS alone is the source
        self._history_absent = False
        self._history_failures = 0
        self._history_note = ""  # why history was skipped, for the "live" status detail
        self._metadata_note = ""  # why metadata is missing, likewise
        self._ended = False
        self._live_frame_seen = False
        self._ever_live = False
        self._items = self._run()

    def __repr__(self) -> str:
        return f"WebSocketSource({self.campaign_id!r}, url={self._shown_url!r}, last_seq={self.last_seq})"

    # ----- the reconnect loop -------------------------------------------------

    async def _run(self) -> AsyncGenerator[SourceItem, None]:
        loop = asyncio.get_running_loop()
        failures = 0
        rest = RestClient(self._settings)
        try:
            while True:
                yield ConnectionChanged("connecting", attempt=failures)
                started = loop.time()
                self._live_frame_seen = False
                try:
                    async with aclosing(self._connection(rest)) as items:
                        async for item in items:
                            yield item
                    yield ConnectionChanged("closed", detail="The campaign has ended.")
                    return
                except (TransientFailure, RestUnavailableError) as exc:
                    detail = exc.detail if isinstance(exc, TransientFailure) else exc.message
                    unresolved = exc.unresolved_host if isinstance(exc, TransientFailure) else None
                except MateriaError as exc:
                    yield ConnectionChanged("failed", detail=exc.message)
                    raise
                if self._live_frame_seen or loop.time() - started >= STABLE_CONNECTION_SECONDS:
                    failures = 0
                failures += 1
                limit = self._settings.max_retries
                if limit is not None and failures > limit:
                    message = (
                        f"Gave up connecting to {self._shown_url} after {failures} failed "
                        f"attempt{'s' if failures != 1 else ''}. Last: {detail}"
                    )
                    yield ConnectionChanged("failed", attempt=failures, detail=message)
                    raise GaveUpError(message)
                delay = self._backoff.delay(failures)
                yield ConnectionChanged(
                    "reconnecting", failures, retry_in=delay, detail=detail, unresolved_host=unresolved
                )
                await asyncio.sleep(delay)
        finally:
            await rest.aclose()

    # ----- one connection -----------------------------------------------------

    async def _connection(self, rest: RestClient) -> AsyncGenerator[SourceItem, None]:
        """Items of one connection; returns when the campaign ended, raises when the connection did."""
        metadata_missing = False
        self._metadata_note = ""
        if not self._rest_absent:
            try:
                yield MetadataReceived(await rest.get_campaign(self.campaign_id))
            except NotFoundError:
                metadata_missing = True  # final only if the WebSocket says so too
            except RestUnavailableError as exc:
                # Metadata decorates the stream; the WebSocket alone suffices, but say so.
                self._metadata_note = f"Campaign details unavailable: {exc.message}"
        try:
            ws = await self._connect()
        except TransientFailure as exc:
            # The WebSocket is refused but REST may answer: show the history meanwhile,
            # so a user sees progress (at the backoff's pace) rather than nothing.
            async with aclosing(self._history_while_refused(rest, exc)) as history:
                async for item in history:
                    yield item
            if self._ended:
                return
            raise
        if metadata_missing:
            self._rest_absent = True  # the WS knows the campaign, so REST is simply not served
        buffer = LiveBuffer(LIVE_BUFFER_FRAMES, LIVE_BUFFER_BYTES)
        reader = asyncio.create_task(read_frames(ws, buffer), name=f"ws-reader-{self.campaign_id}")
        link = Link(ws, reader)
        try:
            yield ConnectionChanged("backfilling")
            async with aclosing(self._backfill(rest, link, announce=True)) as history:
                async for item in history:
                    yield item
            if self._ended:
                return
            notes = self._degraded_notes()
            self._ever_live = True
            yield ConnectionChanged("live", detail=" ".join(notes), degraded=bool(notes))
            async with aclosing(self._live(rest, buffer, link)) as live:
                async for item in live:
                    yield item
        finally:
            reader.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await reader
            with suppress(Exception):
                await ws.close()

    async def _connect(self) -> ClientConnection:
        settings = self._settings
        secure = self._ws_url.startswith("wss:")
        try:
            return await connect(
                self._ws_url,
                additional_headers=auth_headers(settings),
                max_size=MAX_MESSAGE_BYTES,
                max_queue=64,
                ping_interval=settings.ping_interval,
                ping_timeout=settings.ping_timeout,
                open_timeout=settings.open_timeout,
                close_timeout=close_timeout(settings),
                logger=RedactingLogger(settings.token),
                compression=None if is_loopback(urlsplit(self._ws_url).hostname or "") else "deflate",
                ssl=ssl_context(settings) if secure else None,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403, 404):
                raise http_status_error(status, self._ws_url, f"campaign {self.campaign_id!r}") from None
            raise TransientFailure(f"The server answered HTTP {status} for {self._shown_url}.") from None
        except ssl.SSLCertVerificationError:
            raise UsageError(
                f"TLS certificate verification failed for {self._shown_url}; "
                "pass a CA bundle, or --insecure if you trust this network."
            ) from None
        except socket.gaierror:
            raise self._unresolved() from None
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            why = type(exc).__name__
            raise TransientFailure(f"Could not connect to {self._shown_url} ({why}).") from None

    def _unresolved(self) -> TransientFailure:
        origin = None if self._ever_live else self._settings.url_origin  # the origin names the URL
        return unresolved_host_failure(self._ws_url, self._shown_url, origin)

    def _degraded_notes(self) -> list[str]:
        """What this live connection lacks, one sentence each (empty: nothing)."""
        notes = [note for note in (self._metadata_note, self._history_note) if note]
        if self._rest_absent or self._history_absent:
            notes.append("This server offers no history: showing live events only.")
        return notes

    async def _history_while_refused(
        self, rest: RestClient, refused: TransientFailure
    ) -> AsyncGenerator[SourceItem, None]:
        if self._rest_absent or self._history_absent:
            return
        held = self.last_seq
        try:
            async with aclosing(self._backfill(rest)) as history:
                async for item in history:
                    yield item
        except RestUnavailableError:
            return
        if self.last_seq > held and not self._ended:
            refused.detail += " Showing history from REST meanwhile."

    # ----- history --------------------------------------------------------------

    async def _backfill(
        self, rest: RestClient, link: Link | None = None, *, announce: bool = False
    ) -> AsyncGenerator[SourceItem, None]:
        """Every event after ``last_seq`` from REST; sets ``_ended`` if the campaign ended in it.

        A REST failure raises (reconnect), unless ``link``'s WebSocket outlived
        ``HISTORY_ATTEMPTS`` of them in a row: then it returns, noting why.
        ``announce``: a history longer than its first page is announced with
        ``ConnectionChanged("backfilling", history=(from, to))``.
        """
        if self._rest_absent or self._history_absent:
            return
        unresolved_error = False
        start = self.last_seq
        try:
            async with aclosing(rest.events_after(self.campaign_id, start)) as pages:
                async for page in pages:
                    if announce and page.last_seq is not None and page.last_seq - start > len(page):
                        announce = False  # once: the consumer counts the rest from its seqs
                        yield ConnectionChanged("backfilling", history=(start, page.last_seq))
                    for parsed in page:
                        item = self._admit(parsed)
                        if item is None:
                            continue
                        yield item
                        event = item.event if isinstance(item, EventReceived) else None
                        if event is not None and self._ends_campaign(event) and self._stop_at_end:
                            self._ended = True
                            return
                        unresolved_error = event is not None and _fatality_unknown(event)
        except NotFoundError:
            self._history_absent = True
            return
        except RestUnavailableError as exc:
            if link is None or not await link.survives():
                raise
            self._history_failures += 1
            if self._history_failures < HISTORY_ATTEMPTS:
                raise
            self._history_note = f"History unavailable, events may be missing: {exc.message}"
            return
        self._history_failures = 0
        self._history_note = ""
        # An error of unknown fatality is fatal only if it is the newest event
        # and the campaign's status says failed (docs/PROTOCOL.md section 4).
        if unresolved_error:
            async for meta in self._failed_status(rest):
                yield meta

    async def _failed_status(self, rest: RestClient) -> AsyncGenerator[SourceItem, None]:
        if self._rest_absent:
            return
        try:
            campaign: Campaign = await rest.get_campaign(self.campaign_id)
        except (RestUnavailableError, NotFoundError):
            return
        yield MetadataReceived(campaign)
        if campaign.status == "failed" and self._stop_at_end:
            self._ended = True

    # ----- live frames ----------------------------------------------------------

    async def _live(
        self, rest: RestClient, buffer: LiveBuffer, link: Link
    ) -> AsyncGenerator[SourceItem, None]:
        while True:
            # A coroutine per frame costs more than the check: frames arrive in bursts.
            frame = buffer.get_nowait() if len(buffer) else await buffer.get()
            if isinstance(frame, Closed):
                raise self._closed_error(frame.error)
            self._live_frame_seen = True
            if isinstance(frame, bytes):
                yield FrameRejected(Rejected("binary", "binary frame ignored"), self._clock())
                continue
            parsed = parse(frame)
            seq = parsed.seq
            admitted: SourceItem | None
            if seq is not None and seq == self.last_seq + 1 and not isinstance(parsed, Rejected):
                # The usual frame, the next event in order: what ``_admit`` hands on.
                self.last_seq = seq
                admitted = event_received(parsed, self._clock())
            else:
                if not isinstance(parsed, Rejected) and seq is not None and seq > self.last_seq + 1:
                    # A gap: fetch what we missed first, so events stay in seq order.
                    async with aclosing(self._backfill(rest, link)) as missing:
                        async for item in missing:
                            yield item
                    if self._ended:
                        return
                    if seq > self.last_seq + 1:  # history is unavailable: never lose events silently
                        yield self._missing(seq)
                admitted = self._admit(parsed)
                if admitted is None:
                    continue
            yield admitted
            if isinstance(admitted, EventReceived) and type(admitted.event) in _ENDING_TYPES:
                event = admitted.event
                if self._ends_campaign(event) and self._stop_at_end:
                    self._ended = True
                    return
                if _fatality_unknown(event) and len(buffer) == 0:
                    async for meta in self._failed_status(rest):
                        yield meta
                    if self._ended:
                        return

    def _missing(self, seq: int) -> ConnectionChanged:
        """The degraded status saying which events before ``seq`` are missing for good."""
        first, last = self.last_seq + 1, seq - 1
        hole = f"{first}-{last}" if last > first else str(last)
        detail = f"Events {hole} are missing. {self._history_note}"
        return ConnectionChanged("live", detail=detail.strip(), degraded=True)

    def _admit(self, parsed: Event | Rejected) -> SourceItem | None:
        """The item for one parsed event, or None for one at or below the resume point.

        ``last_seq`` is a resume point, not a record of seqs seen: this source hands
        events on in seq order (a gap is backfilled before the frame that revealed
        it), so everything at or below it was delivered already (the overlap of a
        backfill and the live stream). Whether an event is a duplicate for the
        state is the state's verdict (``protocol.seqs.SeqLedger``).
        """
        now = self._clock()
        seq = parsed.seq
        if isinstance(parsed, Rejected):
            # A rejected frame holding exactly the next seq occupies it; any other
            # seq it claims is untrusted and must not move the resume point.
            if seq == self.last_seq + 1:
                self.last_seq = seq
            return FrameRejected(parsed, now)
        if seq is not None:
            if seq <= self.last_seq:
                return None
            self.last_seq = seq
        return event_received(parsed, now)

    @staticmethod
    def _ends_campaign(event: Event) -> bool:
        fatal_error = isinstance(event, CampaignError) and event.fatal is True
        return fatal_error or isinstance(event, CampaignCompleted)

    def _closed_error(self, error: BaseException) -> Exception:
        return closed_error(error, self._ws_url, self._shown_url, self.campaign_id, self._settings.token)


# The events after which the live loop may stop or ask for the campaign's status.
_ENDING_TYPES = (CampaignCompleted, CampaignError)


def _fatality_unknown(event: Event) -> bool:
    return isinstance(event, CampaignError) and event.fatal is None
