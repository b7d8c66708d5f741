"""What an app showed as toasts, read through its public ``notify`` rather than Textual's internals."""

from __future__ import annotations

from typing import Any

from textual.app import App


def record_toasts(app: App[Any]) -> list[tuple[str, str]]:
    """Wrap ``app.notify`` so every toast's (title, message) is appended to the returned list."""
    shown: list[tuple[str, str]] = []
    notify = app.notify

    def recording_notify(message: str, *, title: str = "", **options: Any) -> None:
        shown.append((title, message))
        notify(message, title=title, **options)

    app.notify = recording_notify  # type: ignore[method-assign]
    return shown
