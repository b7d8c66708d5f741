"""Connection settings shared by every network consumer (CLI, TUI, SDK)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from materia_tui.errors import UsageError


@dataclass(frozen=True, slots=True)
class ConnectionSettings:
    base_url: str  # REST base, e.g. https://api.matcraft.ai/api/v1
    token: str | None = field(default=None, repr=False)
    insecure: bool = False  # skip TLS verification (loudly warned by the CLI)
    ca_bundle: str | None = None
    max_retries: int | None = None  # None: retry transient failures forever
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0
    open_timeout: float = 10.0
    read_timeout: float = 60.0  # REST: longest silence while waiting for a response
    page_limit: int = 1000  # most events per history page (serve's cap)
    # History pages after the first ask for as many events as fit this many bytes at
    # the sizes seen so far: 4 MiB is ~1.5 iterations of 5,000 candidates, or the
    # whole 1,000 events of ordinary ones.
    page_bytes: int = 4 * 1024 * 1024
    # Where base_url came from and how to point elsewhere, one or two sentences the
    # CLI fills in: a live source adds them when the host name does not resolve on
    # its first connection (a new user's "no URL configured" case).
    url_origin: str = ""

    def websocket_url(self, campaign_id: str) -> str:
        """docs/PROTOCOL.md section 2: same host and port, ws(s) scheme, path at the root."""
        return websocket_url(self.base_url, campaign_id)


def websocket_url(base_url: str, campaign_id: str) -> str:
    parts = urlsplit(base_url)
    scheme = {"https": "wss", "http": "ws", "wss": "wss", "ws": "ws"}.get(parts.scheme.lower())
    if scheme is None or not parts.netloc:
        raise UsageError(f"The API URL {base_url!r} is not an http:// or https:// URL.")
    return urlunsplit((scheme, parts.netloc, f"/ws/campaigns/{campaign_id}", "", ""))


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine only: ``localhost`` or a loopback IP."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
