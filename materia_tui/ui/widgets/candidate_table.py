"""The candidate table on Textual's line API: a ScrollView that renders only the
visible rows straight from the state's columnar store.

Why not DataTable: it needs ~13 s to load 100k rows and recomputes every row
offset on any change. Here rows are the store's rows, read as views only for
the visible lines; the table keeps a view index (row numbers, a numpy array
for large stores) only while a sort or filter is active, computed from the
store's columns (``state/ordering.py``), and caches rendered rows keyed by
what can change in them, so appending 1,000 rows or updating one in place
re-renders just the visible lines.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar, Literal

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer

from materia_tui.sanitize import clean
from materia_tui.state import CampaignState, CandidateLike
from materia_tui.state.changes import ChangeSet
from materia_tui.state.ordering import Rows, filter_rows, sort_rows
from materia_tui.ui import format as fmt
from materia_tui.ui.active_filter import FiltersCampaign
from materia_tui.ui.panel import Cadence
from materia_tui.ui.textual_compat import NarrowRefresh, set_virtual_size
from materia_tui.ui.widgets.table_columns import SEPARATOR, Column, build_columns, header_strip, row_strip

FilterMode = Literal["all", "pareto", "iteration", "problems"]
FILTERS: tuple[FilterMode, ...] = ("all", "pareto", "iteration", "problems")
FILTER_LABELS: dict[FilterMode, str] = {
    "all": "all",
    "pareto": "Pareto only",
    "iteration": "current iteration",
    "problems": "failed + infeasible",
}
ID_SAMPLE = 2000
BIG_TABLE = 20_000
BIG_TABLE_RESORT_SECONDS = 1.0
# Rendered rows kept: a dozen screens to scroll back over. Streaming fills the cache with
# every row it shows (~0.8 KB a row: 2,048 of them held 1.7 MB of a 100k monitor).
STRIP_CACHE_ROWS = 512
FOOTER_ROOM_COLUMNS = 100  # terminal width from which the footer has room for "←→ Columns"


def _unanimated(scroll: str) -> Callable[[ScrollView], None]:
    """An action that scrolls with ``ScrollView.<scroll>`` at once, without animation."""

    def action(self: ScrollView) -> None:
        getattr(self, scroll)(animate=False)

    return action


class CandidateTable(FiltersCampaign, NarrowRefresh, ScrollView, can_focus=True):
    DEFAULT_CSS: ClassVar[str] = """
    CandidateTable > .candidate-table--header {
        text-style: bold underline;
    }
    CandidateTable > .candidate-table--front {
        color: $accent;
        text-style: bold;
    }
    CandidateTable > .candidate-table--proposed {
        text-style: dim;
    }
    CandidateTable > .candidate-table--failed {
        color: $error;
        text-style: bold;
    }
    CandidateTable > .candidate-table--infeasible {
        color: $warning;
        text-style: italic;
    }
    """

    """Every candidate, newest last; follow mode keeps the newest row in view."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "candidate-table--header",
        "candidate-table--front",
        "candidate-table--proposed",
        "candidate-table--failed",
        "candidate-table--infeasible",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "scroll_up", "Up", show=False),
        Binding("down", "scroll_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "scroll_home", "Top", show=False),
        Binding("end", "scroll_end", "End", show=False),
        Binding("left", "scroll_left", "Left", show=False),
        # "→" twice: the first binding is the footer's "←→ Columns", offered (check_action) only
        # while columns are cut off and the footer has room; when it is not, the key falls
        # through to the second. The title always counts hidden columns ("+3 cols →").
        Binding("right", "columns_right", "Columns", key_display="←→"),
        Binding("right", "scroll_right", "Right", show=False),
    ]

    follow: reactive[bool] = reactive(True)
    sort_index: reactive[int | None] = reactive(None)
    sort_reverse: reactive[bool] = reactive(False)
    filter_mode: reactive[FilterMode] = reactive("all")

    def __init__(self, state: CampaignState, **panel: Any) -> None:
        # ``active_filter``, the view's ``/`` expression: one more filter, ANDed with ``filter_mode``.
        super().__init__(state, **panel)
        self.columns: list[Column] = build_columns(10, [], [])
        self.row_count = 0
        self._view: Rows | None = None  # None: arrival order, row i is candidate_list[i]
        self._view_key: tuple[Any, ...] = ()
        self._parameters: list[str] = []
        self._scanned = 0  # candidate_list prefix already scanned for ids and parameter names
        self._id_width = 10
        self._layout_key: tuple[Any, ...] = ()
        self._layout_generation = 0
        self._row_width = 0
        self._strips: LRUCache[tuple[Any, ...], Strip] = LRUCache(STRIP_CACHE_ROWS)
        self._scrolling_programmatically = False
        self._data_version = 0  # bumped by every change set that touched a row
        self._view_built_at = 0.0
        self._resort_timer: Timer | None = None
        self._styles_by_name: dict[str, Style] = {}  # rich_style is costly to compute per row
        self._painted_frame: tuple[Any, ...] = ()  # what the visible lines were drawn against
        self._painted_lines: list[tuple[Any, ...]] = []  # what each visible row showed at the last sync
        self._title: Text | None = None
        self._offer_columns_key = False  # "←→ Columns" is in the footer
        self.repainted_lines = 0  # table lines asked to repaint by syncs, for tests and benchmarks

    # ----- data --------------------------------------------------------------

    cadence: ClassVar[Cadence] = "bulk"

    def apply_changes(self, state: CampaignState, changes: ChangeSet, now: float) -> None:
        if changes.rows or changes.front or changes.metadata:
            self._data_version += 1
            self._show()

    def _show(self) -> None:
        """Catch up with the state: new columns, row count, view, follow."""
        state = self.state
        self._scan_new_rows(state)
        self._update_layout(state)
        self._update_view(state)
        set_virtual_size(self, Size(self._row_width, self.row_count + 1))
        if self.follow:
            self._scroll_to_newest()
            # Scrollbars appearing in the next layout change the bottom; land on it again then.
            self.call_after_refresh(self._follow_after_layout)
        self._update_title()
        self._repaint_changed_lines()

    def _repaint_changed_lines(self) -> None:
        """Repaint only the lines whose content changed since the last sync.

        Every repainted line is re-sent to the terminal (~150 bytes; the whole
        table ~4 KB). A scroll repaints the content area by itself (Textual), a
        new layout or sort every line; otherwise an appended or re-measured
        candidate costs its own line only, and the border and scrollbars nothing."""
        frame = (self._layout_generation, self.sort_index, self.sort_reverse, self.scroll_offset, self.size)
        lines = [(r.row, r.revision, r.on_front, r.status) for r in self.visible_records()]
        if frame != self._painted_frame:
            self._painted_frame = frame
            self.repainted_lines += self.size.height
            self.refresh(self.size.region)
        else:
            width = self.size.width
            painted = self._painted_lines
            for index in range(max(len(lines), len(painted))):
                shown = lines[index] if index < len(lines) else None
                if shown != (painted[index] if index < len(painted) else None):
                    self.repainted_lines += 1
                    self.refresh(Region(0, index + 1, width, 1))  # line 0 is the header
        self._painted_lines = lines

    def _follow_after_layout(self) -> None:
        if self.follow:
            self._scroll_to_newest()

    def _scan_new_rows(self, state: CampaignState) -> None:
        store = state.store
        if self._scanned == len(store):
            return
        known = set(self._parameters)
        self._parameters += [name for name in store.parameter_names() if name not in known]
        # The id column's width is cosmetic (cells are cut with an ellipsis), so a
        # sample of a huge batch sizes it: measuring 100k ids costs ~100 ms.
        first, count = self._scanned, len(store)
        if count - first <= ID_SAMPLE:
            sample = store.ids[first:]
        else:  # the rows only: building every id of a million to measure 2,000 would cost ~50 ms
            step = (count - first) // ID_SAMPLE
            sample = store.ids.take([*range(first, count, step), *range(count - 100, count)])
        widest = max(cell_len(cid) for cid in sample)
        self._id_width = min(24, max(self._id_width, widest))
        self._scanned = len(store)

    def _update_layout(self, state: CampaignState) -> None:
        if state.metadata is not None and state.metadata.parameters:
            declared = [p.name for p in state.metadata.parameters]
            parameters = declared + [p for p in self._parameters if p not in declared]
        else:
            parameters = self._parameters
        key = (self._id_width, tuple(parameters), tuple(state.objectives))
        if key == self._layout_key:
            return
        self._layout_key = key
        self.columns = build_columns(self._id_width, list(parameters), list(state.objectives))
        self._row_width = sum(c.width for c in self.columns) + len(SEPARATOR) * (len(self.columns) - 1)
        self._layout_generation += 1
        if self.sort_index is not None and self.sort_index >= len(self.columns):
            self.sort_index = None

    def _update_view(self, state: CampaignState) -> None:
        rows = state.candidate_list
        expression = self.active_filter.generation if self.active_filter.active else None
        if self.sort_index is None and self.filter_mode == "all" and expression is None:
            self._view = None
            self.row_count = len(rows)
            return
        settings = (self.sort_index, self.sort_reverse, self.filter_mode, expression, self._layout_generation)
        key = (self._data_version, *settings)
        if key == self._view_key and self._view is not None:
            return
        if self._view is not None and self._view_key[1:] == settings and len(rows) > BIG_TABLE:
            # Re-sorting 100k rows takes ~100 ms: while data streams in, do it once a second.
            wait = self._view_built_at + BIG_TABLE_RESORT_SECONDS - time.monotonic()
            if wait > 0:
                if self._resort_timer is None:
                    self._resort_timer = self.set_timer(wait, self._resort_later)
                return
        self._view_key = key
        self._view_built_at = time.monotonic()
        view = filter_rows(state.store, self.filter_mode, state.front_ids(), state.current_iteration)
        mask = self.active_filter.mask(state)
        if mask is not None:  # the `/` expression, on top of the `f` mode
            view = rows_kept(view, mask)
        if self.sort_index is not None:
            view = sort_rows(state.store, self.columns[self.sort_index].key, view, self.sort_reverse)
        self._view = view
        self.row_count = len(view)

    def _resort_later(self) -> None:
        self._resort_timer = None
        self._show()

    def record_at(self, index: int) -> CandidateLike | None:
        """The candidate shown on view line ``index`` (0 = first data row)."""
        if not 0 <= index < self.row_count:
            return None
        row = int(self._view[index]) if self._view is not None else index
        return self.state.store.view(row)

    def visible_records(self) -> list[CandidateLike]:
        top = round(self.scroll_y)
        lines = max(0, self.scrollable_content_region.height - 1)
        found = (self.record_at(i) for i in range(top, top + lines))
        return [r for r in found if r is not None]

    # ----- user actions --------------------------------------------------------

    def cycle_sort(self) -> None:
        index = self.sort_index
        self.sort_index = 0 if index is None else (index + 1 if index + 1 < len(self.columns) else None)
        self._after_sort_change()

    def reverse_sort(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self._after_sort_change()

    def _after_sort_change(self) -> None:
        # Sorted, the newest row is anywhere: show the top of the order instead of following.
        # Back in arrival order, the newest row is last again and following resumes.
        self.follow = self.sort_index is None
        self._show()
        if not self.follow:
            self._scrolling_programmatically = True
            try:
                self.scroll_to(y=0, animate=False, immediate=True, force=True)
            finally:
                self._scrolling_programmatically = False

    def cycle_filter(self) -> None:
        self.filter_mode = FILTERS[(FILTERS.index(self.filter_mode) + 1) % len(FILTERS)]
        self._show()

    def expression_changed(self) -> None:
        """The view's ``/`` expression changed: rebuild the view now."""
        self._data_version += 1
        self._show()

    def toggle_follow(self) -> None:
        self.follow = not self.follow
        if self.follow:
            self._scroll_to_newest()

    def describe(self) -> Text:
        """Rows, filter, sort and follow as one literal line (column titles come from the network)."""
        text = Text(f"candidates {fmt.count(self.row_count)}")
        if self.filter_mode != "all":
            text.append(f" · {FILTER_LABELS[self.filter_mode]}")
        if self.active_filter.active:
            text.append(" · /")
            text.append(clean(self.active_filter.label, 60))
        if self.sort_index is not None:
            text.append(" · sort ")
            text.append(self.columns[self.sort_index].title)
            text.append(" ↓" if self.sort_reverse else " ↑")
        if self.follow:
            text.append(" · follow")
        left, right = self.hidden_columns()
        if left or right:  # the table scrolls sideways: say how much is out of view, and where
            last = right or left
            unit = "col" if last == 1 else "cols"
            parts = ([f"← +{left}"] if left else []) + ([f"+{right} {unit} →"] if right else [])
            text.append(" · " + " · ".join(parts) + ("" if right else f" {unit}"))
        return text

    def hidden_columns(self) -> tuple[int, int]:
        """How many columns are out of view (even in part) to the left and to the right."""
        width = self.scrollable_content_region.width
        if width <= 0:
            return 0, 0
        first = round(self.scroll_x)
        last = first + width
        left = right = 0
        for column, start in zip(self.columns, self._column_starts(), strict=True):
            if start < first:
                left += 1
            elif start + column.width > last:
                right += 1
        return left, right

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "columns_right":
            return self._offer_columns_key
        return super().check_action(action, parameters)

    def _update_title(self) -> None:
        """Set the border title when it changed, repainting the top border line only
        (setting ``border_title`` repaints the whole widget: every row and both sides)."""
        title = self.describe()
        # At 80 columns the footer is full: the key would push "Export" off the screen.
        offer = self.hidden_columns() != (0, 0) and self.app.size.width >= FOOTER_ROOM_COLUMNS
        if offer != self._offer_columns_key:
            self._offer_columns_key = offer
            self.refresh_bindings()  # the footer's "←→ Columns" comes or goes
        if title == self._title:
            return
        self._title = title
        top = Region(-self.content_offset.x, -self.content_offset.y, self.outer_size.width, 1)
        with self.repaint_only([top] if self.is_mounted and self._painted_frame else None):
            self.border_title = title

    def _scroll_to_newest(self) -> None:
        self._scrolling_programmatically = True
        try:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True, force=True)
        finally:
            self._scrolling_programmatically = False

    # Keyboard scrolling without animation: an animated page is ~20 redraws of
    # the whole table, which costs far more than the one frame it should be.
    action_scroll_up = _unanimated("scroll_up")
    action_scroll_down = _unanimated("scroll_down")
    action_page_up = _unanimated("scroll_page_up")
    action_page_down = _unanimated("scroll_page_down")
    action_scroll_home = _unanimated("scroll_home")
    action_scroll_end = _unanimated("scroll_end")

    # Sideways a column at a time: a cell at a time, the last columns were ~35 presses away.
    def action_scroll_left(self) -> None:
        x = round(self.scroll_x)
        self.scroll_to(x=max((s for s in self._column_starts() if s < x), default=0), animate=False)

    def action_scroll_right(self) -> None:
        x = round(self.scroll_x)
        target = min((s for s in self._column_starts() if s > x), default=self.max_scroll_x)
        self.scroll_to(x=min(target, self.max_scroll_x), animate=False)

    def action_columns_right(self) -> None:
        self.action_scroll_right()

    def _column_starts(self) -> list[int]:
        starts, start = [], 0
        for column in self.columns:
            starts.append(start)
            start += column.width + len(SEPARATOR)
        return starts

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if not self._scrolling_programmatically and self.is_mounted:
            # Scrolling away from the bottom by hand stops following; back at the end resumes it.
            self.follow = new_value >= self.max_scroll_y

    def on_resize(self) -> None:
        if self.follow:
            self._scroll_to_newest()
        self._update_title()  # the hidden-columns count depends on the width

    def watch_scroll_x(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_x(old_value, new_value)
        if self.is_mounted:
            self._update_title()

    def watch_follow(self) -> None:
        if self.is_mounted:
            self._update_title()

    # ----- rendering -----------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        if y == 0:
            strip = self._header_strip()
        else:
            record = self.record_at(scroll_y + y - 1)
            if record is None:
                return Strip.blank(width, self._base_style())
            strip = self._row_strip(record)
        return strip.crop_extend(scroll_x, scroll_x + width, self._base_style())

    def _header_strip(self) -> Strip:
        key = ("header", self._layout_generation, self.sort_index, self.sort_reverse)
        cached = self._strips.get(key)
        if cached is not None:
            return cached
        strip = header_strip(self.columns, self.sort_index, self.sort_reverse, self._style("header"))
        self._strips[key] = strip
        return strip

    def _row_strip(self, cand: CandidateLike) -> Strip:
        key = (cand.row, cand.revision, cand.on_front, cand.status, self._layout_generation)
        cached = self._strips.get(key)
        if cached is not None:
            return cached
        strip = row_strip(cand, self.columns, self._base_style(), self._style, self._row_width)
        self._strips[key] = strip
        return strip

    def _style(self, name: str) -> Style:
        style = self._styles_by_name.get(name)
        if style is None:
            style = self.get_component_rich_style(f"candidate-table--{name}")
            self._styles_by_name[name] = style
        return style

    def _base_style(self) -> Style:
        style = self._styles_by_name.get("")
        if style is None:
            style = self._styles_by_name[""] = self.rich_style
        return style

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()
        self._styles_by_name.clear()


def rows_kept(rows: Rows, mask: Any) -> Rows:
    """The rows of ``rows`` that ``mask`` (a bool array, one per row) keeps, in order:
    whole arrays at a time (a Python test per row costs ~20 ms at 100k)."""
    import numpy as np

    if isinstance(rows, range) and rows.start == 0 and rows.step == 1:
        kept: Any = np.flatnonzero(mask[: rows.stop])
        return kept  # type: ignore[no-any-return]
    picked = np.asarray(rows, dtype=np.int64)
    picked = picked[picked < len(mask)]
    return picked[mask[picked]]  # type: ignore[no-any-return]
