"""How a WebSocket connection failed, as the source reports it: a transient failure
(reconnect) or a final error (auth, not found), one sentence each, never the token."""

from __future__ import annotations

from urllib.parse import urlsplit

from websockets.exceptions import ConnectionClosed

from materia_tui.sanitize import clean
from materia_tui.source.rest import http_status_error

FINAL_CLOSE_CODES = {4401: 401, 4403: 403, 4404: 404}
REASON_MAX_CHARS = 120


class TransientFailure(Exception):
    """This connection is lost; reconnect after a backoff. ``detail`` is one safe sentence."""

    def __init__(self, detail: str, unresolved_host: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.unresolved_host = unresolved_host


def unresolved_host_failure(ws_url: str, shown_url: str, origin: str | None) -> TransientFailure:
    """A host name that does not resolve; ``origin`` (before any connection worked) says
    where the URL came from and how to change it (``settings.url_origin``)."""
    host = clean(urlsplit(ws_url).hostname or "", 100)
    if origin:
        detail = f"The host name {host} does not resolve: {clean(origin, 300)}"
    else:
        detail = f"The host name {host} does not resolve ({shown_url})."
    return TransientFailure(detail, unresolved_host=host)


def closed_error(
    error: BaseException, ws_url: str, shown_url: str, campaign_id: str, token: str | None
) -> Exception:
    """What a closed connection means: a final error for 4401/4403/4404, else a reconnect."""
    if not isinstance(error, ConnectionClosed):
        return TransientFailure(f"The connection to {shown_url} failed ({type(error).__name__}).")
    if error.rcvd is not None:
        code, reason = error.rcvd.code, error.rcvd.reason
    elif error.sent is not None:
        code, reason = error.sent.code, error.sent.reason
    else:
        code, reason = 1006, "no close frame"
    status = FINAL_CLOSE_CODES.get(code)
    if status is not None:
        return http_status_error(status, ws_url, f"campaign {campaign_id!r}", how=f"close code {code}")
    why = f": {scrub(reason, token)}" if reason else ""
    return TransientFailure(f"The connection to {shown_url} closed with code {code}{why}.")


def scrub(text: str, token: str | None) -> str:
    """A server-sent string made safe to show; a server echoing the token gets it masked."""
    if token and len(token) >= 4:
        text = text.replace(token, "[token]")
    return clean(text, REASON_MAX_CHARS)
