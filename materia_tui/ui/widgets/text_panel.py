"""A Static that only redraws the cells whose text or style changed."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.geometry import Region
from textual.widgets import Static

from materia_tui.ui.textual_compat import NarrowRefresh

Cell = tuple[str, tuple[Any, ...]]


class TextPanel(NarrowRefresh, Static):
    """Base for the monitor's text panels: ``show`` is a no-op for equal text,
    and otherwise repaints only the changed run of cells on each changed line.

    Textual repaints a widget's whole area on ``update``: every line, every
    style change, re-sent to the terminal. The status bar's event counter or the
    progress panel's phase change a few cells per event; repainting just those
    is ~30-100 bytes instead of ~250-850 (over SSH, all day, that is the
    difference). A change of line count still asks for a layout pass, since the
    panel's height may change.

    Textual wraps a line wider than the panel (a ``Text``'s ``no_wrap`` is not
    honoured), so a line's cells are no longer one screen row: a text with a
    line that does not fit is repainted whole, with a layout pass (its rows may
    change). Repainting only the first row of a wrapped line left the rest of it
    stale: a new best value, with the previous best's candidate id under it."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(Text(""), id=id, classes=classes)
        self._shown: Text | None = None
        self.repainted_cells = 0  # cells asked to repaint by ``show``, for tests and benchmarks

    def show(self, text: Text) -> bool:
        if self._shown is not None and text == self._shown:
            return False
        old = self._shown
        self._shown = text
        width = self.content_size.width  # the text's own cells, inside any padding
        if old is None or not self.is_mounted or not (_fits(old, width) and _fits(text, width)):
            self.repainted_cells += self.size.area
            self.update(text, layout=True)
            return True
        if _lines(text) != _lines(old):
            # A new layout pass repaints the whole screen (scrollbars included): only
            # ask for one when the panel's height can change, i.e. its line count.
            self.repainted_cells += self.size.area
            self.update(text, layout=True)
            return True
        regions = changed_regions(old, text, width)
        self.repainted_cells += sum(r.area for r in regions)
        with self.repaint_only(regions):
            self.update(text, layout=False)
        return True

    @property
    def shown_plain(self) -> str:
        return self._shown.plain if self._shown is not None else ""


def _lines(text: Text) -> int:
    return text.plain.count("\n")


def _fits(text: Text, width: int) -> bool:
    """Every line within ``width`` cells: one screen row each (none wraps)."""
    return all(cell_len(line) <= width for line in text.plain.split("\n"))


def line_cells(line: Text) -> list[Cell] | None:
    """Each character with the styles that apply to it; None if a character is not one cell wide."""
    plain = line.plain
    if cell_len(plain) != len(plain):
        return None
    styles: list[list[Any]] = [[line.style] for _ in plain]
    for span in line.spans:
        for index in range(max(0, span.start), min(span.end, len(plain))):
            styles[index].append(span.style)
    return [(char, tuple(style)) for char, style in zip(plain, styles, strict=True)]


def changed_regions(old: Text, new: Text, width: int) -> list[Region]:
    """One region per changed line (content coordinates): from its first to its last changed cell."""
    regions = []
    old_lines = old.split("\n", allow_blank=True)
    new_lines = new.split("\n", allow_blank=True)
    blank: Cell = (" ", ())
    for y, (before, after) in enumerate(zip(old_lines, new_lines, strict=False)):
        if before == after:
            continue
        old_cells, new_cells = line_cells(before), line_cells(after)
        if old_cells is None or new_cells is None:
            regions.append(Region(0, y, width, 1))
            continue
        length = max(len(old_cells), len(new_cells))
        old_cells += [blank] * (length - len(old_cells))
        new_cells += [blank] * (length - len(new_cells))
        first = next((i for i in range(length) if old_cells[i] != new_cells[i]), None)
        if first is None:
            continue
        last = next(i for i in reversed(range(length)) if old_cells[i] != new_cells[i])
        if first >= width:  # cut off: the ellipsis in the last cell may still change
            first = max(0, width - 1)
        end = min(width, last + 1)
        if end > first:
            regions.append(Region(first, y, end - first, 1))
    return regions
