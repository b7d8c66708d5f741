"""A plotext figure drawn straight into Textual strips.

textual-plotext's ``PlotextPlot`` renders by asking plotext for its canvas as
ANSI text (plotext walks every cell to write the escape codes), decoding that
back into Rich ``Text`` and converting it into Textual ``Content``: at 120x40,
about two thirds of a redraw. ``PlotCanvas`` still draws with plotext (same
figure, same theme), but reads plotext's character and colour matrices and
builds one segment per run of equal colours, with the styles the ANSI round
trip would give (each distinct colour triple is decoded once).

An *overlay* (``set_overlay``: single-character marks, e.g. a plot's latest
points) is drawn on top of the last plotext build the way plotext draws a
scatter series, with plotext's own data-to-cell mapping and the limits of
that build, so changing only the overlay costs no plotext build at all. The
caller keeps the limits unchanged by the overlay (``plt.xlim``/``plt.ylim``
covering it); a test compares the result with plotext drawing it all.

plotext and textual-plotext are imported on the first drawing, not when the
module is imported: the monitor starts ~70 ms sooner, and a plot that is never
shown never loads them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.segment import Segment
from rich.style import Style as RichStyle
from rich.text import Text
from textual.strip import Strip
from textual.style import Style
from textual.widget import Widget

if TYPE_CHECKING:
    from textual.theme import Theme

Colours = tuple[object, object, object]  # plotext's (foreground, style, background) of a cell
Look = tuple[str, object, object]  # plotext's (marker, foreground, style) of a series' mark


@dataclass(frozen=True, slots=True)
class Overlay:
    """Marks drawn over the plotext picture, as ``plt.scatter(xs, ys, marker=marker, color=color)``
    would draw them last."""

    xs: Sequence[float]
    ys: Sequence[float]
    marker: str
    color: str


@dataclass(slots=True)
class _Build:
    """What one plotext build left: its matrices' rows and its canvas geometry."""

    marker: list[list[str]]
    fullground: list[list[object]]
    style: list[list[object]]
    background: list[list[object]]
    rows: int
    columns: range  # the canvas (data area), in matrix columns
    lines: range  # the canvas, in matrix rows (0 at the bottom)
    xlim: tuple[float, float]
    ylim: tuple[float, float]


@dataclass(frozen=True, slots=True)
class BuildContext:
    width: int
    height: int
    theme: str
    theme_name: str  # plotext's theme, registered on the UI thread


@dataclass(frozen=True, slots=True)
class Prebuilt:
    plot: Any
    built: _Build
    key: tuple[object, ...]


def prebuild(context: BuildContext, draw: Callable[[Any], None]) -> Prebuilt:
    """A plotext picture drawn by ``draw(plt)`` on a figure of its own and built to matrices:
    the costly part of a dense plot (hundreds of lines: ~0.4 s), done in a worker thread;
    ``PlotCanvas.adopt`` shows it."""
    plot = _new_plot()
    draw(plot)
    built = _matrix(plot, context.width, context.height, context.theme_name)
    return Prebuilt(plot, built, (context.width, context.height, context.theme))


def _matrix(plot: Any, width: int, height: int, theme_name: str) -> _Build:
    """plotext's build() without set_canvas(), as ``PlotextPlot.render`` less the ANSI."""
    plot.plotsize(width, height)
    plot._set_size(width, height)
    plot.theme(theme_name)
    plot._set_sizes()
    plot._build_matrix()
    monitor = plot.monitor
    matrix = monitor.matrix
    return _Build(
        matrix.marker, matrix.fullground, matrix.style, matrix.background, matrix.rows,
        matrix.Cols_canvas, matrix.Rows_canvas, tuple(monitor.xlim[0]), tuple(monitor.ylim[0]),
    )  # fmt: skip


def _new_plot() -> Any:
    from textual_plotext.plot import Plot

    return Plot()


def _register_theme(name: str, surface: str, foreground: str) -> None:
    """What ``PlotextPlot`` does for its "auto" theme: the app's surface and foreground."""
    from plotext._dict import themes
    from textual.color import Color
    from textual_plotext.plot import _rgbify_theme, _sequence

    if name not in themes:
        background, text = Color.parse(surface).rgb, Color.parse(foreground).rgb
        themes[name] = _rgbify_theme(background, background, text, "default", list(_sequence))


_looks: dict[tuple[str, str], Look] = {}


def _look(marker: str, color: str) -> Look:
    """The (marker, foreground, style) plotext stores for ``scatter(marker=, color=)``."""
    look = _looks.get((marker, color))
    if look is None:
        plot = _new_plot()
        plot.scatter([0.0], [0.0], marker=marker, color=color)
        monitor = plot.monitor
        look = _looks[marker, color] = (monitor.marker[0][0], monitor.color[0][0], monitor.style[0][0])
    return look


