"""Server fan-out latency: many WebSocket clients of ``serve`` (memory bus, and two
processes on Redis), and publish -> client state applied.

Each published event carries ``sent_at`` (epoch seconds; an unknown field, so
consumers ignore it); a delivery's latency is its receive time minus ``sent_at``.
Servers run as separate processes (``python -m materia_tui serve``). The many
clients are raw-socket clients (``bench/load_clients.py``, an epoll loop)
spread over two load processes. On this 2-core VM a loopback ``recv`` costs
about as much as the server's ``send`` (~15 us), so a generator that reads
every client's frame as it arrives needs as much CPU as the server; the
largest level is therefore also run with 1 client in 10 timed and the rest
drained in batches (same server work, a fifth of the generator's). Baselines in the
same run: the same path with 10 clients. Correctness: every client gets every
event, in order, once (a violation fails the run).

Server CPU per delivery is the servers' CPU during the publishing phase only
(handshakes excluded) divided by the deliveries, with its kernel share (on
loopback the sender's ``send`` also runs the receiving socket's TCP input);
the load processes report their own CPU over the same phase, since on 2 cores
they compete with the server for it. Beside each latency (frame read by the
load process) is the kernel's receive timestamp of the same frames: when they
were in the client's socket, without the load process's own delay.

With the memory bus a POST is answered after its event's fan-out, so the
default (closed-loop) publisher sends the next event late whenever a fan-out
overruns 100 ms; ``--open-loop`` publishes every event on schedule and shows
the backlog (the Redis publisher never waits for the servers).

    .venv/bin/python bench/bench_fanout.py [--quick]      # quick: 500 clients for 4 s
    # before/after, interleaved in one run: serve processes from another checkout
    .venv/bin/python bench/bench_fanout.py --compare /tmp/old-tree --clients 10,1000,5000
    # ... 1 client in 10 timed, 2 rounds in alternating order, open-loop publisher
    .venv/bin/python bench/bench_fanout.py --compare /tmp/old-tree --probe-every 10 --rounds 2 --open-loop
"""

from __future__ import annotations

import argparse
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
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from websockets.asyncio.client import ClientConnection, connect

from bench.common import BenchResult, Row, percentile, render_table
from materia_tui.backend.publish import AsyncPublisher
from materia_tui.protocol import ConvergenceUpdate
from materia_tui.source import EventReceived
from materia_tui.source.settings import ConnectionSettings
from materia_tui.source.websocket import WebSocketSource
from materia_tui.state import CampaignState
from materia_tui.state.intake import apply_item
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


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def _cpu_of(pids: tuple[int, ...]) -> tuple[float, float]:
    times = [_cpu_seconds(pid) for pid in pids]
    return sum(user for user, _ in times), sum(system for _, system in times)


def ms(value: float) -> str:
    return f"{value * 1000:.1f} ms"


