"""Where a server's campaigns live: in this process (:class:`MemoryBus`) or in
Redis (:class:`RedisBus`, docs/PROTOCOL.md section 6), behind one interface.

A bus stores metadata and history, assigns ``seq`` to published events, and
hands every live frame (the exact JSON text stored in the history) to one
listener, the server's fan-out. Frames are passed as text and never re-encoded.

:class:`RedisBus` pattern-subscribes to ``campaign:*`` once, before the server
reports ready, so no live frame can fall between a client's handshake and its
backfill. When the Pub/Sub connection breaks, frames may have been lost: the
bus tells the listener (``on_gap``) so clients are closed with a transient code
and resume by REST backfill, then it reconnects with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import random
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar

from materia_tui.backend.server import layout, redis_writes

REDIS_POOL_SIZE = 64
REDIS_POOL_TIMEOUT = 10.0  # seconds a request waits for a pooled Redis connection

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.client import PubSub

log = logging.getLogger(__name__)

MAX_PAGE = 1000
# A history page stops before the frame that would take it past this many bytes
# (the first frame always goes): a page of 1,000 events of 5,000 candidates each
# would be 2 GB. Clients page on until last_seq (PROTOCOL.md section 5).
MAX_PAGE_BYTES = 4 * 1024 * 1024
HISTORY_CHUNK = 16  # frames per LRANGE inside the history script
# Frames at least this long are JSON-checked once per (campaign, seq, length);
# shorter ones are cheap enough to check on every page.
CHECKED_MIN_BYTES = 4096
CHECKED_MAX_ENTRIES = 65536
P = ParamSpec("P")
R = TypeVar("R")


class BusUnavailable(Exception):
    """The bus's backing store (Redis) cannot be reached; the server answers 503."""


def _unavailable_on_redis_errors(
    method: Callable[P, Coroutine[Any, Any, R]],
) -> Callable[P, Coroutine[Any, Any, R]]:
    """Redis being down is an expected state of the world, not a server bug."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        try:
            return await method(*args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise BusUnavailable("the event bus (Redis) is unavailable") from exc

    return wrapper


class BusListener(Protocol):
    def on_frame(self, campaign_id: str, frame: str) -> None:
        """One live event (text JSON with its seq), in seq order per campaign."""
        ...

    def on_gap(self) -> None:
        """Live frames may have been lost (bus connection broke)."""
        ...


@dataclass(frozen=True, slots=True)
class HistoryPage:
    frames: list[str]  # event JSON texts, each a JSON object, seq order
    last_seq: int


def within_budget(frames: Sequence[str], start: int = 0, stop: int | None = None) -> list[str]:
    """``frames[start:stop]`` up to the page budget: stops before the frame that would
    take the page past ``MAX_PAGE_BYTES``; at least one. Reads only what it returns
    (and one more)."""
    stop = len(frames) if stop is None else min(stop, len(frames))
    kept: list[str] = []
    total = 0
    for index in range(start, stop):
        frame = frames[index]
        if kept and total + len(frame) > MAX_PAGE_BYTES:
            break
        kept.append(frame)
        total += len(frame)
    return kept


class Bus(Protocol):
    async def start(self, listener: BusListener) -> None: ...

    async def close(self) -> None: ...

    async def list_campaigns(self) -> list[dict[str, Any]]: ...

    async def get_campaign(self, campaign_id: str) -> dict[str, Any] | None: ...

    async def set_campaign(self, campaign_id: str, meta_json: str) -> None: ...

    async def set_status(self, campaign_id: str, status: str) -> None: ...

    async def publish(self, campaign_id: str, bodies: Sequence[str]) -> list[int]:
        """Stamp each body (see ``layout.event_body``) with the next seq and publish it."""
        ...

    async def history(self, campaign_id: str, after_seq: int, limit: int) -> HistoryPage: ...


def _decode_meta(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _text(value: str | bytes) -> str:
    # decode_responses=True gives str; the stubs cannot know that.
    return value.decode() if isinstance(value, bytes) else value


def _seq_of(frame: str) -> int | None:
    # Frames we stamp start with {"seq":N, so this is a cheap prefix read;
    # a foreign publisher's frame falls back to a full decode.
    if frame.startswith('{"seq":'):
        end = frame.find(",", 7)
        with contextlib.suppress(ValueError):
            return int(frame[7:end])
    try:
        value = json.loads(frame)
    except ValueError:
        return None
    seq = value.get("seq") if isinstance(value, dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


class _Campaign:
    __slots__ = ("frames", "meta")

    def __init__(self, meta: str) -> None:
        self.meta = meta
        self.frames: list[str] = []


class MemoryBus:
    """One process's campaigns, in memory (the default; ``demo`` uses it)."""

    def __init__(self) -> None:
        self._campaigns: dict[str, _Campaign] = {}
        self._listeners: list[BusListener] = []

    async def start(self, listener: BusListener) -> None:
        self._listeners.append(listener)

    async def close(self) -> None:
        self._listeners.clear()

    async def list_campaigns(self) -> list[dict[str, Any]]:
        metas = (_decode_meta(c.meta) for _, c in sorted(self._campaigns.items()))
        return [m for m in metas if m is not None]

    async def get_campaign(self, campaign_id: str) -> dict[str, Any] | None:
        campaign = self._campaigns.get(campaign_id)
        return _decode_meta(campaign.meta) if campaign else None

    async def set_campaign(self, campaign_id: str, meta_json: str) -> None:
        campaign = self._campaigns.get(campaign_id)
        if campaign is None:
            self._campaigns[campaign_id] = _Campaign(meta_json)
        else:
            campaign.meta = meta_json

    async def set_status(self, campaign_id: str, status: str) -> None:
        campaign = self._campaigns.get(campaign_id)
        meta = layout.with_status(campaign.meta if campaign else None, campaign_id, status)
        await self.set_campaign(campaign_id, meta)

    async def publish(self, campaign_id: str, bodies: Sequence[str]) -> list[int]:
        return self.publish_now(campaign_id, bodies)

    def publish_now(self, campaign_id: str, bodies: Sequence[str]) -> list[int]:
        """Synchronous publish: stamping and fan-out happen before it returns."""
        campaign = self._campaigns.get(campaign_id)
        if campaign is None:
            campaign = self._campaigns[campaign_id] = _Campaign(layout.minimal_meta(campaign_id))
        seqs: list[int] = []
        for body in bodies:
            seq = len(campaign.frames) + 1
            frame = layout.stamp(body, seq)
            campaign.frames.append(frame)
            seqs.append(seq)
            for listener in self._listeners:
                listener.on_frame(campaign_id, frame)
        return seqs

    async def history(self, campaign_id: str, after_seq: int, limit: int) -> HistoryPage:
        # Frames here were all made by ``layout.stamp`` of checked bodies: JSON
        # objects, at index seq - 1. A page costs its own frames, never the history.
        campaign = self._campaigns.get(campaign_id)
        if campaign is None:
            return HistoryPage([], 0)
        frames, start = campaign.frames, max(0, after_seq)
        page = within_budget(frames, start, start + max(0, min(limit, MAX_PAGE)))
        return HistoryPage(page, len(frames))


