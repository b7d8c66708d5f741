"""Alerts through the terminal: the bell and desktop notifications.

The byte builders are pure: ``bell()``, ``osc9(text)``, ``osc777(title, body)``
and ``tmux_passthrough(seq)``. Notification text comes from the network (error
messages, campaign names), so it is stripped of everything that could end the
sequence early or start a new one: ESC, BEL, every C0/C1 control, DEL, the
bidi and invisible format characters, and ``;`` (the OSC field separator;
``OSC 9 ; 4 ; ...`` is also ConEmu's progress-bar command). Inside tmux an OSC
only reaches the outer terminal wrapped in tmux's passthrough (and tmux >= 3.3
needs ``set -g allow-passthrough on``); the bell needs no wrapping, tmux flags
the window itself.

``Alerter`` watches a ``CampaignState`` and fires once per campaign for
completion, failure, each new error and convergence. The UI calls
``observe(state)`` after applying events and shows the returned alerts as toasts.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from materia_tui.sanitize import clean
from materia_tui.state import CampaignState

ESC = "\x1b"
BEL = "\x07"
ST = ESC + "\\"
MAX_TITLE = 80
MAX_BODY = 240

NotificationProtocol = Literal["osc9", "osc777"]
AlertKind = Literal["completed", "failed", "error", "converged", "advice"]

_WHITESPACE_RE = re.compile("[\t\n\r\v\f\u2028\u2029]+")


def notification_text(text: str, max_length: int) -> str:
    """``text`` made safe inside an OSC field: one line, controls shown escaped
    exactly as everywhere else (``sanitize.clean``), and no ``;``."""
    cleaned = clean(_WHITESPACE_RE.sub(" ", text)).replace(";", ",")
    cleaned = " ".join(cleaned.split())
    if len(cleaned) > max_length:
        cleaned = cleaned[: max_length - 1] + "…"
    return cleaned


def bell() -> str:
    return BEL


def osc9(text: str) -> str:
    """``ESC ] 9 ; text BEL``: iTerm2, WezTerm, Windows Terminal, Ghostty, kitty, foot."""
    return f"{ESC}]9;{notification_text(text, MAX_BODY)}{BEL}"


def osc777(title: str, body: str) -> str:
    """``ESC ] 777 ; notify ; title ; body BEL``: VTE terminals (GNOME Terminal), urxvt, foot."""
    return f"{ESC}]777;notify;{notification_text(title, MAX_TITLE)};{notification_text(body, MAX_BODY)}{BEL}"


def tmux_passthrough(sequence: str) -> str:
    """Wrap ``sequence`` so tmux hands it to the outer terminal (ESCs doubled)."""
    return f"{ESC}Ptmux;{sequence.replace(ESC, ESC + ESC)}{ST}"


def in_tmux(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return bool(env.get("TMUX"))


def detect_protocol(env: Mapping[str, str] | None = None) -> NotificationProtocol:
    """OSC 777 for VTE and urxvt terminals, which do not show OSC 9; OSC 9 elsewhere."""
    env = os.environ if env is None else env
    term = env.get("TERM", "")
    if env.get("VTE_VERSION") or "rxvt" in term:
        return "osc777"
    return "osc9"


def desktop_notification(
    title: str,
    body: str,
    protocol: NotificationProtocol,
    *,
    tmux: bool = False,
) -> str:
    """The bytes of one desktop notification, wrapped for tmux when ``tmux``."""
    sequence = osc777(title, body) if protocol == "osc777" else osc9(f"{title}: {body}")
    return tmux_passthrough(sequence) if tmux else sequence


@dataclass(frozen=True, slots=True)
class AlertSettings:
    bell: bool = True
    desktop: bool = False  # off by default: not every terminal shows them, some print junk
    protocol: NotificationProtocol | None = None  # None: detect from the environment
    on_completed: bool = True
    on_failed: bool = True
    on_error: bool = True
    on_converged: bool = True
    on_advice: bool = True  # the stop advisor says the campaign no longer pays


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert, also for the UI's toast. ``title`` and ``body`` are plain, cleaned text."""

    kind: AlertKind
    title: str
    body: str

    @property
    def severity(self) -> Literal["information", "warning", "error"]:
        """The Textual ``notify`` severity for this alert."""
        if self.kind in ("completed", "converged", "advice"):
            return "information"
        return "warning" if self.kind == "error" else "error"


