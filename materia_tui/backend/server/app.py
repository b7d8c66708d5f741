"""The aiohttp application of ``materia-tui serve`` (docs/PROTOCOL.md sections 3 and 5).

Routes (REST base ``/api/v1``)::

    GET  /api/v1/campaigns                         {"campaigns": [Campaign, ...]} (in the token's scope)
    GET  /api/v1/campaigns/{id}                    Campaign
    PUT  /api/v1/campaigns/{id}                    set metadata (publish claim)
    GET  /api/v1/campaigns/{id}/events?after_seq=N&limit=M   {"events": [...], "last_seq": K}, M <= 1000
                                                   (pages also stop at 4 MiB; gzip and JSON lines
                                                   when asked for: see pages.py)
    POST /api/v1/campaigns/{id}/events             event or JSON array (publish claim) -> {"seqs": [...]}
    GET  /ws/campaigns/{id}                        WebSocket: every live event, one text frame each

Auth: ``Authorization: Bearer <jwt>`` (the WebSocket also takes ``?token=``
for browsers). Checked in this order: 401 (no/bad/expired token), 403 (out of
the token's scope, or publishing without the ``publish`` claim), 404 (unknown
campaign). See :mod:`materia_tui.backend.server.auth` for the claims. Access logs are
off: a ``?token=`` query must never reach a log.

In-process use (``materia-tui demo``, tests)::

    bus = MemoryBus()
    server = await start_server("127.0.0.1", 0, bus=bus, auth=NoAuth())
    publisher = MemoryPublisher(bus)          # materia_tui.backend.publish
    ...                                       # server.base_url, server.port
    await server.close()                      # clients get 1001, the bus is closed
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from materia_tui.backend.server import layout
from materia_tui.backend.server.auth import AuthPolicy, Principal, TokenRejected, bearer_token
from materia_tui.backend.server.bus import MAX_PAGE, Bus, BusUnavailable, MemoryBus
from materia_tui.backend.server.fanout import CLOSE_TOKEN_EXPIRED, ClientStream, FanOut
from materia_tui.backend.server.pages import history_response
from materia_tui.protocol import is_valid_campaign_id

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 16 * 1024 * 1024
DEFAULT_QUEUE_SIZE = 1024
DEFAULT_MAX_CONNECTIONS_PER_TOKEN = 64
HEARTBEAT_SECONDS = 20.0
CLOSE_TIMEOUT_SECONDS = 5.0

BUS_KEY: web.AppKey[Bus] = web.AppKey("bus", Bus)
AUTH_KEY: web.AppKey[AuthPolicy] = web.AppKey("auth", AuthPolicy)
FANOUT_KEY: web.AppKey[FanOut] = web.AppKey("fanout", FanOut)
QUEUE_SIZE_KEY: web.AppKey[int] = web.AppKey("queue_size", int)
CONNECTION_LIMIT_KEY: web.AppKey[ConnectionLimit] = web.AppKey("connection_limit")


class ConnectionLimit:
    """Open WebSockets per token: one leaked or shared credential cannot exhaust
    the server's sockets. Keyed by a hash of the token, never the token itself."""

    def __init__(self, per_token: int) -> None:
        self.per_token = per_token
        self._open: dict[str, int] = {}

    def acquire(self, token: str | None) -> str | None:
        """The key to release later; raises 429 when the token is at its limit."""
        if token is None or self.per_token <= 0:
            return None  # --no-auth, or no limit
        key = hashlib.sha256(token.encode()).hexdigest()
        if self._open.get(key, 0) >= self.per_token:
            raise _json_error(web.HTTPTooManyRequests, f"at most {self.per_token} open connections per token")
        self._open[key] = self._open.get(key, 0) + 1
        return key

    def release(self, key: str | None) -> None:
        if key is None:
            return
        left = self._open.get(key, 1) - 1
        if left > 0:
            self._open[key] = left
        else:
            self._open.pop(key, None)


