"""A box centred over the monitor: the help, the export form and the campaign picker."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual.screen import ModalScreen

ResultType = TypeVar("ResultType")


class Dialog(ModalScreen[ResultType]):
    """Its body is the child with the class ``dialog-body`` (a subclass sets its width)."""

    DEFAULT_CSS: ClassVar[str] = """
    Dialog {
        align: center middle;
    }
    Dialog .dialog-body {
        max-width: 100%;
        height: auto;
        max-height: 90%;
        border: round $accent;
        background: $surface;
        padding: 0 1;
    }
    """
