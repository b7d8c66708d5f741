"""A Static that only redraws when its text really changes."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class TextPanel(Static):
    """Base for the monitor's text panels: ``show`` is a no-op for equal text,
    so timers and refreshes cost no terminal bytes when nothing changed."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(Text(""), id=id, classes=classes)
        self._shown: Text | None = None

    def show(self, text: Text) -> bool:
        if self._shown is not None and text == self._shown:
            return False
        # A new layout pass repaints the whole screen (scrollbars included): only
        # ask for one when the panel's height can change, i.e. its line count.
        relayout = self._shown is None or _lines(text) != _lines(self._shown)
        self._shown = text
        self.update(text, layout=relayout)
        return True

    @property
    def shown_plain(self) -> str:
        return self._shown.plain if self._shown is not None else ""


def _lines(text: Text) -> int:
    return text.plain.count("\n")
