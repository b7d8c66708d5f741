"""TLS: verification on by default, a CA bundle to trust a private CA, --insecure to skip (trustme certs)."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme

from materia_tui.errors import UsageError
from materia_tui.source.rest import RestClient
from materia_tui.source.websocket import WebSocketSource
from tests.support import Collected, campaign_events, collect, fast_settings
from tests.support.scripted_server import ScriptedServer

CAMPAIGN = "camp-tls"


@pytest.fixture
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def tls_server(authority: trustme.CA) -> AsyncIterator[ScriptedServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    server = ScriptedServer(ssl_context=context)
    server.add_campaign(CAMPAIGN, events=campaign_events(iterations=2))
    await server.start()
    try:
        yield server
    finally:
        await server.close()


async def test_a_ca_bundle_makes_a_private_certificate_trusted(
    tls_server: ScriptedServer, authority: trustme.CA, tmp_path: Path
) -> None:
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    assert tls_server.base_url.startswith("https://")
    collected = await collect(
        WebSocketSource(CAMPAIGN, fast_settings(tls_server.base_url, ca_bundle=str(bundle))), Collected()
    )
    assert collected.seqs == list(range(1, len(tls_server.history(CAMPAIGN)) + 1))


async def test_an_untrusted_certificate_is_refused_by_default(tls_server: ScriptedServer) -> None:
    with pytest.raises(UsageError, match="certificate verification failed"):
        await collect(WebSocketSource(CAMPAIGN, fast_settings(tls_server.base_url)), Collected())
    async with RestClient(fast_settings(tls_server.base_url)) as rest:
        with pytest.raises(UsageError, match="certificate verification failed"):
            await rest.get_campaign(CAMPAIGN)


async def test_insecure_skips_verification(tls_server: ScriptedServer) -> None:
    settings = fast_settings(tls_server.base_url, insecure=True)
    collected = await collect(WebSocketSource(CAMPAIGN, settings), Collected())
    assert len(collected.seqs) == len(tls_server.history(CAMPAIGN))
