"""A fault-injection TCP proxy on 127.0.0.1, between a client and a real server.

Every accepted connection is piped to ``upstream_port``; the test then breaks
the pipes on purpose::

    proxy = await FaultProxy(server.port, seed=7).start()
    settings = ConnectionSettings(proxy.base_url(), ...)   # REST and WS both go through it
    proxy.cut_all()            # abort every connection, both sides (an RST, like a dead NAT)
    proxy.stall_all()          # black-hole every current connection: bytes read, never forwarded,
                               # nothing closed (a half-open peer); new connections work
    proxy.refuse = True        # new connections are closed at once (backend down)
    proxy.throttle(20_000)     # bytes/second per direction (None: unlimited)
    proxy.delay(0.01, 0.005)   # each chunk waits 10 ms + uniform(0, 5 ms), seeded; order kept
    await proxy.wait_for_connections(n)   # named condition: n connections accepted in total
    await proxy.close()

Chunks of one direction are forwarded by one task, in order, so delays and
throttling never reorder bytes. ``stats`` counts what was done.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field


@dataclass
class ProxyStats:
    accepted: int = 0
    refused: int = 0
    cuts: int = 0  # connections aborted by cut_all
    stalls: int = 0  # connections black-holed by stall_all
    bytes_up: int = 0
    bytes_down: int = 0


@dataclass(eq=False)
class _Link:
    """One proxied connection: the client side and the upstream side."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    stalled: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def abort(self) -> None:
        for writer in (self.client, self.upstream):
            transport = writer.transport
            if not transport.is_closing():
                transport.abort()


class FaultProxy:
    """See the module docstring."""

    def __init__(self, upstream_port: int, *, seed: int = 0, host: str = "127.0.0.1") -> None:
        self.upstream_port = upstream_port
        self.host = host
        self.port = 0
        self.refuse = False
        self.stats = ProxyStats()
        self._rng = random.Random(seed)
        self._rate: float | None = None
        self._delay: tuple[float, float] = (0.0, 0.0)
        self._links: set[_Link] = set()
        self._server: asyncio.Server | None = None
        self._changed = asyncio.Condition()

    def base_url(self, path: str = "/api/v1", scheme: str = "http") -> str:
        return f"{scheme}://{self.host}:{self.port}{path}"

    @property
    def open_links(self) -> int:
        return len(self._links)

    async def start(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        tasks = [task for link in self._links for task in link.tasks]
        self.cut_all(count=False)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None

    # ----- faults --------------------------------------------------------------

    def cut_all(self, *, count: bool = True) -> int:
        """Abort every open connection on both sides; returns how many were cut."""
        links = list(self._links)
        for link in links:
            link.abort()
        if count:
            self.stats.cuts += len(links)
        return len(links)

    def stall_all(self) -> int:
        """Black-hole every open connection that is not stalled yet; returns how many."""
        fresh = [link for link in self._links if not link.stalled]
        for link in fresh:
            link.stalled = True
        self.stats.stalls += len(fresh)
        return len(fresh)

    def throttle(self, bytes_per_second: float | None) -> None:
        self._rate = bytes_per_second

    def delay(self, seconds: float, jitter: float = 0.0) -> None:
        self._delay = (seconds, jitter)

    async def wait_for_connections(self, accepted: int, timeout: float = 5.0) -> None:
        """Wait until ``accepted`` connections have been accepted since the start."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.stats.accepted >= accepted), timeout)

    # ----- plumbing --------------------------------------------------------------

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self.refuse:
            self.stats.refused += 1
            client_writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.upstream_port)
        except OSError:
            self.stats.refused += 1
            client_writer.transport.abort()
            return
        link = _Link(client_writer, up_writer)
        self._links.add(link)
        self.stats.accepted += 1
        async with self._changed:
            self._changed.notify_all()
        up = asyncio.create_task(self._pump(link, client_reader, up_writer, upstream=True))
        down = asyncio.create_task(self._pump(link, up_reader, client_writer, upstream=False))
        link.tasks = [up, down]
        try:
            await asyncio.gather(up, down, return_exceptions=True)
        finally:
            self._links.discard(link)
            link.abort()

    async def _pump(
        self, link: _Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, upstream: bool
    ) -> None:
        try:
            while data := await reader.read(65536):
                if link.stalled:
                    continue  # black hole: swallow, never answer, never close
                await self._pace(len(data))
                if link.stalled:
                    continue
                writer.write(data)
                await writer.drain()
                if upstream:
                    self.stats.bytes_up += len(data)
                else:
                    self.stats.bytes_down += len(data)
        except (ConnectionError, OSError):
            pass
        finally:
            # One side ended: end the other too (a stalled link stays open until its peer gives up).
            with contextlib.suppress(Exception):
                writer.transport.abort()

    async def _pace(self, size: int) -> None:
        base, jitter = self._delay
        wait = base + (self._rng.uniform(0.0, jitter) if jitter > 0 else 0.0)
        if self._rate:
            wait += size / self._rate
        if wait > 0:
            await asyncio.sleep(wait)
