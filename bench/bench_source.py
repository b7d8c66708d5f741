"""Loopback intake: WebSocketSource vs a bare websockets client, same frames, same run.

The scripted server runs in a child process (its own core and GIL) and sends N
pre-serialized 5-candidate ``candidates_proposed`` frames to each client that
connects; the client side times first frame to last.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from websockets.asyncio.client import connect

from bench.common import BenchResult, Row, run_cli
from materia_tui.settings import ConnectionSettings
from materia_tui.source import EventReceived
from materia_tui.source.websocket import WebSocketSource
from tests.support import proposed
from tests.support.scripted_server import DEFAULT_TOKEN, ScriptedServer

CAMPAIGN = "camp-bench"
ROUNDS = ("bare", "source")


def frames(count: int) -> list[str]:
    out = [json.dumps({**proposed(1 + i // 10), "seq": i + 1, "campaign_id": CAMPAIGN}) for i in range(count)]
    done = {"type": "campaign_completed", "total_iterations": 1, "total_evaluations": 5, "seq": count + 1}
    return [*out, json.dumps(done)]


def serve(count: int, port_out: Any) -> None:
    async def main() -> None:
        server = ScriptedServer()
        server.add_campaign(CAMPAIGN)
        await server.start()
        port_out.put(server.port)
        payload = frames(count)
        for _ in ROUNDS:
            await server.wait_for_clients(CAMPAIGN, timeout=60)
            for frame in payload:
                await server.send_raw(CAMPAIGN, frame)
            await server.wait_for_no_clients(CAMPAIGN, timeout=120)
        await server.close()

    asyncio.run(main())


async def bare_client(url: str, count: int) -> float:
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    async with connect(url, additional_headers=headers, max_size=2**25, compression=None) as ws:
        received = 0
        started = 0.0
        async for _ in ws:
            if received == 0:
                started = time.perf_counter()
            received += 1
            if received == count + 1:
                return time.perf_counter() - started
    raise RuntimeError("the server closed early")


async def source_client(base_url: str, count: int, result: BenchResult) -> float:
    settings = ConnectionSettings(base_url, token=DEFAULT_TOKEN)
    received = 0
    started = 0.0
    seqs_in_order = True
    async for item in WebSocketSource(CAMPAIGN, settings):
        if isinstance(item, EventReceived):
            if received == 0:
                started = time.perf_counter()
            received += 1
            seqs_in_order &= item.event.seq == received
    elapsed = time.perf_counter() - started
    result.check(received == count + 1, f"source received {received} of {count + 1} events")
    result.check(seqs_in_order, "source events out of order")
    return elapsed


def bench(quick: bool) -> BenchResult:
    result = BenchResult("Loopback intake (scripted server in a child process)")
    count = 5_000 if quick else 50_000
    ports: Any = multiprocessing.get_context("spawn").Queue()
    child = multiprocessing.get_context("spawn").Process(target=serve, args=(count, ports), daemon=True)
    child.start()
    port = ports.get(timeout=30)
    base_url = f"http://127.0.0.1:{port}/api/v1"
    bare = asyncio.run(bare_client(f"ws://127.0.0.1:{port}/ws/campaigns/{CAMPAIGN}", count))
    source = asyncio.run(source_client(base_url, count, result))
    child.join(60)
    total = count + 1
    result.rows += [
        Row(
            "WebSocketSource: 5-candidate candidates_proposed frames",
            ">= 50k/s intake (with reducer)",
            f"{total / source:,.0f}/s",
            f"bare websockets recv {total / bare:,.0f}/s",
            f"{bare / source:.2f}x of bare",
        )
    ]
    result.notes.append(
        f"{total} frames of ~{len(frames(1)[0])} bytes each; parse included in the source figure."
    )
    return result


if __name__ == "__main__":
    run_cli(bench)
