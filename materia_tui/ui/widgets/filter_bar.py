"""``/``: the filter expression input, docked under a campaign view (``N``, the note input, is one too).

Typing checks the expression as it goes: a bad one is explained under the
input (the ``FilterError`` sentence, with a caret under its column) and is
never applied; enter applies a good one (an empty one clears the filter),
escape closes the bar and keeps the filter in force.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

PLACEHOLDER = "filter: status:failed · polymer=PA · salt_rejection>95 · it>=10 · front · and/or/not ( )"


class FilterBar(Vertical):
    DEFAULT_CSS: ClassVar[str] = """
    FilterBar {
        dock: bottom;
        height: auto;
        display: none;
        background: $panel;
    }
    FilterBar.-open {
        display: block;
    }
    FilterBar #filter-problem {
        height: auto;
        color: $error;
        padding: 0 2;  /* under the input's text: its border and padding */
        display: none;
    }
    FilterBar.-bad #filter-problem {
        display: block;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close", show=False)]

    class Submitted(Message):
        """A good expression (possibly empty: no filter) was entered."""

        def __init__(self, bar: FilterBar, text: str) -> None:
            super().__init__()
            self.bar = bar
            self.text = text

    class Closed(Message):
        def __init__(self, bar: FilterBar) -> None:
            super().__init__()
            self.bar = bar

    def __init__(
        self,
        *,
        prompt: str = "/",
        placeholder: str = PLACEHOLDER,
        input_id: str = "filter-input",
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.prompt = prompt
        self.input_id = input_id
        self.placeholder = placeholder
        self.problem: str | None = None  # the shown explanation of a bad expression

    def compose(self) -> ComposeResult:
        yield Input(placeholder=self.placeholder, id=self.input_id)
        yield Static("", id="filter-problem", markup=False)

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    def open(self, text: str = "") -> None:
        self.add_class("-open")
        self.input.value = text
        self.input.cursor_position = len(text)
        self.input.focus()

    def close(self) -> None:
        self.remove_class("-open")
        self.show_problem(None)
        self.post_message(self.Closed(self))

    def action_close(self) -> None:
        self.close()

    def show_problem(self, problem: tuple[str, int, str] | None) -> None:
        """(text, position, sentence) of a bad expression, or None."""
        static = self.query_one("#filter-problem", Static)
        if problem is None:
            self.problem = None
            self.remove_class("-bad")
            static.update("")
            return
        _text, position, sentence = problem
        # One line with a caret under the column (the input shows the text itself),
        # then the sentence; both literal.
        offset = min(position, max(0, self.size.width - 4))
        self.problem = f"{' ' * offset}^ {sentence}"
        rendered = Text(" " * offset + "^ ", style="bold")
        rendered.append(sentence)
        static.update(rendered)
        self.add_class("-bad")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Submitted(self, event.value))
