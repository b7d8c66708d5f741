"""The ``/`` filter and the note bar of a ``CampaignView``: opening the bars,
applying a filter expression (to the table and every plot), explaining a bad one
while it is typed, and pinning a note to the current iteration.

A mixin so ``campaign_view`` stays small; it works on the view's attributes
(declared below for mypy, defined by ``CampaignView``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from materia_tui.source import EventSource, NoteAdded, note_sink
from materia_tui.state import CampaignState, Note
from materia_tui.ui.active_filter import ActiveFilter
from materia_tui.ui.repaint import RepaintScheduler
from materia_tui.ui.widgets.filter_bar import FilterBar

if TYPE_CHECKING:
    from textual.widget import Widget

    from materia_tui.ui.widgets.candidate_table import CandidateTable

    _ViewBase = Widget
else:
    _ViewBase = object


class FilterAndNotes(_ViewBase):
    """The view's ``/`` filter and note bar (mixed into ``CampaignView``)."""

    state: CampaignState
    source: EventSource
    now: Callable[[], float]
    active_filter: ActiveFilter
    scheduler: RepaintScheduler | None

    if TYPE_CHECKING:

        @property
        def table(self) -> CandidateTable: ...

        def keep_focus(self) -> None: ...

        def _note_change(self) -> None: ...

    @property
    def filter_bar(self) -> FilterBar:
        return self.query_one("#filter-bar", FilterBar)

    @property
    def note_bar(self) -> FilterBar:
        return self.query_one("#note-bar", FilterBar)

    def action_open_note(self) -> None:
        self.note_bar.open("")

    def add_note(self, text: str) -> Note | None:
        """Pin ``text`` to the current iteration: the state's log, and the recording if any."""
        if not text.strip():
            return None
        iteration = self.state.current_iteration or None
        note = self.state.add_note(iteration, text, self.now())
        sink = note_sink(self.source)
        if sink is not None:
            sink.record_note(NoteAdded(note.iteration, note.text, note.at))
        self._note_change()
        return note

    def action_open_filter(self) -> None:
        self.filter_bar.open(self.active_filter.text)

    def apply_filter(self, text: str) -> str | None:
        """Apply ``text`` (empty: no filter); the reason it cannot be applied, else None."""
        from materia_tui.insight.filter import FilterError

        try:
            compiled = self.active_filter.compile(self.state, text)
        except FilterError as exc:
            self.filter_bar.show_problem((text, exc.position, exc.message))
            return exc.message
        self.active_filter.set(compiled)
        self.filter_bar.show_problem(None)
        self._filter_moved()
        return None

    def apply_brush(self, text: str | None) -> None:
        """The parallel coordinates' brush (None: none), ANDed with the ``/`` expression."""
        from materia_tui.insight.filter import FilterError

        try:
            compiled = self.active_filter.compile(self.state, text) if text else None
        except FilterError:  # a brush is built from the campaign's own axes: cannot happen
            compiled = None
        self.active_filter.set_brush(compiled)
        self._filter_moved()

    def _filter_moved(self) -> None:
        """The table and every plot follow the new filter."""
        self.table.expression_changed()
        if self.scheduler is not None:
            self.scheduler.paint_all()
        for widget in self.query("*"):
            sync = getattr(widget, "filter_changed", None)
            if callable(sync):
                sync()

    def on_filter_bar_submitted(self, message: FilterBar.Submitted) -> None:
        message.stop()
        if message.bar.id == "note-bar":
            self.add_note(message.text)
            message.bar.close()
        elif self.apply_filter(message.text) is None:
            self.filter_bar.close()

    def on_filter_bar_closed(self, message: FilterBar.Closed) -> None:
        message.stop()
        self.call_after_refresh(self.keep_focus)  # the input is gone: the table, or the view

    def on_input_changed(self, event: object) -> None:
        """Explain a bad expression while it is typed (compiling is cheap; applying waits for enter)."""
        from textual.widgets import Input

        from materia_tui.insight.filter import FilterError, compile_filter

        if not isinstance(event, Input.Changed) or event.input.id != "filter-input":
            return
        try:
            compile_filter(event.value, self._field_kinds())
        except FilterError as exc:
            self.filter_bar.show_problem((event.value, exc.position, exc.message))
        else:
            self.filter_bar.show_problem(None)

    def _field_kinds(self) -> dict[str, str]:
        from materia_tui.output.export import objective_names, parameter_names

        kinds = dict.fromkeys(parameter_names(self.state), "category")
        kinds.update(dict.fromkeys(objective_names(self.state), "number"))
        return kinds