class RedisBus:
    """Campaigns kept in Redis as docs/PROTOCOL.md section 6 lays them out."""

    def __init__(self, url: str, *, reconnect_max: float = 5.0) -> None:
        self._url = url  # may hold a password: never logged, never in a repr
        self._reconnect_max = reconnect_max
        self._redis: Redis | None = None
        self._reader: asyncio.Task[None] | None = None
        self._publish_script: Any = None
        self._history_script: Any = None
        self._checked = _CheckedFrames(CHECKED_MAX_ENTRIES)

    def __repr__(self) -> str:
        return "RedisBus(<url hidden>)"

    @property
    def redis(self) -> Redis:
        if self._redis is None:
            raise RuntimeError("RedisBus.start() has not been awaited")
        return self._redis

    async def start(self, listener: BusListener) -> None:
        from redis.asyncio import BlockingConnectionPool, Redis

        # A burst of handshakes must wait for a pooled connection, not fail with
        # "Too many connections" (an HTTP 500 to the client).
        pool = BlockingConnectionPool.from_url(
            self._url, max_connections=REDIS_POOL_SIZE, timeout=REDIS_POOL_TIMEOUT, decode_responses=True
        )
        self._redis = Redis(connection_pool=pool)
        self._publish_script = self._redis.register_script(layout.PUBLISH_LUA)
        self._history_script = self._redis.register_script(layout.HISTORY_LUA)
        # Subscribed (and confirmed) before start() returns: the server says
        # "ready" only once it cannot miss a live frame.
        pubsub = await self._subscribe()
        self._reader = asyncio.create_task(self._read(pubsub, listener), name="redis-bus-reader")

    async def _subscribe(self) -> PubSub:
        pubsub = self.redis.pubsub()
        await pubsub.psubscribe(layout.CHANNEL_PATTERN)
        while True:
            message = await pubsub.get_message(timeout=10.0)
            if message is None:
                await pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]
                raise ConnectionError("Redis did not confirm the Pub/Sub subscription")
            if message.get("type") == "psubscribe":
                return pubsub

    async def _read(self, pubsub: PubSub, listener: BusListener) -> None:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        while True:
            try:
                message = await pubsub.get_message(timeout=None)
            except (RedisConnectionError, RedisTimeoutError, OSError):
                log.warning("lost the Redis Pub/Sub connection; clients will resume by backfill")
                listener.on_gap()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]
                pubsub = await self._resubscribe()
                # Clients that reconnected while the subscription was down could
                # have missed frames between their backfill and now: once more.
                listener.on_gap()
                log.warning("Redis Pub/Sub subscription restored")
                continue
            if message is None or message.get("type") != "pmessage":
                continue
            campaign_id = layout.campaign_id_of_channel(message["channel"])
            data = message["data"]
            if campaign_id is not None and isinstance(data, str):
                listener.on_frame(campaign_id, data)

    async def _resubscribe(self) -> PubSub:
        """A fresh Pub/Sub connection, retried with capped, jittered backoff until Redis answers."""
        from redis.exceptions import RedisError

        delay = 0.1
        while True:
            await asyncio.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, self._reconnect_max)
            try:
                return await self._subscribe()
            except (RedisError, OSError, ConnectionError):
                continue

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    @_unavailable_on_redis_errors
    async def list_campaigns(self) -> list[dict[str, Any]]:
        ids = sorted(_text(i) for i in await self.redis.smembers(layout.CAMPAIGNS_KEY))
        if not ids:
            return []
        texts = await self.redis.mget([layout.meta_key(i) for i in ids])
        metas = (_decode_meta(_text(t)) if t is not None else None for t in texts)
        return [m for m in metas if m is not None]

    @_unavailable_on_redis_errors
    async def get_campaign(self, campaign_id: str) -> dict[str, Any] | None:
        text = await self.redis.get(layout.meta_key(campaign_id))
        return _decode_meta(_text(text)) if text is not None else None

    @_unavailable_on_redis_errors
    async def set_campaign(self, campaign_id: str, meta_json: str) -> None:
        await redis_writes.set_campaign(self.redis, campaign_id, meta_json)

    @_unavailable_on_redis_errors
    async def set_status(self, campaign_id: str, status: str) -> None:
        await redis_writes.set_status(self.redis, campaign_id, status)

    @_unavailable_on_redis_errors
    async def publish(self, campaign_id: str, bodies: Sequence[str]) -> list[int]:
        return await redis_writes.publish(self._publish_script, campaign_id, bodies)

    @_unavailable_on_redis_errors
    async def history(self, campaign_id: str, after_seq: int, limit: int) -> HistoryPage:
        after_seq = max(0, after_seq)
        limit = max(0, min(limit, MAX_PAGE))
        key = layout.events_key(campaign_id)
        reply = await self._history_script(
            keys=[key, layout.seq_key(campaign_id)],
            args=[after_seq, limit, MAX_PAGE_BYTES, HISTORY_CHUNK],
        )
        last_seq, length = int(reply[0]), int(reply[1])
        frames: list[str] = [_text(f) for f in reply[2:]] if limit else []
        # Fast path: with a compliant publisher the list holds seq 1..K at
        # indexes 0..K-1. If the first frame is not seq after_seq+1 (a foreign
        # publisher left a gap), locate the start by seq instead.
        misplaced = bool(frames) and _seq_of(frames[0]) != after_seq + 1
        if limit and (misplaced or (not frames and length and last_seq > after_seq)):
            frames = await self._history_by_seq(key, length, after_seq, limit)
        return HistoryPage(self._checked.objects_of(campaign_id, frames), last_seq)

    async def _history_by_seq(self, key: str, length: int, after_seq: int, limit: int) -> list[str]:
        # Binary search for the first index whose seq > after_seq (list is in seq order).
        low, high = 0, min(length, after_seq + 1)
        while low < high:
            middle = (low + high) // 2
            seq = _seq_of(_text(await self.redis.lindex(key, middle) or ""))
            # An item without a readable seq cannot be placed; searching left of
            # it never skips a real event (the filter below drops it).
            if seq is None or seq > after_seq:
                high = middle
            else:
                low = middle + 1
        window: list[str] = []
        while len(window) < limit:  # chunked, so a page never pulls more than its budget and a chunk
            count = min(HISTORY_CHUNK, limit - len(window))
            chunk = [_text(f) for f in await self.redis.lrange(key, low, low + count - 1)]
            low += len(chunk)
            window.extend(f for f in chunk if (_seq_of(f) or 0) > after_seq)
            if len(chunk) < count or sum(map(len, window)) > MAX_PAGE_BYTES:
                break
        return within_budget(window[:limit])


