"""Secrets and TLS end to end: the token never shows, certificates are checked.

The token must not appear in stdout, stderr, logs (even at DEBUG), exception
texts and reprs, recordings, or the process list (when it comes from the
environment or a token file). TLS is verified by default against a private
CA made by trustme: a bad certificate is one clear sentence and exit code 2,
``--ca-bundle`` trusts the CA, ``--insecure`` works and warns loudly.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import ssl
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme

from materia_tui.backend.publish import MemoryPublisher
from materia_tui.backend.server.app import RunningServer, start_server
from materia_tui.backend.server.auth import JwtAuth
from materia_tui.backend.server.bus import MemoryBus
from materia_tui.client import AsyncClient, Client
from materia_tui.errors import AuthError, MateriaError
from materia_tui.source.rest import RestClient
from materia_tui.source.settings import ConnectionSettings
from materia_tui.source.websocket import WebSocketSource
from tests.support import Collected, collect, fast_settings
from tests.support.campaigns import campaign_events, campaign_meta
from tests.support.scripted_server import ScriptedServer

CAMPAIGN = "camp-secret"
SECRET = "s3cr3t-token-7Qx9-do-not-print"
EXE = str(Path(sys.executable).with_name("materia-tui"))


def script() -> list[dict[str, object]]:
    return [{k: v for k, v in e.items() if k != "seq"} for e in campaign_events(2, iterations=2, campaign_id=CAMPAIGN)]


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    scripted = ScriptedServer(tokens={SECRET})
    scripted.add_campaign(CAMPAIGN, meta=campaign_meta(CAMPAIGN, iterations=2), events=script()[:-1])
    await scripted.start()
    try:
        yield scripted
    finally:
        await scripted.close()


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATERIA_")}
    env["MATERIA_CONFIG"] = "/nonexistent/materia-tui.toml"
    env.update(extra)
    return env


async def spawn(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        EXE, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL, env=env,
    )


async def finish(proc: asyncio.subprocess.Process, timeout: float = 30) -> tuple[int, str, str]:
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def process_list_entries(pid: int) -> str:
    """What `ps` shows of this process and its children: their command lines."""
    seen = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        parent = next((line.split()[1] for line in status.splitlines() if line.startswith("PPid:")), "")
        if entry.name == str(pid) or parent == str(pid):
            seen.append(cmdline)
    assert seen, "the process was not found in /proc"
    return "\n".join(seen)


@pytest.mark.parametrize("via", ["env", "token-file"])
async def test_token_never_in_output_record_or_process_list(server: ScriptedServer, tmp_path: Path, via: str) -> None:
    record = tmp_path / "watch.jsonl"
    args = ["watch", CAMPAIGN, "--plain", "--url", server.base_url, "--record", str(record)]
    if via == "env":
        env = cli_env(MATERIA_TOKEN=SECRET)
    else:
        token_file = tmp_path / "token"
        token_file.write_text(SECRET + "\n")
        token_file.chmod(0o600)
        env = cli_env()
        args += ["--token-file", str(token_file)]
    proc = await spawn(*args, env=env)
    await server.wait_for_clients(CAMPAIGN, timeout=15)
    listed = process_list_entries(proc.pid)
    # A close reason that echoes the token (a careless server) is masked too.
    await server.stop()
    server.close_on_accept = (1011, f"bad token {SECRET}")
    await server.start()
    await server.wait_for_handshakes(3, timeout=15)
    server.close_on_accept = None
    await server.wait_for_clients(CAMPAIGN, timeout=15)
    await server.publish(CAMPAIGN, script()[-1])
    code, out, err = await finish(proc)

    assert code == 0, err
    assert "materia-tui" in listed and SECRET not in listed
    assert "bad token [token]" in err  # the echo was shown, masked
    assert SECRET not in out and SECRET not in err
    assert record.exists() and SECRET not in record.read_text()
    assert out.splitlines()[-1] == "Done! 2 iterations, 6 evaluations"


async def test_a_token_file_readable_by_others_is_warned_about(server: ScriptedServer, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(SECRET)
    token_file.chmod(0o644)
    proc = await spawn("watch", CAMPAIGN, "--plain", "--url", server.base_url, "--token-file", str(token_file),
                       env=cli_env())
    await server.wait_for_clients(CAMPAIGN, timeout=15)
    await server.publish(CAMPAIGN, script()[-1])
    code, out, err = await finish(proc)
    assert code == 0, err
    assert f"the token file {token_file} is readable by others; run: chmod 600 {token_file}" in err
    assert SECRET not in out + err


async def test_rejected_token_is_exit_3_with_one_sentence_and_no_token(server: ScriptedServer) -> None:
    wrong = SECRET[::-1]
    code, out, err = await finish(await spawn("watch", CAMPAIGN, "--plain", "--url", server.base_url,
                                              env=cli_env(MATERIA_TOKEN=wrong)))
    assert code == 3
    assert len(err.strip().splitlines()) == 1 and "check the token" in err
    assert wrong not in out + err


async def test_debug_logging_never_carries_the_token(server: ScriptedServer, caplog: pytest.LogCaptureFixture) -> None:
    """websockets logs every handshake header at DEBUG: the Authorization one must be masked."""
    caplog.set_level(logging.DEBUG)
    server.close_on_accept = None
    source = WebSocketSource(CAMPAIGN, fast_settings(server.base_url, token=SECRET))
    collected = Collected()
    consumer = asyncio.create_task(collect(source, collected))
    await server.wait_for_clients(CAMPAIGN)
    await server.publish(CAMPAIGN, script()[-1])
    await consumer
    messages = [record.getMessage() for record in caplog.records]
    assert any("Authorization" in m for m in messages), "websockets debug logging was not exercised"
    assert not [m for m in messages if SECRET in m]


async def test_reprs_and_exceptions_never_carry_the_token(server: ScriptedServer) -> None:
    settings = ConnectionSettings(server.base_url, token=SECRET)
    rest = RestClient(settings)
    async with AsyncClient(server.base_url, token=SECRET) as client:
        texts = [repr(settings), str(settings), repr(rest), repr(WebSocketSource(CAMPAIGN, settings)), repr(client)]
    await rest.aclose()
    with Client(server.base_url, token=SECRET) as sync_client:
        texts.append(repr(sync_client))
    server.tokens = {"another"}
    with pytest.raises(AuthError) as caught:
        await collect(WebSocketSource(CAMPAIGN, fast_settings(server.base_url, token=SECRET)), Collected())
    texts += [str(caught.value), repr(caught.value), caught.value.message]
    assert all(SECRET not in text for text in texts), [t for t in texts if SECRET in t]
    assert isinstance(caught.value, MateriaError)


# ----- TLS, end to end through the CLI ------------------------------------------


@pytest.fixture
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def tls_server(authority: trustme.CA) -> AsyncIterator[ScriptedServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    scripted = ScriptedServer(tokens={SECRET}, ssl_context=context)
    scripted.add_campaign(CAMPAIGN, meta=campaign_meta(CAMPAIGN, iterations=2), events=script())
    await scripted.start()
    try:
        yield scripted
    finally:
        await scripted.close()


async def test_tls_is_verified_by_default_with_one_clear_sentence(tls_server: ScriptedServer) -> None:
    code, out, err = await finish(await spawn("watch", CAMPAIGN, "--plain", "--url", tls_server.base_url,
                                              env=cli_env(MATERIA_TOKEN=SECRET)))
    assert code == 2
    lines = err.strip().splitlines()
    assert lines == [
        f"materia-tui: TLS certificate verification failed for {tls_server.base_url}/campaigns/{CAMPAIGN}; "
        "pass a CA bundle, or --insecure if you trust this network."
    ] or (len(lines) == 1 and "TLS certificate verification failed" in lines[0]), err
    assert out == "" and SECRET not in err


async def test_ca_bundle_trusts_the_private_ca(tls_server: ScriptedServer, authority: trustme.CA, tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    code, out, err = await finish(await spawn("watch", CAMPAIGN, "--plain", "--url", tls_server.base_url,
                                              "--ca-bundle", str(bundle), env=cli_env(MATERIA_TOKEN=SECRET)))
    assert code == 0, err
    assert err == "" and out.splitlines()[-1] == "Done! 2 iterations, 6 evaluations"


async def test_insecure_works_and_warns_loudly(tls_server: ScriptedServer) -> None:
    code, out, err = await finish(await spawn("watch", CAMPAIGN, "--plain", "--url", tls_server.base_url,
                                              "--insecure", env=cli_env(MATERIA_TOKEN=SECRET)))
    assert code == 0, err
    assert err.startswith("WARNING: TLS certificate verification is OFF (--insecure)")
    assert out.splitlines()[-1] == "Done! 2 iterations, 6 evaluations"
    assert SECRET not in out + err


async def test_a_missing_ca_bundle_is_a_usage_error(tls_server: ScriptedServer, tmp_path: Path) -> None:
    code, _, err = await finish(await spawn("watch", CAMPAIGN, "--plain", "--url", tls_server.base_url,
                                            "--ca-bundle", str(tmp_path / "nope.pem"),
                                            env=cli_env(MATERIA_TOKEN=SECRET)))
    assert code == 2 and "does not exist" in err


# ----- `materia-tui serve`: access control and limits, with the real client ------

SERVE_SECRET = ("serve-secret-" + "k" * 40).encode()
Serve = tuple[RunningServer, MemoryPublisher]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    bus = MemoryBus()
    running = await start_server("127.0.0.1", 0, bus=bus, auth=JwtAuth(SERVE_SECRET))
    publisher = MemoryPublisher(bus)
    await publisher.set_metadata(campaign_meta(CAMPAIGN, iterations=2))
    await publisher.set_metadata(campaign_meta("camp-other", iterations=2))
    try:
        yield running, publisher
    finally:
        await running.close()


def hs512(claims: dict[str, object]) -> str:
    import warnings

    import jwt

    with warnings.catch_warnings():  # PyJWT warns that the key is short for SHA-512: the point here
        warnings.simplefilter("ignore")
        return jwt.encode(claims, SERVE_SECRET, algorithm="HS512")


def forged_tokens() -> dict[str, str]:
    import base64
    import json as json_module
    import time

    import jwt

    def b64(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json_module.dumps(data).encode()).rstrip(b"=").decode()

    claims = {"campaigns": "*", "publish": True}
    return {
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}.",
        "other secret": jwt.encode(claims, b"x" * 40, algorithm="HS256"),
        "HS512 same secret": hs512(claims),
        "expired": jwt.encode({**claims, "exp": int(time.time()) - 60}, SERVE_SECRET, algorithm="HS256"),
        "garbage": "not.a.jwt",
        "empty bearer": "",
    }


ENDPOINTS = [
    ("GET", "/campaigns"),
    ("GET", f"/campaigns/{CAMPAIGN}"),
    ("PUT", f"/campaigns/{CAMPAIGN}"),
    ("GET", f"/campaigns/{CAMPAIGN}/events"),
    ("POST", f"/campaigns/{CAMPAIGN}/events"),
]


async def test_serve_refuses_forged_expired_and_missing_tokens_on_every_endpoint(
    serve: Serve,
) -> None:
    import aiohttp
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    running = serve[0]
    base_url = running.base_url
    tokens: dict[str, str | None] = {"no header": None, **forged_tokens()}
    async with aiohttp.ClientSession() as http:
        for name, token in tokens.items():
            headers = {} if token is None else {"Authorization": f"Bearer {token}"}
            for method, path in ENDPOINTS:
                body = json.dumps({"type": "convergence_update", "metric": 1.0, "converged": False})
                async with http.request(method, base_url + path, headers=headers, data=body) as response:
                    assert response.status == 401, (name, method, path, response.status)
            with pytest.raises(InvalidStatus) as caught:
                async with connect(running.websocket_url(CAMPAIGN), additional_headers=headers):
                    pass
            assert caught.value.response.status_code == 401, name


async def test_serve_scopes_hold_on_rest_websocket_and_publishing(serve: Serve) -> None:
    import aiohttp

    running = serve[0]
    base_url = running.base_url
    auth = JwtAuth(SERVE_SECRET)
    other_only = auth.mint(campaigns=["camp-other"], publish=True)
    reader = auth.mint(campaigns=[CAMPAIGN])
    event = json.dumps({"type": "convergence_update", "metric": 1.0, "converged": False})
    async with aiohttp.ClientSession() as http:
        for method, path in ENDPOINTS[1:]:
            headers = {"Authorization": f"Bearer {other_only}"}
            async with http.request(method, base_url + path, headers=headers, data=event) as response:
                assert response.status == 403, (method, path)
        for method, path in (("PUT", f"/campaigns/{CAMPAIGN}"), ("POST", f"/campaigns/{CAMPAIGN}/events")):
            async with http.request(method, base_url + path, headers={"Authorization": f"Bearer {reader}"},
                                    data=event) as response:
                assert response.status == 403, ("a read-only token published", method, path)
    # The real client: one sentence, exit-code class AuthError, no token in it.
    with pytest.raises(AuthError) as caught:
        await collect(WebSocketSource(CAMPAIGN, fast_settings(base_url, token=other_only)), Collected())
    assert other_only not in str(caught.value) and "not allowed" in str(caught.value)


async def test_serve_token_expiring_mid_stream_ends_the_client_with_an_auth_error(
    serve: Serve,
) -> None:
    running, publisher = serve
    token = JwtAuth(SERVE_SECRET, leeway=0).mint(ttl_seconds=1.5)
    source = WebSocketSource(CAMPAIGN, fast_settings(running.base_url, token=token))
    collected = Collected()
    with pytest.raises(AuthError, match="4401"):
        await collect(source, collected, timeout=15)
    assert "reconnecting" not in collected.statuses  # final, not a reconnect loop
    assert publisher is serve[1]


async def test_serve_limits_message_and_body_sizes(serve: Serve) -> None:
    import aiohttp
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    running = serve[0]
    token = JwtAuth(SERVE_SECRET).mint(publish=True)
    headers = {"Authorization": f"Bearer {token}"}
    async with connect(running.websocket_url(CAMPAIGN), additional_headers=headers) as ws:
        await ws.send("x" * (1 << 20))  # clients have nothing large to say
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
    assert ws.close_code == 1009
    async with aiohttp.ClientSession() as http:
        huge = b"[" + b"1," * (9 * 2**20) + b"1]"
        url = f"{running.base_url}/campaigns/{CAMPAIGN}/events"
        async with http.post(url, headers=headers, data=huge) as response:
            assert response.status == 413


async def test_serve_limits_connections_per_client(serve: Serve) -> None:
    from websockets.asyncio.client import ClientConnection, connect
    from websockets.exceptions import InvalidStatus

    running = serve[0]
    token = JwtAuth(SERVE_SECRET).mint()
    opened: list[ClientConnection] = []
    refused = 0
    try:
        for _ in range(300):
            try:
                opened.append(await connect(running.websocket_url(CAMPAIGN),
                                            additional_headers={"Authorization": f"Bearer {token}"}))
            except InvalidStatus:
                refused += 1
    finally:
        await asyncio.gather(*(ws.close() for ws in opened), return_exceptions=True)
    assert refused > 0, f"one token held {len(opened)} WebSocket connections at once"


async def test_serve_never_logs_a_query_token(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    from websockets.asyncio.client import connect

    caplog.set_level(logging.DEBUG)
    running = serve[0]
    token = JwtAuth(SERVE_SECRET).mint()
    async with connect(f"{running.websocket_url(CAMPAIGN)}?token={token}"):
        pass
    logged = [r.getMessage() for r in caplog.records if not r.name.startswith("websockets.client")]
    assert not [m for m in logged if token in m]
