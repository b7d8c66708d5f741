"""``?``: what the keys do and what the marks mean."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from materia_tui.ui.keys import help_rows
from materia_tui.ui.screens.dialog import Dialog

MARKS: tuple[tuple[str, str], ...] = (
    ("★", "candidate on the Pareto front"),
    ("~name", "surrogate prediction ± uncertainty of 'name'"),
    ("← +2 · +3 cols →", "table columns out of view, left / right: ← → scroll"),
    ("◆", "Pareto front in the scatter (a line with 2 objectives)"),
    ("x", "latest evaluated batch in the scatter"),
    ("parity colours", "green |z|<=1, orange <=2, red >2, grey: no uncertainty"),
    ("● ◐ ○", "campaign tab: live, reconnecting, connecting"),
    ("✔ ✖ ■", "campaign tab: completed, failed or error, closed"),
)


def help_text() -> Text:
    text = Text()
    text.append("Keys\n", "bold underline")
    for key, meaning in help_rows():
        text.append(f"  {key:<16}", "bold")
        text.append(meaning + "\n")
    text.append("\nMarks\n", "bold underline")
    for mark, meaning in MARKS:
        text.append(f"  {mark:<16}", "bold")
        text.append(meaning + "\n")
    text.append("\nTimes are UTC. Press escape, ? or q to close.", "dim")
    return text


class HelpScreen(Dialog[None]):
    DEFAULT_CSS: ClassVar[str] = """
    #help-body {
        width: 76;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close help"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body", classes="dialog-body") as body:
            body.border_title = "materia-tui help"
            yield Static(help_text(), id="help-text")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
