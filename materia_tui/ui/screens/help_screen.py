"""``?``: what the keys do and what the marks mean."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS: tuple[tuple[str, str], ...] = (
    ("q", "quit (exit code 1 if the campaign failed, else 0)"),
    ("space", "pause / resume the display (the stream is still consumed)"),
    ("?", "this help"),
    ("ctrl+p", "command palette"),
    ("1-4", "show a section: overview, candidates, Pareto, log (narrow terminals)"),
    ("l", "show / hide the event log"),
    ("s", "sort the candidates by the next column (arrival order after the last)"),
    ("r", "reverse the sort order"),
    ("f", "filter candidates: all, Pareto only, current iteration, failed + infeasible"),
    ("t", "follow the newest candidate on / off"),
    ("x / y", "cycle the Pareto plot's x / y objective"),
    ("up/down/pgup/pgdn/home/end", "scroll the candidate table (end resumes follow)"),
)
MARKS: tuple[tuple[str, str], ...] = (
    ("★", "candidate on the Pareto front"),
    ("~name", "surrogate prediction ± uncertainty for objective 'name'"),
    ("◆", "Pareto front in the scatter (joined by a line with two objectives)"),
    ("x", "latest evaluated batch in the scatter"),
)


def help_text() -> Text:
    text = Text()
    text.append("Keys\n", "bold underline")
    for key, meaning in KEYS:
        text.append(f"  {key:<28}", "bold")
        text.append(meaning + "\n")
    text.append("\nMarks\n", "bold underline")
    for mark, meaning in MARKS:
        text.append(f"  {mark:<28}", "bold")
        text.append(meaning + "\n")
    text.append("\nTimes are UTC. Press escape, ? or q to close.", "dim")
    return text


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close help"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body") as body:
            body.border_title = "materia-tui help"
            yield Static(help_text(), id="help-text")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