def raise_fd_limit(needed: int) -> None:
    """Servers and load processes inherit it: 5,000 clients need 5,000+ descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, needed), hard))


# With a memory bus the POST that publishes an event is answered after that event's
# fan-out, so a publisher that awaits each POST (closed loop, the default) sends the
# next event late whenever a fan-out overruns its 100 ms, and its latency starts late:
# a backlog never shows. Open loop (--open-loop): every event leaves on schedule.
OPEN_LOOP = False


async def paced_publish(publish: Publish, rate: float, count: int) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    pending: list[asyncio.Task[object]] = []
    for index in range(count):
        await asyncio.sleep(max(0.0, start + index / rate - loop.time()))
        event: dict[str, object] = {
            "type": "convergence_update",
            "metric": index / count,
            "converged": False,
            "sent_at": time.time(),
        }
        if OPEN_LOOP:
            pending.append(asyncio.create_task(publish(event)))  # type: ignore[arg-type]
        else:
            await publish(event)
    await asyncio.gather(*pending)


@dataclass
class FanoutRun:
    """One fan-out measurement: latencies, problems, and the publishing phase's CPU."""

    latencies: list[float] = field(default_factory=list)  # read by the load process - sent_at
    arrivals: list[float] = field(default_factory=list)  # in the client's socket (kernel time) - sent_at
    problems: list[str] = field(default_factory=list)
    server_cpu: float = 0.0  # seconds, all server processes, publishing phase
    server_system: float = 0.0  # the part of server_cpu spent in the kernel (socket writes)
    load_cpu: float = 0.0  # seconds, all load processes, publishing phase
    seconds: float = 0.0  # wall time of the publishing phase
    deliveries: int = 0  # clients x events (latencies are recorded for the probes only)
    probes: int = 0

    def add(self, other: FanoutRun) -> None:
        """Pool another round of the same case into this one."""
        self.latencies += other.latencies
        self.arrivals += other.arrivals
        self.problems += other.problems
        self.server_cpu += other.server_cpu
        self.server_system += other.server_system
        self.load_cpu += other.load_cpu
        self.seconds += other.seconds
        self.deliveries += other.deliveries
        self.probes += other.probes

    def arrival_row(self, label: str) -> Row:
        """When the frames were in the clients' sockets (kernel timestamps): the server's
        delivery without the load generator's own scheduling delay before it reads."""
        values = self.arrivals
        return Row(
            f"  {label}: in the client's socket (kernel receive time): p50 / p99 / max",
            "",
            f"{ms(percentile(values, 50))} / {ms(percentile(values, 99))} / "
            f"{ms(max(values, default=float('nan')))}",
            f"read by the client: p99 {ms(percentile(self.latencies, 99))}",
        )

    def cpu_row(self, label: str, clients: int) -> Row:
        """Server CPU per delivery, and what it adds up to: one event to every client
        costs ``clients`` deliveries; on one process that is one core's time, a floor
        under the event's last delivery."""
        deliveries = max(1, self.deliveries)
        per_delivery = self.server_cpu / deliveries
        wall = max(self.seconds, 1e-9)
        return Row(
            f"  {label}: server CPU per delivery (publishing phase)",
            "",
            f"{per_delivery * 1e6:.1f} us (kernel {self.server_system / deliveries * 1e6:.1f}"
            f" us; {self.server_cpu:.1f} s in {self.seconds:.0f} s); one event to all "
            f"{clients:,}: {ms(per_delivery * clients)} of CPU",
            f"load generator: {self.load_cpu:.1f} s CPU ({self.load_cpu / wall:.2f} of a core)",
        )


async def many_clients(
    urls: list[str],
    clients: int,
    rate: float,
    seconds: float,
    publish: Publish,
    concurrency: int = 64,
    server_pids: tuple[int, ...] = (),
    probe_every: int = 1,
) -> FanoutRun:
    """``clients`` raw clients over LOAD_PROCESSES processes (process i on ``urls[i % len]``);
    every ``probe_every``-th client's latencies are recorded (see ``load_clients``)."""
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
            str(probe_every),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=2**28,
        )
        for i, n in enumerate(per_process)
        if n
    ]
    run = FanoutRun()
    for process in processes:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 180)
        if line.strip() != b"ready":
            run.problems.append(f"a load process failed to connect: {line[:200]!r}")
    if run.problems:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        return run
    await asyncio.sleep(1.0)  # let the last handshakes' work settle before measuring
    user_before, system_before = _cpu_of(server_pids)
    started = time.monotonic()
    await paced_publish(publish, rate, count)
    for process in processes:
        assert process.stdout is not None
        report = json.loads(await asyncio.wait_for(process.stdout.readline(), 180))
        run.latencies += [value / 10_000 for value in report["latencies"]]
        run.arrivals += [value / 10_000 for value in report.get("arrivals", ())]
        run.load_cpu += float(report.get("cpu", 0.0))
        run.probes += int(report.get("probes", 0))
        if report["missing"]:
            run.problems.append(f"{report['missing']} deliveries missing")
        if report["out_of_order"]:
            run.problems.append(f"{report['out_of_order']} deliveries out of order or twice")
    # Every frame is in: the servers' CPU now, before the disconnects cost them any.
    run.seconds = time.monotonic() - started
    run.deliveries = clients * count
    user_after, system_after = _cpu_of(server_pids)
    run.server_system = system_after - system_before
    run.server_cpu = user_after - user_before + run.server_system
    for process in processes:
        assert process.stdin is not None
        process.stdin.write(b"close\n")
        process.stdin.close()
        await process.wait()
    return run


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


async def serve_campaign(http: aiohttp.ClientSession, *args: str, serve_from: Path = ROOT) -> ServeProcess:
    """A ``serve`` process (of the checkout ``serve_from``: ``python -m`` imports from its cwd)."""
    with contextlib.chdir(serve_from):
        serve = await start_serve("--no-auth", "--queue-size", "4096", *args)
    if "--redis" not in args:
        await _new_campaign_over_http(http, serve.base_url, CAMPAIGN)
    return serve


def ws_url(serve: ServeProcess, campaign: str) -> str:
    return f"ws://127.0.0.1:{serve.port}/ws/campaigns/{campaign}"