@web.middleware
async def bus_unavailable_is_503(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except BusUnavailable:
        log.warning("%s %s: the event bus (Redis) is unavailable; answered 503", request.method, request.path)
        raise _json_error(
            web.HTTPServiceUnavailable, "the event bus is unavailable; retry shortly", **{"Retry-After": "1"}
        ) from None


def _json_error(cls: type[web.HTTPError], message: str, **headers: str) -> web.HTTPError:
    return cls(text=json.dumps({"error": message}), content_type="application/json", headers=headers)


def _request_token(request: web.Request, *, allow_query_token: bool = False) -> str | None:
    token = bearer_token(request.headers.get("Authorization"))
    if token is None and allow_query_token:
        token = request.query.get("token") or None
    return token


def _principal(request: web.Request, *, allow_query_token: bool = False) -> Principal:
    token = _request_token(request, allow_query_token=allow_query_token)
    try:
        return request.app[AUTH_KEY].authenticate(token)
    except TokenRejected as exc:
        raise _json_error(web.HTTPUnauthorized, str(exc), **{"WWW-Authenticate": "Bearer"}) from None


def _campaign_id(request: web.Request, principal: Principal, *, publishing: bool = False) -> str:
    campaign_id = request.match_info["campaign_id"]
    if not is_valid_campaign_id(campaign_id):
        raise _json_error(web.HTTPNotFound, "no such campaign")
    if not principal.may_watch(campaign_id):
        raise _json_error(web.HTTPForbidden, "this token is not allowed to see this campaign")
    if publishing and not principal.may_publish:
        raise _json_error(web.HTTPForbidden, "this token may not publish (no 'publish' claim)")
    return campaign_id


async def _existing_campaign(request: web.Request, campaign_id: str) -> dict[str, Any]:
    meta = await request.app[BUS_KEY].get_campaign(campaign_id)
    if meta is None:
        raise _json_error(web.HTTPNotFound, "no such campaign")
    return meta


async def list_campaigns(request: web.Request) -> web.Response:
    principal = _principal(request)
    campaigns = await request.app[BUS_KEY].list_campaigns()
    visible = [c for c in campaigns if isinstance(c.get("id"), str) and principal.may_watch(c["id"])]
    return web.json_response({"campaigns": visible})


async def get_campaign(request: web.Request) -> web.Response:
    principal = _principal(request)
    campaign_id = _campaign_id(request, principal)
    return web.json_response(await _existing_campaign(request, campaign_id))


async def put_campaign(request: web.Request) -> web.Response:
    principal = _principal(request)
    campaign_id = _campaign_id(request, principal, publishing=True)
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise _json_error(web.HTTPBadRequest, "the body must be a Campaign object")
    if body.setdefault("id", campaign_id) != campaign_id:
        raise _json_error(web.HTTPBadRequest, "the body's id differs from the URL's")
    try:
        _, meta_json = layout.campaign_json(body)
    except layout.InvalidCampaign as exc:
        raise _json_error(web.HTTPBadRequest, str(exc)) from None
    await request.app[BUS_KEY].set_campaign(campaign_id, meta_json)
    return web.Response(text=meta_json, content_type="application/json")


def _int_query(request: web.Request, name: str, default: int, low: int) -> int:
    text = request.query.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise _json_error(web.HTTPBadRequest, f"{name} must be an integer") from None
    if value < low:
        raise _json_error(web.HTTPBadRequest, f"{name} must be >= {low}")
    return value


async def get_events(request: web.Request) -> web.Response:
    principal = _principal(request)
    campaign_id = _campaign_id(request, principal)
    after_seq = _int_query(request, "after_seq", 0, 0)
    limit = min(_int_query(request, "limit", MAX_PAGE, 1), MAX_PAGE)
    await _existing_campaign(request, campaign_id)
    page = await request.app[BUS_KEY].history(campaign_id, after_seq, limit)
    return await history_response(request, page)
async def post_events(request: web.Request) -> web.Response:
    principal = _principal(request)
    campaign_id = _campaign_id(request, principal, publishing=True)
    body = await _json_body(request)
    events = body if isinstance(body, list) else [body]
    if not events:
        raise _json_error(web.HTTPBadRequest, "no events in the body")
    now = layout.utc_now_iso()
    bodies: list[str] = []
    for index, event in enumerate(events):
        try:
            bodies.append(layout.event_body(campaign_id, event, now=now))
        except layout.InvalidEvent as exc:
            raise _json_error(web.HTTPBadRequest, f"event {index}: {exc}") from None
    seqs = await request.app[BUS_KEY].publish(campaign_id, bodies)
    return web.json_response({"seqs": seqs})


async def _json_body(request: web.Request) -> Any:
    try:
        return json.loads(await request.text())
    except ValueError:
        raise _json_error(web.HTTPBadRequest, "the body is not JSON") from None


async def websocket(request: web.Request) -> web.StreamResponse:
    principal = _principal(request, allow_query_token=True)
    campaign_id = _campaign_id(request, principal)
    await _existing_campaign(request, campaign_id)
    limit = request.app[CONNECTION_LIMIT_KEY]
    slot = limit.acquire(_request_token(request, allow_query_token=True))
    try:
        return await _serve_websocket(request, campaign_id, principal)
    finally:
        limit.release(slot)


async def _serve_websocket(
    request: web.Request, campaign_id: str, principal: Principal
) -> web.StreamResponse:
    ws = web.WebSocketResponse(
        heartbeat=HEARTBEAT_SECONDS,
        compress=False,  # per-client deflate would cost CPU on every frame of a fan-out
        max_msg_size=64 * 1024,  # clients have nothing large to say
        timeout=CLOSE_TIMEOUT_SECONDS,
    )
    await ws.prepare(request)
    fanout = request.app[FANOUT_KEY]
    client = ClientStream(ws, request, campaign_id, request.app[QUEUE_SIZE_KEY])
    fanout.add(client)
    expiry = _close_on_expiry(client, principal)
    try:
        async for _message in ws:
            pass  # clients only listen; pings and closes are handled by aiohttp
    finally:
        if expiry is not None:
            expiry.cancel()
        fanout.remove(client)
        await client.stop()
    return ws


def _close_on_expiry(client: ClientStream, principal: Principal) -> asyncio.TimerHandle | None:
    if principal.expires_at is None:
        return None
    delay = max(0.0, principal.expires_at - time.time())
    return asyncio.get_running_loop().call_later(
        delay, client.close_soon, CLOSE_TOKEN_EXPIRED, "token expired"
    )


def build_app(
    bus: Bus,
    auth: AuthPolicy,
    *,
    queue_size: int = DEFAULT_QUEUE_SIZE,
    max_connections_per_token: int = DEFAULT_MAX_CONNECTIONS_PER_TOKEN,
) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[bus_unavailable_is_503])
    app[CONNECTION_LIMIT_KEY] = ConnectionLimit(max_connections_per_token)
    app[BUS_KEY] = bus
    app[AUTH_KEY] = auth
    app[FANOUT_KEY] = FanOut()
    app[QUEUE_SIZE_KEY] = queue_size
    app.router.add_get(f"{API_PREFIX}/campaigns", list_campaigns)
    app.router.add_get(f"{API_PREFIX}/campaigns/{{campaign_id}}", get_campaign)
    app.router.add_put(f"{API_PREFIX}/campaigns/{{campaign_id}}", put_campaign)
    app.router.add_get(f"{API_PREFIX}/campaigns/{{campaign_id}}/events", get_events)
    app.router.add_post(f"{API_PREFIX}/campaigns/{{campaign_id}}/events", post_events)
    app.router.add_get("/ws/campaigns/{campaign_id}", websocket)
    return app


