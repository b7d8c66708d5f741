"""Helpers for tests of ``materia-tui serve``: waiting on conditions, collecting frames."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection

SECRET = "test-secret-" + "x" * 40


async def wait_until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``condition`` (cheaply, every 5 ms) until it holds; fail after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.005)


async def receive_until_seq(ws: ClientConnection, last_seq: int, into: list[dict[str, Any]],
                            timeout: float = 15.0) -> list[dict[str, Any]]:
    """Receive frames into ``into`` until one with ``seq >= last_seq`` arrived."""
    async with asyncio.timeout(timeout):
        while not into or into[-1].get("seq", 0) < last_seq:
            frame = await ws.recv()
            into.append(json.loads(frame))
    return into


def seqs(events: list[dict[str, Any]]) -> list[int]:
    return [e["seq"] for e in events]
