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
``await``. :class:`HttpPublisher` has the same synchronous interface over a
``materia-tui serve``'s HTTP publish endpoints (a token with publish rights).
:class:`MemoryPublisher` publishes into an in-process ``MemoryBus``
(``materia-tui demo``) with the same async interface.

Events may be dicts or ``materia_tui.protocol`` models; a dict that is not a
valid event (or holds NaN/Infinity) raises :class:`InvalidEvent` and nothing
is published. An unknown ``type`` is published (consumers skip it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from materia_tui.backend.server import layout, redis_writes
from materia_tui.backend.server.layout import InvalidCampaign, InvalidEvent
from materia_tui.protocol import Campaign, CampaignStatus, Event
from materia_tui.source import AclosesOnExit, ClosesOnExit

if TYPE_CHECKING:
    import redis
    import redis.asyncio

    from materia_tui.backend.server.bus import MemoryBus

__all__ = [
    "AsyncPublisher",
    "HttpPublisher",
    "InvalidCampaign",
    "InvalidEvent",
    "MemoryPublisher",
    "PublishUnavailable",
    "Publisher",
]

EventLike = Event | dict[str, Any]
CampaignLike = Campaign | dict[str, Any]


def _bodies(campaign_id: str, events: Iterable[EventLike]) -> list[str]:
    layout.check_campaign_id(campaign_id)
    now = layout.utc_now_iso()
    return [layout.event_body(campaign_id, event, now=now) for event in events]


class _SyncPublisher(ClosesOnExit):
    """What the synchronous publishers share: ``publish`` as a batch of one (``publish_many``
    is the real work), and ``with publisher:`` closing it."""

    def publish_many(self, campaign_id: str, events: Iterable[EventLike]) -> list[int]:
        raise NotImplementedError

    def publish(self, campaign_id: str, event: EventLike) -> int:
        """Publish one event; returns the seq it was given."""
        return self.publish_many(campaign_id, [event])[0]


class Publisher(_SyncPublisher):
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



class AsyncPublisher(AclosesOnExit):
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
        await redis_writes.set_campaign(self._redis, *layout.campaign_json(campaign))

    async def publish(self, campaign_id: str, event: EventLike) -> int:
        return (await self.publish_many(campaign_id, [event]))[0]

    async def publish_many(self, campaign_id: str, events: Iterable[EventLike]) -> list[int]:
        return await redis_writes.publish(self._script, campaign_id, _bodies(campaign_id, events))

    async def set_status(self, campaign_id: str, status: CampaignStatus) -> None:
        await redis_writes.set_status(self._redis, layout.check_campaign_id(campaign_id), status)

    async def aclose(self) -> None:
        await self._redis.aclose()


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


class PublishUnavailable(Exception):
    """The server could not take the request now (unreachable, 5xx, 429): retry later.
    ``str()`` is one sentence without the token."""


class HttpPublisher(_SyncPublisher):
    """Synchronous publisher over HTTP: ``PUT {base}/campaigns/{id}`` and
    ``POST {base}/campaigns/{id}/events`` (docs/serve.md), for publishers without
    Redis access. Raises ``AuthError`` (401/403), ``InvalidEvent`` /
    ``InvalidCampaign`` (400) and ``PublishUnavailable`` (anything worth a retry).
    """

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        verify: bool | str = True,
        timeout: float = 10.0,
    ) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(headers=headers, verify=verify, timeout=timeout, follow_redirects=False)

    def __repr__(self) -> str:
        return f"HttpPublisher({self.base_url!r})"

    def _url(self, campaign_id: str, suffix: str = "") -> str:
        from urllib.parse import quote

        return f"{self.base_url}/campaigns/{quote(layout.check_campaign_id(campaign_id), safe='')}{suffix}"

    def _send(self, method: str, url: str, body: str) -> Any:
        import httpx

        from materia_tui.errors import AuthError

        try:
            response = self._http.request(
                method, url, content=body.encode(), headers={"Content-Type": "application/json"}
            )
        except httpx.HTTPError as exc:
            raise PublishUnavailable(f"{self.base_url} did not answer ({type(exc).__name__}).") from None
        status = response.status_code
        if status in (401, 403):
            raise AuthError(
                f"{self.base_url} refused to publish (HTTP {status}): the token needs publish rights."
            )
        if status == 400:
            raise InvalidEvent(f"{self.base_url} refused the request: {response.text[:200]}")
        if status >= 300:
            raise PublishUnavailable(f"{self.base_url} answered HTTP {status}.")
        try:
            return response.json()
        except ValueError:
            return None

    def set_metadata(self, campaign: CampaignLike) -> None:
        campaign_id, meta_json = layout.campaign_json(campaign)
        self._send("PUT", self._url(campaign_id), meta_json)

    def publish_many(self, campaign_id: str, events: Iterable[EventLike]) -> list[int]:
        bodies = _bodies(campaign_id, events)
        if not bodies:
            return []
        answer = self._send("POST", self._url(campaign_id, "/events"), "[" + ",".join(bodies) + "]")
        seqs = answer.get("seqs") if isinstance(answer, dict) else None
        return [int(s) for s in seqs] if isinstance(seqs, list) else []

    def set_status(self, campaign_id: str, status: CampaignStatus) -> None:
        import httpx

        try:
            current = self._http.get(self._url(campaign_id))
        except httpx.HTTPError as exc:
            raise PublishUnavailable(f"{self.base_url} did not answer ({type(exc).__name__}).") from None
        text = current.text if current.status_code == 200 else None
        self._send("PUT", self._url(campaign_id), layout.with_status(text, campaign_id, status))

    def close(self) -> None:
        self._http.close()

