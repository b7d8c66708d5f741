"""A campaign's writes into Redis over redis.asyncio, as docs/PROTOCOL.md section 6 lays
them out (keys and script arguments from ``layout``): one home for the server's
``RedisBus`` and the ``AsyncPublisher``. The synchronous ``Publisher`` makes the
same calls through redis-py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from materia_tui.backend.server import layout

if TYPE_CHECKING:
    from redis.asyncio import Redis


async def set_campaign(redis: Redis, campaign_id: str, meta_json: str) -> None:
    """Store the metadata and list the campaign, in one transaction."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(layout.meta_key(campaign_id), meta_json)
        pipe.sadd(layout.CAMPAIGNS_KEY, campaign_id)
        await pipe.execute()


async def set_status(redis: Redis, campaign_id: str, status: str) -> None:
    """Rewrite the metadata's status (a stub if there is none yet), watched against concurrent writes."""
    key = layout.meta_key(campaign_id)

    async def update(pipe: Any) -> None:
        current = await pipe.get(key)
        pipe.multi()
        pipe.set(key, layout.with_status(current, campaign_id, status))
        pipe.sadd(layout.CAMPAIGNS_KEY, campaign_id)

    await redis.transaction(update, key)


async def publish(script: Any, campaign_id: str, bodies: Sequence[str]) -> list[int]:
    """Stamp ``bodies`` with the next seqs and publish them, atomically (the registered
    ``layout.PUBLISH_LUA``); their seqs."""
    if not bodies:
        return []
    keys, args = layout.publish_script_call(campaign_id, bodies)
    return [int(s) for s in await script(keys=keys, args=args)]
