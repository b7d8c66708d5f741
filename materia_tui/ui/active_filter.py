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
    from materia_tui.insight.filter import FieldKind, Filter


class ActiveFilter:
    """The ``/`` expression AND the parallel coordinates' brush: each set and cleared on its
    own (``set``, ``set_brush``); readers see ``compiled``, the two combined."""

    def __init__(self) -> None:
        self.expression: Filter | None = None  # what ``/`` applied
        self.brush: Filter | None = None  # what ``b`` brushed on the parallel coordinates
        self.compiled: Filter | None = None  # both, combined with AND
        self.generation = 0
        self._kinds: dict[str, str] = {}
        self._key: tuple[object, ...] = ()
        self._mask: Any = None

    @property
    def active(self) -> bool:
        return self.compiled is not None

    @property
    def text(self) -> str:
        """The ``/`` expression (what the filter bar edits)."""
        return self.expression.text if self.expression is not None else ""

    @property
    def label(self) -> str:
        """What is applied, each part named: ``polymer=PA + brush pore_size_nm>=0.8``."""
        parts = [self.text] if self.expression is not None else []
        if self.brush is not None:
            parts.append(f"brush {self.brush.text}")
        return " + ".join(parts)

    def compile(self, state: CampaignState, text: str) -> Filter | None:
        """``text`` compiled against the campaign's fields (None for an empty text);
        raises ``FilterError``. Reads only the fields' kinds, no column: it runs on the
        key press, where a copy of every column cost 20 ms at 100k candidates."""
        from materia_tui.insight.filter import compile_filter

        kinds = field_kinds_of(state)
        compiled = compile_filter(text, kinds)
        self._kinds = dict(kinds)
        return None if compiled.matches_everything else compiled

    def set(self, compiled: Filter | None) -> None:
        """A new ``/`` expression (None: none); the brush stays."""
        self.expression = compiled
        self._combine()

    def set_brush(self, compiled: Filter | None) -> None:
        """A new brush (None: none); the ``/`` expression stays."""
        self.brush = compiled
        self._combine()

    def _combine(self) -> None:
        expression, brush = self.expression, self.brush
        if expression is not None and brush is not None:
            from materia_tui.insight.filter import compile_filter

            both = f"({expression.text}) and ({brush.text})"
            self.compiled = compile_filter(both, self._kinds)
        else:
            self.compiled = expression if expression is not None else brush
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


if TYPE_CHECKING:
    from textual.widget import Widget

    _PanelBase = Widget
else:
    _PanelBase = object


class FiltersCampaign(_PanelBase):
    """A panel over one campaign's state that follows the view's ``/`` filter: the one
    constructor the table, the Pareto plot and the analysis views share (mixed in first)."""

    def __init__(
        self,
        state: CampaignState,
        *,
        active_filter: ActiveFilter | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.state = state
        self.active_filter = active_filter if active_filter is not None else ActiveFilter()


def field_kinds_of(state: CampaignState) -> dict[str, FieldKind]:
    """``candidate_columns(state).field_kinds()`` read from the store's column headers: a
    parameter is a number when every value is (no dictionary, or only numeric choices)."""
    store = state.store
    names = [p.name for p in state.metadata.parameters] if state.metadata else []
    known = set(names)
    names += [name for name in store.parameter_names() if name not in known]
    kinds: dict[str, FieldKind] = {}
    for name in names:
        column = store.parameter_column(name)
        numeric = (
            column is None
            or column.codes is None
            or all(isinstance(v, int | float) and not isinstance(v, bool) for v in column.choices)
        )
        kinds[name] = "number" if numeric else "category"
    kinds.update(dict.fromkeys(state.objectives, "number"))
    return kinds
