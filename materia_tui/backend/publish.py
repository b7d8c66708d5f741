"""Publish a campaign's events so ``materia-tui`` (or any docs/PROTOCOL.md server) can show them.

Events go straight to Redis as docs/PROTOCOL.md section 6 lays them out: metadata
in ``campaign:{id}:meta`` (and the id in ``campaigns``), events in
``campaign:{id}:events`` and on channel ``campaign:{id}``. One Lua script
INCRs ``campaign:{id}:seq``, stamps the event, RPUSHes and PUBLISHes it, so
list order is seq order even with many workers publishing at once. Each event
gets its ``seq`` (always the publisher's own), ``campaign_id`` and, unless it
already carries one, a ``timestamp``. A campaign that publishes before any
metadata was set gets a minimal ``{"id": ..., "status": "running"}``.

From a script or a Celery task (sync, redis-py)::

    from materia_tui.backend.publish import Publisher

    pub = Publisher("redis://localhost:6379/0")
    pub.set_metadata({"id": "camp-7", "name": "RO screen", "status": "running",
                      "objectives": [{"name": "water_flux", "direction": "maximize"}]})
    seq = pub.publish("camp-7", {"type": "iteration_started", "iteration": 1})
    pub.set_status("camp-7", "completed")

    @celery_app.task
    def report(campaign_id: str, event: dict) -> int:
        return PUBLISHER.publish(campaign_id, event)   # one module-level Publisher per worker

Async code uses :class:`AsyncPublisher` (redis.asyncio) the same way with
``await``. :class:`MemoryPublisher` publishes into an in-process
``MemoryBus`` (``materia-tui demo``) with the same async interface.

Events may be dicts or ``materia_tui.protocol`` models; a dict that is not a
valid event (or holds NaN/Infinity) raises :class:`InvalidEvent` and nothing
is published. An unknown ``type`` is published (consumers skip it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from materia_tui.backend.server import layout
from materia_tui.backend.server.layout import InvalidCampaign, InvalidEvent
from materia_tui.protocol import Campaign, CampaignStatus, Event

if TYPE_CHECKING:
    import redis
    import redis.asyncio

    from materia_tui.backend.server.bus import MemoryBus

__all__ = ["AsyncPublisher", "InvalidCampaign", "InvalidEvent", "MemoryPublisher", "Publisher"]

EventLike = Event | dict[str, Any]
CampaignLike = Campaign | dict[str, Any]


def _bodies(campaign_id: str, events: Iterable[EventLike]) -> list[str]:
    layout.check_campaign_id(campaign_id)
    now = layout.utc_now_iso()
    return [layout.event_body(campaign_id, event, now=now) for event in events]


class Publisher:
    """Synchronous publisher (redis-py). Thread-safe: redis-py pools connections."""

    def __init__(self, redis_url: str | None = None, *, client: redis.Redis | None = None) -> None:
        import redis as redis_sync

        if client is None:
            if redis_url is None:
                raise ValueError("Publisher needs a Redis URL or a client")
            client = redis_sync.Redis.from_url(redis_url, decode_responses=True)
        self._redis = client
        self._script = client.register_script(layout.PUBLISH_LUA)

    def __repr__(self) -> str:
        return "Publisher(<redis>)"  # the URL may hold a password

    def set_metadata(self, campaign: CampaignLike) -> None:
        campaign_id, meta_json = layout.campaign_json(campaign)
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(layout.meta_key(campaign_id), meta_json)
            pipe.sadd(layout.CAMPAIGNS_KEY, campaign_id)
            pipe.execute()

    def publish(self, campaign_id: str, event: EventLike) -> int:
        """Publish one event; returns the seq it was given."""
        return self.publish_many(campaign_id, [event])[0]

    def publish_many(self, campaign_id: str, events: Iterable[EventLike]) -> list[int]:
        """Publish events in order, atomically as a batch; returns their seqs."""
        bodies = _bodies(campaign_id, events)
        if not bodies:
            return []
        keys, args = layout.publish_script_call(campaign_id, bodies)
        return [int(s) for s in self._script(keys=keys, args=args)]

    def set_status(self, campaign_id: str, status: CampaignStatus) -> None:
        key = layout.meta_key(layout.check_campaign_id(campaign_id))

        def update(pipe: Any) -> None:
            current = pipe.get(key)
            pipe.multi()
            pipe.set(key, layout.with_status(current, campaign_id, status))
            pipe.sadd(layout.CAMPAIGNS_KEY, campaign_id)

        self._redis.transaction(update, key)

    def close(self) -> None:
        self._redis.close()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class AsyncPublisher:
    """Asynchronous publisher (redis.asyncio), same semantics as :class:`Publisher`."""

    def __init__(self, redis_url: str | None = None, *, client: redis.asyncio.Redis | None = None) -> None:
        from redis.asyncio import Redis

        if client is None:
            if redis_url is None:
                raise ValueError("AsyncPublisher needs a Redis URL or a client")
            client = Redis.from_url(redis_url, decode_responses=True)
        self._redis = client
        self._script = client.register_script(layout.PUBLISH_LUA)

    def __repr__(self) -> str:
        return "AsyncPublisher(<redis>)"

    async def set_metadata(self, campaign: CampaignLike) -> None:
        campaign_id, meta_json = layout.campaign_json(campaign)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(layout.meta_key(campaign_id), meta_json)
            pipe.sadd(layout.CAMPAIGNS_KEY, campaign_id)
            await pipe.execute()

    async def publish(self, campaign_id: str, event: EventLike) -> int:
        return (await self.publish_many(campaign_id, [event]))[0]

    async def publish_many(self, campaign_id: str, events: Iterable[EventLike]) -> list[int]:
        bodies = _bodies(campaign_id, events)
        if not bodies:
            return []
        keys, args = layout.publish_script_call(campaign_id, bodies)
        return [int(s) for s in await self._script(keys=keys, args=args)]

    async def set_status(self, campaign_id: str, status: CampaignStatus) -> None:
        key = layout.meta_key(layout.check_campaign_id(campaign_id))

        async def update(pipe: Any) -> None:
            current = await pipe.get(key)
            pipe.multi()
            pipe.set(key, layout.with_status(current, campaign_id, status))
            pipe.sadd(layout.CAMPAIGNS_KEY, campaign_id)

        await self._redis.transaction(update, key)

    async def aclose(self) -> None:
        await self._redis.aclose()

    async def __aenter__(self) -> AsyncPublisher:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()


class MemoryPublisher:
    """Publishes into an in-process ``MemoryBus`` (no Redis), e.g. for ``materia-tui demo``.

    The bus assigns seq and fans out to the server's clients before
    ``publish`` returns.
    """

    def __init__(self, bus: MemoryBus) -> None:
        self._bus = bus

    async def set_metadata(self, campaign: CampaignLike) -> None:
        campaign_id, meta_json = layout.campaign_json(campaign)
        await self._bus.set_campaign(campaign_id, meta_json)

    async def publish(self, campaign_id: str, event: EventLike) -> int:
        return (await self.publish_many(campaign_id, [event]))[0]

    async def publish_many(self, campaign_id: str, events: Iterable[EventLike]) -> list[int]:
        seqs = self._bus.publish_now(campaign_id, _bodies(campaign_id, events))
        # Let the clients' sender tasks run: a burst published without ever
        # yielding would fill their bounded queues for no reason.
        await asyncio.sleep(0)
        return seqs

    async def set_status(self, campaign_id: str, status: CampaignStatus) -> None:
        await self._bus.set_status(layout.check_campaign_id(campaign_id), status)

    async def aclose(self) -> None:
        """Nothing to release; here so every publisher closes the same way."""