class _CheckedFrames:
    """Which stored frames are JSON objects, so a page does not re-decode a 2 MB frame
    on every request. A foreign publisher could have stored anything, and one bad item
    must not make a whole page unparseable; a compliant one appends and never rewrites,
    so a frame's (campaign, seq, length) names its text. Bounded, oldest forgotten first.
    """

    def __init__(self, max_entries: int) -> None:
        self._max_entries = max_entries
        self._known: dict[tuple[str, int, int], None] = {}

    def objects_of(self, campaign_id: str, frames: list[str]) -> list[str]:
        return [f for f in frames if self._is_object(campaign_id, f)]

    def _is_object(self, campaign_id: str, frame: str) -> bool:
        if len(frame) < CHECKED_MIN_BYTES:
            return _is_json_object(frame)
        seq = _seq_of(frame) if frame.startswith('{"seq":') else None
        key = (campaign_id, seq, len(frame)) if seq is not None else None
        if key is not None and key in self._known:
            return True
        if not _is_json_object(frame):
            return False
        if key is not None:
            if len(self._known) >= self._max_entries:
                del self._known[next(iter(self._known))]
            self._known[key] = None
        return True


def _is_json_object(frame: str) -> bool:
    try:
        return isinstance(json.loads(frame), dict)
    except ValueError:
        log.warning("skipping a stored event that is not JSON")
        return False
