"""Wait for a named condition in a Textual pilot test, never for a fixed time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot


async def wait_for(
    pilot: Pilot[Any], predicate: Callable[[], bool], timeout: float = 5.0, what: str = ""
) -> None:
    """Let the app run until ``predicate()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate!r}")
        await pilot.pause(0.01)  # hands the loop to the app; not a fixed wait for a result
    await pilot.pause()
    await asyncio.sleep(0)
