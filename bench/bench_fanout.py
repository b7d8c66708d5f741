"""Server fan-out latency: many WebSocket clients of ``serve`` (memory bus, and two
processes on Redis), and publish -> client state applied.

Each published event carries ``sent_at`` (epoch seconds; an unknown field, so
consumers ignore it); a delivery's latency is its receive time minus ``sent_at``.
Servers run as separate processes (``python -m materia_tui serve``). The many
clients are raw-socket clients (``bench/load_clients.py``) spread over two
load processes, so the load generator is not the bottleneck. Baselines in the
same run: the same path with 10 clients. Correctness: every client gets every
event, in order, once.

    .venv/bin/python bench/bench_fanout.py [--quick]      # quick: 1,000 clients for 5 s
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import resource
import shutil
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from websockets.asyncio.client import ClientConnection, connect

from bench.common import BenchResult, Row, percentile, run_cli
from materia_tui.protocol import ConvergenceUpdate
from materia_tui.publish import AsyncPublisher
from materia_tui.settings import ConnectionSettings
from materia_tui.source import EventReceived, apply_item
from materia_tui.source.websocket import WebSocketSource
from materia_tui.state import CampaignState
from tests.support.serve_process import ServeProcess, start_serve

ROOT = Path(__file__).resolve().parent.parent
LOAD_PROCESSES = 2
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


def raise_fd_limit(needed: int) -> None:
    """Servers and load processes inherit it: 5,000 clients need 5,000+ descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, needed), hard))


async def paced_publish(publish: Publish, rate: float, count: int) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    for index in range(count):
        await asyncio.sleep(max(0.0, start + index / rate - loop.time()))
        await publish(
            {
                "type": "convergence_update",
                "metric": index / count,
                "converged": False,
                "sent_at": time.time(),
            }
        )


async def many_clients(
    urls: list[str],
    clients: int,
    rate: float,
    seconds: float,
    publish: Publish,
    concurrency: int = 64,
) -> tuple[list[float], list[str]]:
    """``clients`` raw clients over LOAD_PROCESSES processes (process i on ``urls[i % len]``)."""
    count = int(rate * seconds)
    per_process = [
        clients // LOAD_PROCESSES + (1 if i < clients % LOAD_PROCESSES else 0) for i in range(LOAD_PROCESSES)
    ]
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.load_clients",
            urls[i % len(urls)],
            str(n),
            str(count),
            str(concurrency),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            limit=2**28,
        )
        for i, n in enumerate(per_process)
    ]
    problems: list[str] = []
    for process in processes:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 180)
        if line.strip() != b"ready":
            problems.append(f"a load process failed to connect: {line[:200]!r}")
    if problems:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        return [], problems
    await paced_publish(publish, rate, count)
    latencies: list[float] = []
    for process in processes:
        assert process.stdout is not None
        report = json.loads(await asyncio.wait_for(process.stdout.readline(), 180))
        await process.wait()
        latencies += [value / 10_000 for value in report["latencies"]]
        if report["missing"]:
            problems.append(f"{report['missing']} deliveries missing")
        if report["out_of_order"]:
            problems.append(f"{report['out_of_order']} deliveries out of order or twice")
    return latencies, problems


async def few_clients(
    url: str,
    n: int,
    rate: float,
    seconds: float,
    publish: Publish,
) -> tuple[list[float], list[str]]:
    """``n`` websockets clients in this process (a baseline, or the 100 events/s case)."""
    sockets = await connect_clients(url, n)
    count = int(rate * seconds)
    clients = [Client() for _ in sockets]
    readers = [asyncio.create_task(c.run(ws, count)) for c, ws in zip(clients, sockets, strict=True)]
    await paced_publish(publish, rate, count)
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


async def into_state(
    base_url: str,
    campaign: str,
    rate: float,
    seconds: float,
    publish: Publish,
) -> tuple[list[float], list[str]]:
    """Publish -> ``WebSocketSource`` -> ``CampaignState.apply``: latency to the applied state."""
    count = int(rate * seconds)
    sent: dict[float, float] = {}

    async def publish_noting(event: dict[str, object]) -> object:
        sent[float(event["metric"])] = float(event["sent_at"])  # type: ignore[arg-type]
        return await publish(event)

    state = CampaignState(campaign)
    latencies: list[float] = []
    source = WebSocketSource(campaign, ConnectionSettings(base_url, ping_interval=None), stop_at_end=False)

    async def consume() -> None:
        async for item in source:
            apply_item(state, item)
            if (
                isinstance(item, EventReceived)
                and isinstance(item.event, ConvergenceUpdate)
                and item.event.metric in sent
            ):
                latencies.append(time.time() - sent[item.event.metric])
                if len(latencies) == count:
                    return

    consumer = asyncio.create_task(consume())
    while state.counters.applied == 0 and not consumer.done():  # connected: the first event is a marker
        await publish({"type": "iteration_started", "iteration": 1, "timestamp": "2026-01-01T00:00:00Z"})
        await asyncio.sleep(0.05)
    await paced_publish(publish_noting, rate, count)
    problems: list[str] = []
    try:
        await asyncio.wait_for(consumer, 60)
    except TimeoutError:
        problems.append(f"the state applied {len(latencies)} of {count} events")
    await source.aclose()
    if state.counters.gaps or state.counters.rejected:
        problems.append("gaps or rejected frames in the state")
    return latencies, problems