def _decoded(colours: Colours) -> RichStyle:
    """The Rich style ``Text.from_ansi`` gives a cell plotext writes with ``colours``."""
    from plotext._utility import ansi_end, colors_to_ansi

    text = Text.from_ansi(colors_to_ansi(*colours) + "x" + ansi_end)
    style = text.spans[0].style if text.spans else RichStyle.null()
    return style if isinstance(style, RichStyle) else RichStyle.parse(style)


class PlotCanvas(Widget):
    """Draw with ``self.plt`` (a plotext figure, as ``PlotextPlot.plt``), then call
    ``invalidate()``; the strips are built once per drawing, size and style.
    ``set_overlay`` changes the marks drawn on top without a plotext build."""

    DEFAULT_CSS: ClassVar[str] = """
    PlotCanvas {
        width: 1fr;
        height: 1fr;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._plot: Any = None
        self.version = 0  # bumped per drawing
        self.builds = 0  # plotext builds made, for tests and benchmarks
        self.overlay: tuple[Overlay, ...] = ()
        self._overlay_version = 0
        self._built: _Build | None = None
        # (width, height) of the widget at the last plotext build, and its data area in cells
        self.canvas_at: tuple[int, int, int, int] | None = None
        self._adopted: Prebuilt | None = None
        # Set by a view that draws off the UI thread (``prebuild``): called, instead of a build
        # on the UI thread, when the canvas needs a picture that no adopted one fits.
        self.request_picture: Callable[[], None] | None = None
        self._base: list[Strip] = []  # the plotext picture, without the overlay
        self._base_key: tuple[object, ...] | None = None
        self._strips: list[Strip] = []
        self._strips_key: tuple[object, ...] | None = None
        self._styles: dict[Colours, Style] = {}
        self._styles_key: tuple[object, ...] | None = None

    @property
    def plt(self) -> Any:
        """The plotext figure (created, and plotext imported, on first use)."""
        if self._plot is None:
            self._plot = _new_plot()
        return self._plot

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, theme: Theme) -> None:
        self.refresh()

    def invalidate(self) -> None:
        """The figure changed: rebuild the strips at the next paint."""
        self.version += 1
        self.refresh()

    def set_overlay(self, overlay: tuple[Overlay, ...]) -> None:
        """Draw ``overlay`` over the current (and any later) plotext picture."""
        if overlay != self.overlay:
            self.overlay = overlay
            self._overlay_version += 1
            self.refresh()

    def render_line(self, y: int) -> Strip:
        strips = self.strips()
        if y < len(strips):
            return strips[y]
        return Strip.blank(self.size.width, self.visual_style.rich_style)

    def strips(self) -> list[Strip]:
        """The picture's lines (built when the drawing, overlay, size or style changed)."""
        width, height = self.size
        base = self.visual_style
        key = (self.version, width, height, self.app.theme, base)
        if key != self._base_key:
            self._base_key = key
            self._base = self._build(width, height, base) if self._plot is not None else []
            self._strips_key = None
        if self._strips_key != (key, self._overlay_version):
            self._strips_key = (key, self._overlay_version)
            self._strips = self._overlaid(width, base)
        return self._strips

    def _build(self, width: int, height: int, base: Style) -> list[Strip]:
        previous, self._built = self._built, None
        if width <= 0 or height <= 0:
            return []
        adopted, self._adopted = self._adopted, None
        if adopted is not None and adopted.key == (width, height, self.app.theme):
            built = adopted.built  # built off the UI thread (``prebuild``)
        elif self.request_picture is not None:
            # A picture built off the UI thread, now at another size (a caption that wrapped,
            # a resize): keep the last one, cut to the new size, and ask for one that fits.
            self.call_after_refresh(self.request_picture)
            self._built = previous
            blank = Strip.blank(width, self.visual_style.rich_style)
            kept = [strip.crop_extend(0, width, self.visual_style.rich_style) for strip in self._base]
            return (kept + [blank] * height)[:height]
        else:
            built = _matrix(self._plot, width, height, self._theme_name())
            self.builds += 1
        self._built = built
        canvas = (width, height, len(built.columns), len(built.lines))
        if canvas != self.canvas_at:
            self.canvas_at = canvas
            self.call_later(self.canvas_changed)
        return self._strips_of(built, height, base)

    def canvas_changed(self) -> None:
        """The data area (``canvas_at``) differs from the last build's: nothing to do here."""

    def _theme_name(self) -> str:
        theme_name = f"textual-auto-{self.app.theme}"
        variables = self.app.theme_variables
        _register_theme(theme_name, variables["surface"], variables["foreground"])
        return theme_name

    def _strips_of(self, built: _Build, height: int, base: Style) -> list[Strip]:
        styles = self._styles_for(base)
        top = built.rows - 1  # plotext's row 0 is the bottom line
        marker, fullground, style, background = built.marker, built.fullground, built.style, built.background
        width = self.size.width
        return [
            self._strip(marker[row], fullground[row], style[row], background[row], width, top - row, styles)
            for row in range(top, max(-1, top - height), -1)
        ]

    # ----- a build off the UI thread ---------------------------------------------------

    def build_context(self) -> BuildContext:
        """What ``prebuild`` needs, read on the UI thread."""
        width, height = self.size
        return BuildContext(width, height, self.app.theme, self._theme_name())

    def fits(self, prebuilt: Prebuilt | None) -> bool:
        """Whether ``prebuilt`` was made for this canvas's size and theme as they are now."""
        width, height = self.size
        return prebuilt is not None and prebuilt.key == (width, height, self.app.theme)

    def adopt(self, prebuilt: Prebuilt) -> None:
        """Show a picture ``prebuild`` made (its figure becomes ``plt``); on the UI thread. The
        next paint uses its matrices if the canvas still has their size and theme, else builds."""
        self._plot = prebuilt.plot
        self._adopted = prebuilt
        self.invalidate()

    def _overlaid(self, width: int, base: Style) -> list[Strip]:
        built = self._built
        if built is None or not self.overlay:
            return self._base
        from plotext._utility import get_matrix_data

        columns, lines = built.columns, built.lines
        changes: dict[int, dict[int, Look]] = {}
        for layer in self.overlay:
            look = _look(layer.marker, layer.color)
            if not columns or not lines:
                continue
            cols = get_matrix_data(list(layer.xs), built.xlim, len(columns))
            rows = get_matrix_data(list(layer.ys), built.ylim, len(lines))
            for col, row in zip(cols, rows, strict=True):
                if col in range(len(columns)) and row in range(len(lines)):  # plotext's remove_outsiders
                    changes.setdefault(row + lines.start, {})[col + columns.start] = look
        strips = list(self._base)
        styles = self._styles_for(base)
        for row, marks in changes.items():
            y = built.rows - 1 - row
            if not 0 <= y < len(strips):
                continue
            markers, fullground = list(built.marker[row]), list(built.fullground[row])
            style = list(built.style[row])
            for col, (marker, colour, font) in marks.items():
                if col < len(markers):  # as insert_element: None leaves what is there
                    markers[col] = marker
                    if colour is not None:
                        fullground[col] = colour
                    if font is not None:
                        style[col] = font
            strips[y] = self._strip(markers, fullground, style, built.background[row], width, y, styles)
        return strips

    def _styles_for(self, base: Style) -> dict[Colours, Style]:
        styles_key = (base, self.app.ansi_theme)
        if styles_key != self._styles_key:
            self._styles_key, self._styles = styles_key, {}
        return self._styles

    def _style(self, colours: Colours, styles: dict[Colours, Style]) -> Style:
        style = styles.get(colours)
        if style is None:
            # As Content.from_rich_text and Content.to_strip combine them.
            base, ansi_theme = self._styles_key or (Style(), None)
            assert isinstance(base, Style)
            decoded = Style.from_rich_style(_decoded(colours), ansi_theme)  # type: ignore[arg-type]
            style = styles[colours] = base + decoded
        return style

    def _strip(
        self,
        markers: list[str],
        fullground: list[object],
        style: list[object],
        background: list[object],
        width: int,
        y: int,
        styles: dict[Colours, Style],
    ) -> Strip:
        """One segment per run of equal colour triples: where plotext's ANSI output
        changes colour, with the (x, y) offset Textual gives text for selection, so the
        screen (and a screenshot) is the same as through the ANSI round trip."""
        segments: list[Segment] = []
        start = 0
        run: Colours | None = None
        for col, colours in enumerate(zip(fullground, style, background, strict=True)):
            if colours != run:
                if run is not None:
                    text_style = self._style(run, styles).rich_style_with_offset(start, y)
                    segments.append(Segment("".join(markers[start:col]), text_style))
                run, start = colours, col
        if run is not None:
            text_style = self._style(run, styles).rich_style_with_offset(start, y)
            segments.append(Segment("".join(markers[start:]), text_style))
        strip = Strip(segments)
        return strip.crop(0, width) if strip.cell_length > width else strip