def alert_bytes(alert: Alert, settings: AlertSettings, env: Mapping[str, str] | None = None) -> str:
    """What to write to the terminal for ``alert`` under ``settings`` (may be empty)."""
    env = os.environ if env is None else env
    out = BEL if settings.bell else ""
    if settings.desktop:
        protocol = settings.protocol or detect_protocol(env)
        out += desktop_notification(alert.title, alert.body, protocol, tmux=in_tmux(env))
    return out


class Alerter:
    """Fires each alert once, from the state's transitions.

    ``write`` receives the terminal bytes (in a Textual app, the driver's
    ``write``; by default the real stdout). ``observe`` returns the new alerts
    so the caller can also show them as toasts.
    """

    def __init__(
        self,
        settings: AlertSettings | None = None,
        write: Callable[[str], None] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings or AlertSettings()
        self._write = write or _write_stdout
        self._env = dict(os.environ if env is None else env)
        self._fired: set[tuple[str, AlertKind]] = set()
        self._errors_seen: dict[str, int] = {}

    def observe(self, state: CampaignState, *, history_in: bool = False) -> list[Alert]:
        """Alert on what changed since the last call for this campaign. ``history_in``:
        the whole history is folded (the stream ended, or went live), so a completed
        campaign whose history has no ``campaign_completed`` event is announced now."""
        alerts = self._pending(state, history_in)
        for alert in alerts:
            self.emit(alert)
        return alerts

    def emit(self, alert: Alert) -> None:
        data = alert_bytes(alert, self.settings, self._env)
        if data:
            self._write(data)

    def stop_advised(self, state: CampaignState, reason: str) -> Alert | None:
        """The stop advisor says stop (once per campaign): the alert, emitted, or None."""
        if not self.settings.on_advice or not self._first(state, "advice"):
            return None
        name = notification_text(state.name or state.campaign_id, MAX_TITLE)
        alert = Alert("advice", f"{name}: consider stopping", _plain(reason))
        self.emit(alert)
        return alert

    def _pending(self, state: CampaignState, history_in: bool) -> list[Alert]:
        settings = self.settings
        name = notification_text(state.name or state.campaign_id, MAX_TITLE)
        alerts: list[Alert] = []
        seen = self._errors_seen.get(state.campaign_id, 0)
        new_errors = state.errors[seen:]
        self._errors_seen[state.campaign_id] = len(state.errors)
        if settings.on_error:
            for error in new_errors:
                if error.fatal:
                    continue  # the failure alert says it
                where = f"iteration {error.iteration}: " if error.iteration is not None else ""
                alerts.append(Alert("error", f"{name}: error", f"{where}{_plain(error.message)}"))
        if state.converged_at is not None and settings.on_converged and self._first(state, "converged"):
            alerts.append(Alert("converged", f"{name}: converged", f"at iteration {state.converged_at}"))
        # Completion is announced with the totals of its ``campaign_completed`` event: a late
        # join sees "completed" in the metadata before the history is in, when the counts
        # so far would be announced as the campaign's. A history without that event is
        # announced once it is all in, with the counts folded.
        body = _completion(state, history_in)
        if body is not None and settings.on_completed and self._first(state, "completed"):
            alerts.append(Alert("completed", f"{name}: completed", body))
        if state.status == "failed" and settings.on_failed and self._first(state, "failed"):
            last = state.errors[-1].message if state.errors else "the campaign failed"
            alerts.append(Alert("failed", f"{name}: failed", _plain(last)))
        return alerts

    def _first(self, state: CampaignState, kind: AlertKind) -> bool:
        key = (state.campaign_id, kind)
        if key in self._fired:
            return False
        self._fired.add(key)
        return True


def _completion(state: CampaignState, history_in: bool) -> str | None:
    """A completed campaign's totals, once they are known (None: not completed, or not yet)."""
    if state.status != "completed":
        return None
    if state.total_iterations is not None:
        return f"{state.total_iterations:,} iterations, {state.total_evaluations:,} evaluations"
    if history_in:
        return f"{state.completed_iterations:,} iterations, {state.evaluations:,} evaluations"
    return None


def app_writer(app: Any) -> Callable[[str], None]:
    """A ``write`` for ``Alerter`` inside a running Textual app.

    It goes through the app's driver, as Textual's own ``App.bell`` does, so
    the bytes are ordered with the app's output; a headless app (tests,
    screenshots) writes nothing.
    """

    def write(data: str) -> None:
        driver = getattr(app, "_driver", None)
        if driver is not None and not getattr(app, "is_headless", False):
            driver.write(data)

    return write


def _plain(text: str) -> str:
    return notification_text(text, MAX_BODY)


def _write_stdout(data: str) -> None:
    stream = sys.__stdout__
    if stream is None:
        return
    stream.write(data)
    stream.flush()
