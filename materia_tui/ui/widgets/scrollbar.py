"""Scrollbars that write fewer bytes: one segment per run of equal cells.

Textual's ``ScrollBarRender`` yields one segment per cell, and the terminal
gets a full SGR sequence and a reset for each (~28 bytes a cell: a horizontal
scrollbar 78 cells wide is ~2.2 KB per repaint). Merging runs of equal style
draws the same cells, with the same mouse actions, in a handful of segments.
"""

from __future__ import annotations

from rich.color import Color
from rich.segment import Segment, Segments
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar, ScrollBarRender

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


def install() -> None:
    """Use the run-length renderer for every scrollbar of this process (Textual's documented hook)."""
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
