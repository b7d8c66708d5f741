"""``serve`` on uvloop: picked when installed (``--loop auto``), forced or refused with
``--loop``, and the fan-out's direct-write path holding on uvloop's transports (order,
completeness, the 1013 close of a laggard). Real serve processes and real sockets on
127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import connect

from materia_tui.backend.publish import MemoryPublisher
from materia_tui.backend.server.app import start_server
from materia_tui.backend.server.auth import NoAuth
from materia_tui.backend.server.bus import MemoryBus
from tests.functional import test_server_fanout_direct as direct
from tests.support.campaigns import campaign_meta
from tests.support.serve_process import ServeProcess, start_serve
from tests.support.server_helpers import receive_until_seq, seqs

uvloop = pytest.importorskip("uvloop", reason="the 'fast' extra (uvloop) is not installed")

CAMPAIGN = "camp-loop"


def _mapped_uvloop(pid: int) -> bool:
    """uvloop's extension module is loaded in process ``pid``."""
    return "uvloop/loop." in Path(f"/proc/{pid}/maps").read_text()


async def _stream_through(serve: ServeProcess, count: int, clients: int = 3) -> list[list[dict[str, Any]]]:
    """``count`` events published over HTTP to ``clients`` WebSocket clients of ``serve``;
    what each received."""
    url = f"ws://127.0.0.1:{serve.port}/ws/campaigns/{CAMPAIGN}"
    async with aiohttp.ClientSession() as http:
        async with http.put(f"{serve.base_url}/campaigns/{CAMPAIGN}", json=campaign_meta(CAMPAIGN)) as r:
            r.raise_for_status()
        sockets = [await connect(url, max_size=None) for _ in range(clients)]
        try:
            received: list[list[dict[str, Any]]] = [[] for _ in sockets]
            readers = [
                asyncio.create_task(receive_until_seq(ws, count, into, timeout=60))
                for ws, into in zip(sockets, received, strict=True)
            ]
            for index in range(count):
                # Every 10th event is large (~100 KB): more than one write's worth for the kernel.
                size = 100_000 if index % 10 == 9 else 50
                event = {"type": "campaign_error", "error": "x" * size, "iteration": index + 1, "fatal": False}
                async with http.post(f"{serve.base_url}/campaigns/{CAMPAIGN}/events", json=event) as r:
                    r.raise_for_status()
            await asyncio.gather(*readers)
        finally:
            await asyncio.gather(*(ws.close() for ws in sockets))
    return received


async def test_serve_runs_on_uvloop_when_installed_and_streams_every_event() -> None:
    serve = await start_serve("--no-auth", "--log-level", "info")
    try:
        assert "event loop: uvloop" in serve.stderr_text()
        assert _mapped_uvloop(serve.process.pid)
        received = await _stream_through(serve, 200)
        for events in received:
            assert seqs(events) == list(range(1, 201)), "lost, repeated or reordered frames"
        assert "Traceback" not in serve.stderr_text()
    finally:
        assert await serve.stop() == 0


async def test_loop_asyncio_keeps_asyncio() -> None:
    serve = await start_serve("--no-auth", "--log-level", "info", "--loop", "asyncio")
    try:
        assert "event loop: asyncio" in serve.stderr_text()
        assert not _mapped_uvloop(serve.process.pid)
        received = await _stream_through(serve, 30, clients=2)
        assert all(seqs(events) == list(range(1, 31)) for events in received)
    finally:
        assert await serve.stop() == 0


@pytest.fixture
def without_uvloop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Child processes cannot import uvloop (a module of that name that fails to import
    comes first on their path), as on a machine without the 'fast' extra."""
    (tmp_path / "uvloop.py").write_text('raise ImportError("uvloop hidden by the test")\n')
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])))


@pytest.mark.usefixtures("without_uvloop")
async def test_without_uvloop_auto_falls_back_to_asyncio_and_loop_uvloop_is_refused() -> None:
    serve = await start_serve("--no-auth", "--log-level", "info")
    try:
        assert "event loop: asyncio" in serve.stderr_text()
        received = await _stream_through(serve, 20, clients=1)
        assert seqs(received[0]) == list(range(1, 21))
    finally:
        assert await serve.stop() == 0
    refused = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "materia_tui", "serve", "--no-auth", "--port", "0", "--loop", "uvloop"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode == 2
    assert "materia-tui[fast]" in refused.stderr and "Traceback" not in refused.stderr


# The fan-out's own tests (direct writes, queue, 1013), run again on uvloop's loop and
# transports: flow control and partial writes are the loop's, not aiohttp's.

async def _with_server(test: Callable[..., Awaitable[None]], bus: MemoryBus) -> None:
    server = await start_server("127.0.0.1", 0, bus=bus, auth=NoAuth(), queue_size=100_000)
    try:
        await test(server, bus)
    finally:
        await server.close()


@pytest.mark.parametrize(
    "name",
    [
        "test_websockets_client_decodes_direct_frames_of_every_length_class",
        "test_direct_writes_wait_behind_queued_frames_of_a_slow_reader",
        "test_a_laggard_of_small_frames_is_closed_with_1013_and_the_others_get_everything",
        "test_a_client_that_vanishes_mid_stream_does_not_disturb_the_others",
    ],
)
def test_fanout_on_uvloop(name: str) -> None:
    test = getattr(direct, name)

    async def body() -> None:
        assert "uvloop" in type(asyncio.get_running_loop()).__module__
        bus = MemoryBus()
        await MemoryPublisher(bus).set_metadata(campaign_meta(direct.CAMPAIGN))
        if "server" in test.__code__.co_varnames[: test.__code__.co_argcount]:
            await _with_server(test, bus)
        else:
            await test(bus)

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(body())