def latency_row(what: str, target: float, latencies: list[float], baseline: list[float]) -> Row:
    p99, base99 = percentile(latencies, 99), percentile(baseline, 99)
    return Row(
        f"{what}: p50 / p99 / max",
        f"p99 <= {ms(target)}",
        f"{ms(percentile(latencies, 50))} / {ms(p99)} / {ms(max(latencies, default=float('nan')))}",
        f"10 clients: p99 {ms(base99)}" if baseline else "",
        f"{p99 / base99:.1f}x" if baseline and base99 > 0 else "",
        meets_target=bool(latencies) and p99 <= target,
    )


def redis_url_or_none(result: BenchResult) -> str | None:
    url = os.environ.get("REDIS_URL")
    if url is None and shutil.which("redis-server"):
        from tests.support.redis_server import redis_server_url

        url = redis_server_url()
    if url is None:
        result.notes.append("Redis: skipped (no redis-server on PATH and no REDIS_URL)")
    return url


async def serve_campaign(http: aiohttp.ClientSession, *args: str) -> ServeProcess:
    serve = await start_serve("--no-auth", "--queue-size", "4096", *args)
    if "--redis" not in args:
        await _new_campaign_over_http(http, serve.base_url, CAMPAIGN)
    return serve


def ws_url(serve: ServeProcess, campaign: str) -> str:
    return f"ws://127.0.0.1:{serve.port}/ws/campaigns/{campaign}"


async def run_bench(quick: bool) -> BenchResult:
    result = BenchResult("serve: fan-out and publish -> client latency (loopback)")
    clients = 500 if quick else 5000
    seconds = 4.0 if quick else 15.0
    raise_fd_limit(2 * clients + 1024)

    async with aiohttp.ClientSession() as http:
        # 1. N clients on one serve process (memory bus), 10 events/s, published over HTTP.
        serve = await serve_campaign(http)
        try:
            publish = http_publisher(http, serve.base_url, CAMPAIGN)
            baseline, problems = await few_clients(ws_url(serve, CAMPAIGN), 10, 10.0, seconds / 2, publish)
            server_cpu = _cpu_seconds(serve.process.pid)
            latencies, more = await many_clients([ws_url(serve, CAMPAIGN)], clients, 10.0, seconds, publish)
            server_cpu = _cpu_seconds(serve.process.pid) - server_cpu
        finally:
            await serve.stop()
        result.rows.append(
            latency_row(f"one process, {clients:,} clients, 10 events/s", 0.100, latencies, baseline)
        )
        result.rows.append(
            Row(
                "  server CPU per delivery (connects included)",
                "",
                f"{server_cpu / max(1, len(latencies)) * 1e6:.0f} us ({server_cpu:.1f} s)",
            )
        )
        for problem in problems + more:
            result.check(False, f"one process: {problem}")

        # 2. Publish -> client state applied, 100 events/s (WebSocketSource + CampaignState).
        serve = await serve_campaign(http)
        try:
            publish = http_publisher(http, serve.base_url, CAMPAIGN)
            baseline, problems = await few_clients(ws_url(serve, CAMPAIGN), 1, 100.0, seconds, publish)
            fresh = f"{CAMPAIGN}-state"  # no history: the source must not backfill the baseline's events
            await _new_campaign_over_http(http, serve.base_url, fresh)
            latencies, more = await into_state(
                serve.base_url, fresh, 100.0, seconds, http_publisher(http, serve.base_url, fresh)
            )
        finally:
            await serve.stop()
        row = latency_row("publish (HTTP) -> state applied, 100 events/s", 0.020, latencies, [])
        row.baseline = f"bare websockets client: p99 {ms(percentile(baseline, 99))}"
        row.ratio = f"{percentile(latencies, 99) / percentile(baseline, 99):.1f}x"
        result.rows.append(row)
        for problem in problems + more:
            result.check(False, f"publish -> state: {problem}")

    # 3. Two serve processes on Redis, clients split over both, AsyncPublisher to Redis.
    redis_url = redis_url_or_none(result)
    if redis_url is not None:
        campaign = f"{CAMPAIGN}-{int(time.time())}"
        servers = [
            await start_serve("--no-auth", "--queue-size", "4096", "--redis", redis_url) for _ in range(2)
        ]
        try:
            async with AsyncPublisher(redis_url) as publisher:
                await publisher.set_metadata({"id": campaign, "status": "running"})

                async def publish(event: dict[str, object]) -> object:
                    return await publisher.publish(campaign, event)

                baseline, problems = await few_clients(
                    ws_url(servers[0], campaign), 10, 10.0, seconds / 2, publish
                )
                urls = [ws_url(s, campaign) for s in servers]
                # 8 handshakes at a time: more get HTTP 500 from serve --redis (see FINDINGS).
                latencies, more = await many_clients(urls, clients, 10.0, seconds, publish, concurrency=8)
        finally:
            for serve in servers:
                await serve.stop()
                if "Traceback" in serve.stderr_text():
                    result.notes.append(f"Redis serve stderr (tail): {serve.stderr_text()[-1500:]}")
        result.rows.append(
            latency_row(
                f"two processes on Redis, {clients:,} clients, 10 events/s", 0.150, latencies, baseline
            )
        )
        for problem in problems + more:
            result.check(False, f"Redis: {problem}")
    result.notes.append(
        f"{seconds:.0f} s per case; clients in {LOAD_PROCESSES} raw-socket load processes; servers, "
        "publisher and clients all on this 2-core machine."
    )
    return result


def bench(quick: bool) -> BenchResult:
    return asyncio.run(run_bench(quick))


if __name__ == "__main__":
    run_cli(bench)