def _stderr_note(result: BenchResult, serve: ServeProcess, what: str) -> None:
    if "Traceback" in serve.stderr_text():
        result.notes.append(f"{what} serve stderr (tail): {serve.stderr_text()[-1500:]}")


async def one_process(
    http: aiohttp.ClientSession, clients: int, seconds: float, serve_from: Path = ROOT, probe_every: int = 1
) -> FanoutRun:
    """``clients`` raw clients of one serve process (memory bus), 10 events/s published over HTTP."""
    serve = await serve_campaign(http, serve_from=serve_from)
    try:
        publish = http_publisher(http, serve.base_url, CAMPAIGN)
        return await many_clients(
            [ws_url(serve, CAMPAIGN)],
            clients,
            10.0,
            seconds,
            publish,
            server_pids=(serve.process.pid,),
            probe_every=probe_every,
        )
    finally:
        await serve.stop()


async def two_on_redis(
    redis_url: str, clients: int, seconds: float, serve_from: Path = ROOT, probe_every: int = 1
) -> FanoutRun:
    """``clients`` raw clients split over two serve --redis processes; AsyncPublisher to Redis."""
    campaign = f"{CAMPAIGN}-{time.time_ns()}"
    servers: list[ServeProcess] = []
    with contextlib.chdir(serve_from):
        for _ in range(2):
            servers.append(await start_serve("--no-auth", "--queue-size", "4096", "--redis", redis_url))
    try:
        async with AsyncPublisher(redis_url) as publisher:
            await publisher.set_metadata({"id": campaign, "status": "running"})

            async def publish(event: dict[str, object]) -> object:
                return await publisher.publish(campaign, event)

            return await many_clients(
                [ws_url(s, campaign) for s in servers],
                clients,
                10.0,
                seconds,
                publish,
                concurrency=32,  # the Redis bus waits for a pooled connection (64) per handshake
                server_pids=tuple(s.process.pid for s in servers),
                probe_every=probe_every,
            )
    finally:
        for serve in servers:
            await serve.stop()


def check(result: BenchResult, what: str, run: FanoutRun) -> None:
    for problem in run.problems:
        result.check(False, f"{what}: {problem}")


PROBE_EVERY = 10


def _plan(levels: list[int]) -> list[tuple[int, int]]:
    """Every level with every client timed; the largest also with 1 client in PROBE_EVERY
    timed and the rest drained in batches: on 2 cores, a generator that reads every frame
    the moment it arrives needs more CPU than the server (see ``load_clients``)."""
    return [(n, 1) for n in levels] + [(max(levels), PROBE_EVERY)]


def _probed(probe_every: int) -> str:
    return f" (1 in {probe_every} timed)" if probe_every > 1 else ""


async def run_bench(quick: bool, levels: list[int] | None = None) -> BenchResult:
    result = BenchResult("serve: fan-out and publish -> client latency (loopback)")
    levels = levels or ([500] if quick else [1000, 5000])
    seconds = 4.0 if quick else 15.0
    raise_fd_limit(2 * max(levels) + 1024)

    async with aiohttp.ClientSession() as http:
        # 1. N clients on one serve process (memory bus), 10 events/s, published over HTTP.
        serve = await serve_campaign(http)
        try:
            publish = http_publisher(http, serve.base_url, CAMPAIGN)
            baseline, problems = await few_clients(ws_url(serve, CAMPAIGN), 10, 10.0, seconds / 2, publish)
        finally:
            await serve.stop()
        for problem in problems:
            result.check(False, f"one process, 10 clients: {problem}")
        for clients, probe_every in _plan(levels):
            run = await one_process(http, clients, seconds, probe_every=probe_every)
            what = f"one process, {clients:,} clients, 10 events/s{_probed(probe_every)}"
            result.rows.append(latency_row(what, 0.100, run.latencies, baseline))
            result.rows.append(run.arrival_row(f"{clients:,} clients"))
            result.rows.append(run.cpu_row(f"{clients:,} clients", clients))
            check(result, what, run)

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
        base = await two_on_redis(redis_url, 10, seconds / 2)
        check(result, "Redis, 10 clients", base)
        for clients, probe_every in _plan(levels):
            run = await two_on_redis(redis_url, clients, seconds, probe_every=probe_every)
            what = f"two processes on Redis, {clients:,} clients, 10 events/s{_probed(probe_every)}"
            result.rows.append(latency_row(what, 0.150, run.latencies, base.latencies))
            result.rows.append(run.arrival_row(f"{clients:,} clients, both servers"))
            result.rows.append(run.cpu_row(f"{clients:,} clients, both servers", clients))
            check(result, what, run)
    result.notes.append(
        f"{seconds:.0f} s per case; clients in {LOAD_PROCESSES} raw-socket load processes; servers, "
        "publisher and clients all on this 2-core machine. '1 in N timed': only every Nth client is "
        "read as its frames arrive and timed, the others are drained every 0.5 s (all are checked for "
        "every event once, in order); server CPU: publishing phase only."
        + (" Open loop: every event published on schedule, whatever the answers." if OPEN_LOOP else "")
    )
    return result


