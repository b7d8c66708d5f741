"""The filter expression a campaign view applies (``/``): one per view, read by the table and every plot.

The view owns one ``ActiveFilter``; widgets ask it ``mask(state)`` (which
candidate rows match, a numpy bool array indexed by row) or ``keeps(state,
row)``. The mask is computed once per state revision and shared by every
reader, so a table and three plots cost one evaluation per change, not four;
it reads only the columns the expression names (``filter_columns_of``,
categories dictionary-encoded), a few milliseconds at 100k candidates on the
UI thread. ``generation`` moves on every new
expression, so a widget knows to rebuild what it derived from the old one.
numpy is imported when the first expression is set, not at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from materia_tui.state import CampaignState

if TYPE_CHECKING:
    from materia_tui.insight.filter import Filter
    from materia_tui.state.columns import CandidateColumns


class ActiveFilter:
    def __init__(self) -> None:
        self.compiled: Filter | None = None
        self.generation = 0
        self._key: tuple[object, ...] = ()
        self._mask: Any = None

    @property
    def active(self) -> bool:
        return self.compiled is not None

    @property
    def text(self) -> str:
        return self.compiled.text if self.compiled is not None else ""

    def compile(self, columns: CandidateColumns, text: str) -> Filter | None:
        """``text`` compiled against the campaign's fields (None for an empty text);
        raises ``FilterError``."""
        from materia_tui.output.where import compile_for

        compiled = compile_for(columns, text)
        return None if compiled.matches_everything else compiled

    def set(self, compiled: Filter | None) -> None:
        self.compiled = compiled
        self.generation += 1
        self._key = ()
        self._mask = None

    def mask(self, state: CampaignState) -> Any:
        """Which rows match (a bool array, one per candidate row); None: no filter."""
        if self.compiled is None:
            return None
        count = len(state.store)
        key = (state.revision, count, self.generation)
        if key != self._key:
            from materia_tui.state.columns import filter_columns_of

            columns = filter_columns_of(state, self.compiled.fields)
            self._mask = self.compiled.mask(columns, count)  # type: ignore[arg-type]
            self._key = key
        return self._mask

    def keeps(self, state: CampaignState, row: int) -> bool:
        mask = self.mask(state)
        return mask is None or (row < len(mask) and bool(mask[row]))
