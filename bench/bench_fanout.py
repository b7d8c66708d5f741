"""Server fan-out latency: N WebSocket clients on one ``serve`` process, and
publish -> receive latency on the memory bus (in-process and over HTTP) and on Redis.

Each published event carries ``sent_at`` (epoch seconds; an unknown field, so
consumers ignore it); a client's latency is its receive time minus ``sent_at``.
The server runs as a separate process (``python -m materia_tui serve``) except
for the in-process memory case (the ``demo`` setup), so the clients' CPU is
not the server's. Correctness check: every client gets every event, in order.

    .venv/bin/python bench/bench_fanout.py [--quick]      # quick: N=1000 for 5 s
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from websockets.asyncio.client import ClientConnection, connect

from bench.common import BenchResult, Row, percentile, run_cli
from materia_tui.publish import AsyncPublisher, MemoryPublisher
from materia_tui.server.app import start_server
from materia_tui.server.auth import NoAuth
from materia_tui.server.bus import MemoryBus
from tests.support.serve_process import start_serve

CAMPAIGN = "bench-fanout"
_SENT_AT = re.compile(r'"sent_at":([0-9.e+-]+)')
_SEQ = re.compile(r'^\{"seq":(\d+),')

Publish = Callable[[dict[str, object]], Awaitable[object]]


class Client:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.seqs: list[int] = []

    async def run(self, ws: ClientConnection, count: int) -> None:
        while len(self.seqs) < count:
            frame = await ws.recv()
            now = time.time()
            text = frame if isinstance(frame, str) else frame.decode()
            sent = _SENT_AT.search(text)
            seq = _SEQ.match(text)
            if sent and seq:
                self.latencies.append(now - float(sent.group(1)))
                self.seqs.append(int(seq.group(1)))


async def connect_clients(url: str, n: int) -> list[ClientConnection]:
    gate = asyncio.Semaphore(64)

    async def one() -> ClientConnection:
        async with gate:
            return await connect(url, open_timeout=30, ping_interval=None, compression=None)

    return list(await asyncio.gather(*(one() for _ in range(n))))


async def measure(url: str, n: int, rate: float, seconds: float, publish: Publish,
                  ) -> tuple[list[float], list[str]]:
    """Connect ``n`` clients, publish at ``rate``/s for ``seconds``; latencies and problems."""
    sockets = await connect_clients(url, n)
    count = int(rate * seconds)
    clients = [Client() for _ in sockets]
    readers = [asyncio.create_task(c.run(ws, count)) for c, ws in zip(clients, sockets, strict=True)]
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    for index in range(count):
        await asyncio.sleep(max(0.0, start + index / rate - loop.time()))
        await publish({"type": "convergence_update", "metric": index / count, "converged": False,
                       "sent_at": time.time()})
    problems: list[str] = []
    try:
        await asyncio.wait_for(asyncio.gather(*readers), 60)
    except TimeoutError:
        problems.append("some clients did not receive every event within 60 s")
    for client in clients:
        if client.seqs != sorted(client.seqs) or len(set(client.seqs)) != len(client.seqs):
            problems.append("a client received events out of order or twice")
            break
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    latencies = [latency for c in clients for latency in c.latencies]
    if len(latencies) != n * count:
        problems.append(f"{n * count - len(latencies)} deliveries missing")
    return latencies, problems


async def _new_campaign_over_http(http: aiohttp.ClientSession, base_url: str, campaign: str) -> None:
    async with http.put(f"{base_url}/campaigns/{campaign}", json={"id": campaign, "status": "running"}) as r:
        r.raise_for_status()


def http_publisher(http: aiohttp.ClientSession, base_url: str, campaign: str) -> Publish:
    async def publish(event: dict[str, object]) -> object:
        async with http.post(f"{base_url}/campaigns/{campaign}/events", json=event) as response:
            return await response.json()

    return publish


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ms(value: float) -> str:
    return f"{value * 1000:.1f} ms"


def add_latency_rows(result: BenchResult, what: str, latencies: list[float], problems: list[str],
                     target_p99: float | None = None) -> None:
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    result.rows.append(Row(f"{what}: p50 / p99 / max", f"p99 < {ms(target_p99)}" if target_p99 else "",
                           f"{ms(p50)} / {ms(p99)} / {ms(max(latencies, default=float('nan')))}",
                           meets_target=(p99 < target_p99) if target_p99 else None))
    for problem in problems:
        result.check(False, f"{what}: {problem}")


async def run_bench(quick: bool) -> BenchResult:
    result = BenchResult("serve: fan-out and publish -> receive latency (loopback)")
    fanout_clients = 1000 if quick else 2000
    seconds = 5.0 if quick else 15.0

    # 1. N clients on one serve process (memory bus), 10 events/s, published over HTTP.
    serve = await start_serve("--no-auth", "--queue-size", "4096")
    try:
        async with aiohttp.ClientSession() as http:
            await _new_campaign_over_http(http, serve.base_url, CAMPAIGN)
            url = f"ws://127.0.0.1:{serve.port}/ws/campaigns/{CAMPAIGN}"
            server_cpu = _cpu_seconds(serve.process.pid)
            own_cpu = time.process_time()
            latencies, problems = await measure(url, fanout_clients, 10.0, seconds,
                                                http_publisher(http, serve.base_url, CAMPAIGN))
            server_cpu = _cpu_seconds(serve.process.pid) - server_cpu
            own_cpu = time.process_time() - own_cpu
        add_latency_rows(result, f"fan-out to {fanout_clients} clients at 10 events/s", latencies, problems,
                         target_p99=0.250)
        deliveries = max(1, len(latencies))
        result.rows.append(Row("  server CPU per delivery (incl. connects)", "",
                               f"{server_cpu / deliveries * 1e6:.0f} us ({server_cpu:.1f} s total)"))
        result.rows.append(Row("  client-process CPU per delivery (the load generator)", "",
                               f"{own_cpu / deliveries * 1e6:.0f} us ({own_cpu:.1f} s total)"))
    finally:
        await serve.stop()

    # 2. Publish -> receive at 100 events/s, 10 clients.
    rate, few = 100.0, 10
    bus = MemoryBus()
    server = await start_server("127.0.0.1", 0, bus=bus, auth=NoAuth())
    memory = MemoryPublisher(bus)
    await memory.set_metadata({"id": CAMPAIGN, "status": "running"})
    latencies, problems = await measure(server.websocket_url(CAMPAIGN), few, rate, seconds,
                                        lambda e: memory.publish(CAMPAIGN, e))
    await server.close()
    add_latency_rows(result, "memory bus, in-process publisher (demo), 100 events/s, 10 clients",
                     latencies, problems, target_p99=0.050)

    serve = await start_serve("--no-auth")
    try:
        async with aiohttp.ClientSession() as http:
            await _new_campaign_over_http(http, serve.base_url, CAMPAIGN)
            latencies, problems = await measure(f"ws://127.0.0.1:{serve.port}/ws/campaigns/{CAMPAIGN}", few,
                                                rate, seconds, http_publisher(http, serve.base_url, CAMPAIGN))
        add_latency_rows(result, "memory bus, HTTP POST publisher, 100 events/s, 10 clients",
                         latencies, problems, target_p99=0.050)
    finally:
        await serve.stop()

    redis_url = os.environ.get("REDIS_URL")
    if redis_url is None and shutil.which("redis-server"):
        from tests.support.redis_server import redis_server_url

        redis_url = redis_server_url()
    if redis_url is None:
        result.notes.append("Redis: skipped (no redis-server on PATH and no REDIS_URL)")
        return result
    campaign = f"{CAMPAIGN}-{int(time.time())}"
    serve = await start_serve("--no-auth", "--redis", redis_url)
    try:
        async with AsyncPublisher(redis_url) as redis_publisher:
            await redis_publisher.set_metadata({"id": campaign, "status": "running"})
            latencies, problems = await measure(f"ws://127.0.0.1:{serve.port}/ws/campaigns/{campaign}", few,
                                                rate, seconds, lambda e: redis_publisher.publish(campaign, e))
        add_latency_rows(result, "Redis bus, AsyncPublisher, 100 events/s, 10 clients",
                         latencies, problems, target_p99=0.050)
    finally:
        await serve.stop()
    result.notes.append(f"{seconds:.0f} s per case; 2 shared cores; clients, publisher and "
                        "server processes all on this machine.")
    return result


def bench(quick: bool) -> BenchResult:
    return asyncio.run(run_bench(quick))


if __name__ == "__main__":
    run_cli(bench)