async def run_compare(
    old: Path, levels: list[int], seconds: float, cases: list[str], probe_every: int = 1, rounds: int = 1
) -> BenchResult:
    """Each case and level with the serve processes of ``old`` (before) and of this checkout
    (after), back to back, so both see the same neighbours' load; with ``rounds`` > 1 the
    order alternates (before-after, after-before, ...) and the rounds are pooled."""
    result = BenchResult(f"serve fan-out: before ({old}) vs after (this checkout), interleaved")
    raise_fd_limit(2 * max(levels) + 1024)
    redis_url = redis_url_or_none(result) if "redis" in cases else None
    async with aiohttp.ClientSession() as http:
        for case in cases:
            for clients in levels:
                runs: dict[str, FanoutRun] = {}
                for round_ in range(rounds):
                    order = [("before", old), ("after", ROOT)]
                    for label, tree in order if round_ % 2 == 0 else order[::-1]:
                        if case == "memory":
                            run = await one_process(http, clients, seconds, tree, probe_every)
                        elif redis_url is not None:
                            run = await two_on_redis(redis_url, clients, seconds, tree, probe_every)
                        else:
                            continue
                        check(result, f"{case}, {clients:,} clients, {label}", run)
                        runs.setdefault(label, FanoutRun()).add(run)
                if not runs:
                    continue
                target = 0.100 if case == "memory" else 0.150
                what = "one process" if case == "memory" else "two processes on Redis"
                for label, run in runs.items():
                    row = latency_row(f"{what}, {clients:,} clients, {label}", target, run.latencies, [])
                    if label == "after" and "before" in runs:
                        before99 = percentile(runs["before"].latencies, 99)
                        row.baseline = f"before: p99 {ms(before99)}"
                        after99 = percentile(run.latencies, 99)
                        row.ratio = f"{after99 / before99:.2f}x" if before99 > 0 else ""
                    result.rows.append(row)
                    result.rows.append(run.arrival_row(label))
                    result.rows.append(run.cpu_row(label, clients))
    if OPEN_LOOP:
        result.notes.append("Open loop: every event published on schedule, whatever the server's answers.")
    result.notes.append(
        f"{seconds:.0f} s per case at 10 events/s; before and after run back to back"
        + (f", {rounds} rounds in alternating order, pooled." if rounds > 1 else ".")
    )
    if probe_every > 1:
        result.notes.append(
            f"Latencies of every {probe_every}th client (the probes); the others drained every 0.5 s "
            "and checked for every event once, in order."
        )
    return result


def bench(quick: bool) -> BenchResult:
    return asyncio.run(run_bench(quick))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI")
    parser.add_argument("--clients", help="comma-separated client counts, e.g. 10,1000,5000")
    parser.add_argument("--seconds", type=float, default=10.0, help="with --compare: seconds per case")
    parser.add_argument("--cases", default="memory,redis", help="with --compare: memory, redis or both")
    parser.add_argument("--rounds", type=int, default=1,
                        help="with --compare: rounds per case, alternating the order, pooled")
    parser.add_argument("--probe-every", type=int, default=1,
                        help="record latencies of every Nth client only (the rest drained in batches)")
    parser.add_argument("--open-loop", action="store_true",
                        help="publish every event on schedule, not after the previous one's answer")
    parser.add_argument("--compare", type=Path, metavar="TREE",
                        help="also run serve from TREE (a checkout of another version), interleaved")
    args = parser.parse_args()
    global OPEN_LOOP
    OPEN_LOOP = args.open_loop
    levels = [int(n) for n in args.clients.split(",")] if args.clients else None
    if args.compare is not None:
        levels = levels or [10, 1000, 5000]
        cases = args.cases.split(",")
        compare = run_compare(
            args.compare.resolve(), levels, args.seconds, cases, args.probe_every, args.rounds
        )
        result = asyncio.run(compare)
    else:
        result = asyncio.run(run_bench(args.quick, levels))
    print(render_table(result))
    sys.exit(1 if result.failures else 0)


if __name__ == "__main__":
    main()
