"""The Textual behaviour materia_tui/ui/textual_compat.py relies on: an upgrade that changes it fails here."""

from __future__ import annotations

from typing import Any, Self

from rich.segment import Segment
from textual.app import App, ComposeResult
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.widget import Widget
from textual.widgets import Static

from materia_tui.ui.textual_compat import (
    NarrowRefresh,
    RunLengthScrollBarRender,
    install_scrollbar_renderer,
    set_virtual_size,
)


def cells(segments: list[Segment]) -> list[tuple[str, Any]]:
    return [(char, seg.style) for seg in segments for char in seg.text]


def test_the_run_length_scrollbar_draws_the_same_cells_in_fewer_segments() -> None:
    args = {"size": 78, "virtual_size": 500, "window_size": 60, "position": 120, "vertical": False}
    textual = list(ScrollBarRender.render_bar(**args).segments)
    ours = list(RunLengthScrollBarRender.render_bar(**args).segments)
    assert cells([s for s in ours if s.text != "\n"]) == cells([s for s in textual if s.text != "\n"])
    assert len(ours) < len(textual) / 5


def test_installing_the_renderer_sets_textuals_hook_once() -> None:
    previous = ScrollBar.renderer
    try:
        install_scrollbar_renderer()
        install_scrollbar_renderer()
        assert ScrollBar.renderer is RunLengthScrollBarRender
    finally:
        ScrollBar.renderer = previous


class Scroller(ScrollView):
    DEFAULT_CSS = "Scroller { width: 40; height: 10; }"


class NarrowScroller(NarrowRefresh, Scroller):
    """The mixin must not bring Widget's default CSS ahead of ScrollView's (scrollbars)."""


class Spy(Widget):
    """Records the regions each refresh asked for (sits between NarrowRefresh and Static)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.asked: list[tuple[Region, ...]] = []
        super().__init__(*args, **kwargs)

    def refresh(
        self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False
    ) -> Self:
        self.asked.append(regions)
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)


class Narrow(NarrowRefresh, Spy, Static):
    pass


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield NarrowScroller()
        yield Narrow("hello", id="narrow")


async def test_a_virtual_size_change_moves_the_scroll_range_without_a_layout() -> None:
    async with Host().run_test(size=(60, 20)) as pilot:
        scroller = pilot.app.query_one(NarrowScroller)
        await pilot.pause()
        assert callable(getattr(ScrollView, "_scroll_update", None))  # the private call set_virtual_size makes
        set_virtual_size(scroller, Size(40, 100))
        await pilot.pause()
        assert scroller.virtual_size == Size(40, 100)
        assert scroller.max_scroll_y == 100 - scroller.scrollable_content_region.height
        assert scroller.show_vertical_scrollbar


async def test_repaint_only_narrows_the_next_refresh_and_an_empty_list_repaints_nothing() -> None:
    async with Host().run_test(size=(60, 20)) as pilot:
        narrow = pilot.app.query_one(Narrow)
        await pilot.pause()
        narrow.asked = []
        line = Region(0, 0, 3, 1)
        with narrow.repaint_only([line]):
            narrow.update("hallo", layout=False)
        assert narrow.asked and all(regions == (line,) for regions in narrow.asked)
        narrow.asked = []
        with narrow.repaint_only([]):
            narrow.update("hallo", layout=False)
        assert narrow.asked == []
        narrow.update("whole", layout=False)  # outside the block: the whole widget
        assert narrow.asked[-1] == ()
