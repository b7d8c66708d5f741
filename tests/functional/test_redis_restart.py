"""``serve --redis`` across a Redis restart: clients are told, and end with every event once, in order.

Its own redis-server (append-only file, fsync on every write, as a production
Redis that must not lose campaigns would run), stopped and restarted on the
same port mid-campaign while a real ``serve`` process and a real client run.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from materia_tui.backend.publish import AsyncPublisher
from materia_tui.backend.server.auth import JwtAuth
from materia_tui.source import ConnectionChanged, EventReceived
from materia_tui.source.settings import ConnectionSettings
from materia_tui.source.websocket import WebSocketSource
from tests.conftest import require_binary
from tests.support.campaigns import campaign_events, campaign_meta
from tests.support.redis_server import _free_port, _ping
from tests.support.serve_process import ServeProcess, start_serve
from tests.support.server_helpers import SECRET, wait_until

pytestmark = pytest.mark.redis

TOKEN = JwtAuth(SECRET.encode()).mint(campaigns="*", ttl_seconds=600)


class RestartableRedis:
    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = _free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="materia-redis-restart-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for _ in range(500):
            if _ping(self.port):
                return
            assert self.process.poll() is None, "redis-server exited at start"
            subprocess.run(["sleep", "0.02"], check=True)
        raise AssertionError("redis-server did not answer PING")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def redis() -> Iterator[RestartableRedis]:
    server = RestartableRedis(require_binary("redis-server"))
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.workdir, ignore_errors=True)


@pytest.fixture
async def serve(redis: RestartableRedis) -> AsyncIterator[ServeProcess]:
    process = await start_serve("--redis", redis.url, secret=SECRET)
    yield process
    await process.stop()


async def publish_retrying(publisher: AsyncPublisher, campaign_id: str, event: dict[str, object]) -> None:
    """A publisher's own retry: the first command after a restart may meet the old, dead connection."""
    for _ in range(50):
        with contextlib.suppress(Exception):
            await publisher.publish(campaign_id, event)
            return
        await asyncio.sleep(0.1)
    raise AssertionError("could not publish after the Redis restart")


async def test_a_redis_restart_mid_campaign_loses_nothing_and_the_client_says_so(
    redis: RestartableRedis, serve: ServeProcess
) -> None:
    campaign_id = "camp-redis-restart"
    events = campaign_events(campaign_id=campaign_id, iterations=6, batch=3)
    half = len(events) // 2
    settings = ConnectionSettings(base_url=serve.base_url, token=TOKEN, backoff_initial=0.05,
                                  backoff_max=0.3, open_timeout=3.0, read_timeout=3.0)
    held: list[int] = []
    changes: list[ConnectionChanged] = []
    source = WebSocketSource(campaign_id, settings)

    async def consume() -> None:
        async for item in source:
            if isinstance(item, EventReceived) and item.event.seq is not None:
                held.append(item.event.seq)
            elif isinstance(item, ConnectionChanged):
                changes.append(item)

    async with AsyncPublisher(redis.url) as publisher:
        await publisher.set_metadata(campaign_meta(campaign_id))
        consumer = asyncio.create_task(consume())
        for event in events[:half]:
            await publisher.publish(campaign_id, event)
        await wait_until(lambda: len(held) >= half, what="the first half, live")
        live_changes = len(changes)

        redis.stop()
        await wait_until(lambda: any(c.status != "live" for c in changes[live_changes:]),
                         what="the client to say it lost the live stream", timeout=15)
        await asyncio.sleep(1.0)  # down for a while: the client keeps retrying, without a traceback
        redis.start()

        for event in events[half:]:
            await publish_retrying(publisher, campaign_id, event)
        try:
            await asyncio.wait_for(consumer, 30)
        except TimeoutError:
            raise AssertionError(
                f"held {held[-5:]} of {len(events)}; changes {changes[live_changes:][-6:]}; "
                f"serve stderr: {serve.stderr_text()[-6000:]}"
            ) from None

    assert held == list(range(1, len(events) + 1))
    after = changes[live_changes:]
    assert any(c.status in ("backfilling", "live") for c in after), f"the client never came back: {after}"
    told = " ".join(c.detail for c in after)
    assert "1011" in told or "HTTP 503" in told, f"the client was not told why: {after}"
    assert "Traceback" not in serve.stderr_text()
