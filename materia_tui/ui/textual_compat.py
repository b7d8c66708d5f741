"""Every reach into Textual beyond its documented widget API, in one place.

The monitor saves terminal bytes (it runs over SSH all day) in three ways
Textual has no public switch for; each is here, with a test of the Textual
behaviour it relies on (tests/unit/test_textual_compat.py), so an upgrade that
changes it fails there rather than somewhere in a widget:

- ``install_scrollbar_renderer``: scrollbars drawn with one segment per run
  of equal cells. Textual's ``ScrollBarRender`` yields one segment per cell,
  and the terminal gets a full SGR sequence and a reset for each (~28 bytes a
  cell: a horizontal scrollbar 78 cells wide is ~2.2 KB per repaint).
  ``ScrollBar.renderer`` is Textual's documented hook, but it is process-wide.
- ``set_virtual_size``: a scroll view's scrollable area changed without a
  layout pass (Textual's private ``_scroll_update``).
- ``NarrowRefresh``: a widget whose next ``refresh()`` repaints only given
  regions (Textual repaints a widget's whole area on ``update`` or a border
  title change).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Self

from rich.color import Color
from rich.segment import Segment, Segments
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.widget import Widget

GREY = Color.parse("#555555")  # Textual's defaults
MAGENTA = Color.parse("bright_magenta")


class RunLengthScrollBarRender(ScrollBarRender):
    @classmethod
    def render_bar(
        cls,
        size: int = 25,
        virtual_size: float = 50,
        window_size: float = 20,
        position: float = 0,
        thickness: int = 1,
        vertical: bool = True,
        back_color: Color = GREY,
        bar_color: Color = MAGENTA,
    ) -> Segments:
        bar = super().render_bar(
            size, virtual_size, window_size, position, thickness, vertical, back_color, bar_color
        )
        if vertical:  # one cell per line already: nothing to merge
            return bar
        lines = Segment.split_lines(bar.segments)
        merged: list[Segment] = []
        for line in lines:
            merged += Segment.simplify(line)
            merged.append(Segment.line())
        return Segments(merged, new_lines=False)


def install_scrollbar_renderer() -> None:
    """Use the run-length renderer for every scrollbar of this process (idempotent)."""
    if ScrollBar.renderer is not RunLengthScrollBarRender:
        ScrollBar.renderer = RunLengthScrollBarRender


def set_virtual_size(view: ScrollView, size: Size) -> None:
    """Grow or shrink ``view``'s scrollable area without a layout pass when none is needed.

    ``virtual_size`` is a layout reactive: setting it lays out and repaints the
    whole screen (~15 KB to the terminal, scrollbars included). A view of a
    fixed size that is already laid out needs only its scrollbars to follow;
    if one of them appears or disappears, ``show_*_scrollbar`` (layout
    reactives themselves) ask for the layout then."""
    if size == view.virtual_size:
        return
    styles = view.styles
    sized_by_content = any(s is not None and s.is_auto for s in (styles.width, styles.height))
    if view.scrollable_content_region.height > 0 and not sized_by_content:
        view.set_reactive(ScrollView.virtual_size, size)
        view._scroll_update(size)
    else:
        view.virtual_size = size


# A mixin, not a Widget subclass: a Widget base early in the MRO would carry Widget's default
# CSS ahead of the widget's own (a ScrollView would lose its scrollbars).
if TYPE_CHECKING:
    _MixinBase = Widget
else:
    _MixinBase = object


class NarrowRefresh(_MixinBase):
    """A widget whose repaint can be narrowed to some regions: ``with self.repaint_only(regions):``
    around a call that would refresh the whole widget (``update``, setting ``border_title``)."""

    _only: tuple[Region, ...] | None = None

    @contextmanager
    def repaint_only(self, regions: Sequence[Region] | None) -> Iterator[None]:
        """``None``: no narrowing; an empty sequence: repaint nothing."""
        self._only = tuple(regions) if regions is not None else None
        try:
            yield
        finally:
            self._only = None

    def refresh(
        self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False
    ) -> Self:
        only = self._only
        if only is not None and not regions and not layout and not recompose:
            if not only:  # nothing on screen changed (e.g. only cells beyond the width)
                return self
            regions = only
        super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)
        return self