@dataclass
class RunningServer:
    """A server started by :func:`start_server`; ``close()`` stops it."""

    host: str
    port: int
    bus: Bus
    fanout: FanOut
    _runner: web.AppRunner = field(repr=False)
    _closed: bool = field(default=False, repr=False)

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The REST base URL, e.g. ``http://127.0.0.1:8765/api/v1``."""
        return f"{self.origin}{API_PREFIX}"

    def websocket_url(self, campaign_id: str) -> str:
        return f"ws{self.origin[4:]}/ws/campaigns/{campaign_id}"

    async def close(self) -> None:
        """Close every client with 1001, stop listening, close the bus. Idempotent."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.fanout.close_all(), CLOSE_TIMEOUT_SECONDS + 1)
        await self._runner.cleanup()
        await self.bus.close()


async def start_server(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    bus: Bus | None = None,
    auth: AuthPolicy,
    queue_size: int = DEFAULT_QUEUE_SIZE,
    max_connections_per_token: int = DEFAULT_MAX_CONNECTIONS_PER_TOKEN,
) -> RunningServer:
    """Serve ``bus`` on ``host:port`` (0: an ephemeral port) until ``close()``.

    ``bus`` defaults to a fresh :class:`MemoryBus`; it is started here and
    closed by ``close()``. ``auth`` is a ``JwtAuth`` or ``NoAuth``;
    ``queue_size`` is how many frames a client may lag before it is closed
    with 1013; ``max_connections_per_token`` caps the WebSockets one token may
    hold open at once (429 beyond it; 0: no cap).
    """
    bus = bus if bus is not None else MemoryBus()
    app = build_app(bus, auth, queue_size=queue_size, max_connections_per_token=max_connections_per_token)
    fanout = app[FANOUT_KEY]
    try:
        await bus.start(fanout)
    except BaseException:
        await bus.close()
        raise
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
    except BaseException:
        await runner.cleanup()
        await bus.close()
        raise
    bound_port = _bound_port(runner, port)
    return RunningServer(host=host, port=bound_port, bus=bus, fanout=fanout, _runner=runner)


def _bound_port(runner: web.AppRunner, requested: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return requested
