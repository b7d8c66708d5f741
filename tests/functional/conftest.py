"""Fixtures for functional tests against the real scripted server (tests/support/scripted_server.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.scripted_server import ScriptedServer


@pytest.fixture
async def scripted_server() -> AsyncIterator[ScriptedServer]:
    """A started ScriptedServer accepting ``DEFAULT_TOKEN``; stopped after the test."""
    scripted = ScriptedServer()
    await scripted.start()
    try:
        yield scripted
    finally:
        await scripted.close()
