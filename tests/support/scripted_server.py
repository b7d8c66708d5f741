"""A real WebSocket + REST campaign server on 127.0.0.1, scripted per test.

One aiohttp app serves docs/PROTOCOL.md sections 2-5 on an ephemeral port::

    GET  /api/v1/campaigns                          {"campaigns": [...]}
    GET  /api/v1/campaigns/{id}                     the Campaign object
    GET  /api/v1/campaigns/{id}/events?after_seq&limit   {"events": [...], "last_seq": K}
    WS   /ws/campaigns/{id}                         live frames

Usage from a pytest-asyncio test::

    server = ScriptedServer(tokens={"good"}, forbidden_tokens={"other"})
    server.add_campaign("camp-1", events=[{...}, {...}])   # seqs 1..N assigned
    await server.start()
    settings = ConnectionSettings(server.base_url, token="good")
    await server.publish("camp-1", {...})                  # history + every client
    await server.wait_for_clients("camp-1", 1)
    await server.stop()                                     # 1012 close (abort=True: 1006)
    await server.publish("camp-1", {...})                  # recorded while down
    await server.start()                                    # same port again
    await server.close()                                    # stop for good

``ScriptedServer(ssl_context=ctx)`` serves https/wss instead (``base_url`` follows).

From a sync test, run it on its own loop in a thread::

    with ServerThread(server) as thread:
        thread.call(server.publish("camp-1", {...}))

Scripting knobs (plain attributes, change them at any time):

- ``tokens``: accepted bearer tokens (``None``: no auth at all); a missing or
  unknown token gets 401, one in ``forbidden_tokens`` gets 403.
- ``handshake_status``: answer every WS handshake with this HTTP status.
- ``close_on_accept``: ``(code, reason)``: accept the WS, then close with it.
- ``rest_status``: answer every REST request with this status (404: "this
  backend serves no REST"; 500: a broken REST).
- ``page_cap``: the most events one history page holds (tests paging).

Other helpers: ``send_raw(id, frame)`` sends a str/bytes frame to every
connected client without recording it (garbage, binary, unsequenced);
``publish(id, event, live=False)`` records without sending (makes a gap);
``set_status(id, status)`` updates the metadata; ``wait_for_clients``,
``wait_for_no_clients`` and ``wait_for_handshakes`` wait for named conditions; ``stall()`` makes current
connections stop answering pings and stop receiving frames (ping-timeout
tests; new connections are normal); counters ``ws_handshakes`` and
``rest_requests``; ``history(id)`` is the ground truth (events with seqs).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
import threading
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import WSMsgType, web

T = TypeVar("T")
DEFAULT_TOKEN = "test-token-5f3a9c"


@dataclass
class _Campaign:
    meta: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass(eq=False)
class _Client:
    campaign_id: str
    ws: web.WebSocketResponse
    request: web.Request
    stalled: bool = False


class ScriptedServer:
    """See the module docstring for the API."""

    def __init__(
        self,
        *,
        tokens: Iterable[str] | None = (DEFAULT_TOKEN,),
        forbidden_tokens: Iterable[str] = (),
        host: str = "127.0.0.1",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.tokens: set[str] | None = set(tokens) if tokens is not None else None
        self.forbidden_tokens = set(forbidden_tokens)
        self.host = host
        self.ssl_context = ssl_context  # serve https/wss (e.g. a trustme certificate)
        self.port = 0
        self.handshake_status: int | None = None
        self.close_on_accept: tuple[int, str] | None = None
        self.rest_status: int | None = None
        self.page_cap = 1000
        self.ws_handshakes = 0
        self.rest_requests = 0
        self._campaigns: dict[str, _Campaign] = {}
        self._clients: set[_Client] = set()
        self._clients_changed: asyncio.Condition | None = None  # made on its loop
        self._runner: web.AppRunner | None = None

    # ----- addresses ---------------------------------------------------------

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{self.host}:{self.port}/api/v1"

    @property
    def running(self) -> bool:
        return self._runner is not None

    # ----- campaigns ---------------------------------------------------------

    def add_campaign(
        self,
        campaign_id: str,
        meta: dict[str, Any] | None = None,
        events: Iterable[dict[str, Any]] = (),
    ) -> None:
        base = {
            "id": campaign_id,
            "name": f"Campaign {campaign_id}",
            "status": "running",
            "objectives": [{"name": "water_flux", "direction": "maximize", "unit": "L/m2/h"}],
            "max_iterations": 20,
            "batch_size": 5,
        }
        self._campaigns[campaign_id] = _Campaign({**base, **(meta or {})})
        for event in events:
            self._record(campaign_id, event)

    def set_status(self, campaign_id: str, status: str) -> None:
        self._campaigns[campaign_id].meta["status"] = status

    def history(self, campaign_id: str) -> list[dict[str, Any]]:
        return list(self._campaigns[campaign_id].events)

    def _record(self, campaign_id: str, event: dict[str, Any]) -> dict[str, Any]:
        campaign = self._campaigns[campaign_id]
        stored = {**event, "seq": len(campaign.events) + 1, "campaign_id": campaign_id}
        campaign.events.append(stored)
        return stored

    async def publish(self, campaign_id: str, event: dict[str, Any], *, live: bool = True) -> int:
        """Record ``event`` with the next seq; send it to connected clients when ``live``."""
        stored = self._record(campaign_id, event)
        if live:
            await self.send_raw(campaign_id, json.dumps(stored))
        return int(stored["seq"])

    async def send_raw(self, campaign_id: str, frame: str | bytes) -> None:
        """Send one frame to every connected, non-stalled client of the campaign."""
        for client in list(self._clients):
            if client.campaign_id != campaign_id or client.stalled or client.ws.closed:
                continue
            try:
                if isinstance(frame, bytes):
                    await client.ws.send_bytes(frame)
                else:
                    await client.ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                pass  # the client went away; it resumes from REST on reconnect

    # ----- connections -------------------------------------------------------

    def clients(self, campaign_id: str | None = None) -> int:
        return sum(1 for c in self._clients if campaign_id in (None, c.campaign_id) and not c.ws.closed)

    async def wait_for_clients(self, campaign_id: str, count: int = 1, timeout: float = 5.0) -> None:
        """Wait until ``count`` clients are connected to the campaign."""
        await self._wait(lambda: self.clients(campaign_id) >= count, timeout)

    async def wait_for_no_clients(self, campaign_id: str, timeout: float = 5.0) -> None:
        """Wait until every client of the campaign has disconnected."""
        await self._wait(lambda: self.clients(campaign_id) == 0, timeout)

    async def wait_for_handshakes(self, count: int, timeout: float = 5.0) -> None:
        await self._wait(lambda: self.ws_handshakes >= count, timeout)

    async def _wait(self, predicate: Any, timeout: float) -> None:
        condition = self._condition()
        async with condition:
            await asyncio.wait_for(condition.wait_for(predicate), timeout)

    def _condition(self) -> asyncio.Condition:
        if self._clients_changed is None:
            self._clients_changed = asyncio.Condition()
        return self._clients_changed

    async def _notify(self) -> None:
        condition = self._condition()
        async with condition:
            condition.notify_all()

    async def stall(self) -> None:
        """Current connections stop answering pings and stop getting frames."""
        for client in self._clients:
            client.stalled = True

    # ----- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        """Start serving (again, on the same port after a stop)."""
        if self._runner is not None:
            return
        app = web.Application()
        app.router.add_get("/api/v1/campaigns", self._list_campaigns)
        app.router.add_get("/api/v1/campaigns/{id}", self._get_campaign)
        app.router.add_get("/api/v1/campaigns/{id}/events", self._get_events)
        app.router.add_get("/ws/campaigns/{id}", self._websocket)
        runner = web.AppRunner(app, shutdown_timeout=0.5, handle_signals=False, access_log=None)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        site = web.SockSite(runner, sock, ssl_context=self.ssl_context)
        await site.start()
        self._runner = runner

    async def stop(self, *, abort: bool = False) -> None:
        """Stop serving: close clients with 1012 (service restart), or drop them (1006)."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        for client in list(self._clients):
            if abort:
                if client.request.transport is not None:
                    client.request.transport.abort()
            else:
                with contextlib.suppress(TimeoutError, ConnectionError, RuntimeError):
                    await asyncio.wait_for(client.ws.close(code=1012, message=b"server restarting"), 1.0)
        await runner.cleanup()
        self._clients.clear()
        await self._notify()

    async def restart(self, *, abort: bool = False) -> None:
        await self.stop(abort=abort)
        await self.start()

    async def close(self) -> None:
        await self.stop()

    async def __aenter__(self) -> ScriptedServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # ----- handlers ----------------------------------------------------------

    def _auth_status(self, request: web.Request, campaign_id: str | None) -> int | None:
        if self.tokens is not None:
            header = request.headers.get("Authorization", "")
            token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
            if token in self.forbidden_tokens:
                return 403
            if token is None or token not in self.tokens:
                return 401
        if campaign_id is not None and campaign_id not in self._campaigns:
            return 404
        return None

    def _rest_denial(self, request: web.Request, campaign_id: str | None) -> web.Response | None:
        self.rest_requests += 1
        if self.rest_status is not None:
            return web.json_response({"detail": "scripted"}, status=self.rest_status)
        status = self._auth_status(request, campaign_id)
        return web.json_response({"detail": "denied"}, status=status) if status else None

    async def _list_campaigns(self, request: web.Request) -> web.StreamResponse:
        denial = self._rest_denial(request, None)
        if denial is not None:
            return denial
        return web.json_response({"campaigns": [c.meta for c in self._campaigns.values()]})

    async def _get_campaign(self, request: web.Request) -> web.StreamResponse:
        campaign_id = request.match_info["id"]
        denial = self._rest_denial(request, campaign_id)
        if denial is not None:
            return denial
        return web.json_response(self._campaigns[campaign_id].meta)

    async def _get_events(self, request: web.Request) -> web.StreamResponse:
        campaign_id = request.match_info["id"]
        denial = self._rest_denial(request, campaign_id)
        if denial is not None:
            return denial
        try:
            after_seq = max(0, int(request.query.get("after_seq", "0")))
            limit = max(1, min(int(request.query.get("limit", "1000")), self.page_cap))
        except ValueError:
            return web.json_response({"detail": "bad query"}, status=400)
        events = self._campaigns[campaign_id].events
        # seqs are 1..N in list order, so seq > after_seq starts at index after_seq.
        page = events[after_seq : after_seq + limit]
        return web.json_response({"events": page, "last_seq": len(events)})

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        campaign_id = request.match_info["id"]
        self.ws_handshakes += 1
        await self._notify()
        status = self.handshake_status or self._auth_status(request, campaign_id)
        if status is not None:
            return web.json_response({"detail": "rejected"}, status=status)
        ws = web.WebSocketResponse(autoping=False, compress=False, max_msg_size=1 << 20)
        await ws.prepare(request)
        if self.close_on_accept is not None:
            code, reason = self.close_on_accept
            await ws.close(code=code, message=reason.encode())
            return ws
        client = _Client(campaign_id, ws, request)
        self._clients.add(client)
        await self._notify()
        try:
            async for message in ws:
                # autoping is off so that a stalled connection can ignore pings.
                if message.type is WSMsgType.PING and not client.stalled:
                    await ws.pong(message.data)
        finally:
            self._clients.discard(client)
            await self._notify()
        return ws


class ServerThread:
    """Run a ``ScriptedServer`` on its own event loop in a daemon thread (sync tests).

    ``with ServerThread(server) as thread: thread.call(server.publish(...))``.
    """

    def __init__(self, server: ScriptedServer) -> None:
        self.server = server
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="scripted-server", daemon=True)

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def __enter__(self) -> ServerThread:
        self._thread.start()
        self.call(self.server.start())
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.call(self.server.close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)
            self.loop.close()
