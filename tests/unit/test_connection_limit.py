from __future__ import annotations

import pytest
from aiohttp import web

from materia_tui.backend.server.app import ConnectionLimit


def test_a_token_gets_its_slots_back_when_connections_close() -> None:
    limit = ConnectionLimit(2)
    first, second = limit.acquire("token-a"), limit.acquire("token-a")
    with pytest.raises(web.HTTPTooManyRequests):
        limit.acquire("token-a")
    assert limit.acquire("token-b") is not None  # other tokens are not affected
    limit.release(first)
    assert limit.acquire("token-a") is not None
    limit.release(second)
    assert "token-a" not in repr(limit._open)  # keyed by a hash, never the token


def test_no_token_or_no_limit_means_no_bookkeeping() -> None:
    assert ConnectionLimit(2).acquire(None) is None
    unlimited = ConnectionLimit(0)
    assert all(unlimited.acquire("t") is None for _ in range(100))
