"""PlotCanvas: plotext drawn straight into strips must look exactly as through
textual-plotext's ANSI round trip, and an overlay exactly as plotext drawing
those marks last."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual_plotext import PlotextPlot

from materia_tui.ui.widgets.pareto_plot import limits
from materia_tui.ui.widgets.plot_canvas import Overlay, PlotCanvas


class SideBySide(App[None]):
    CSS = "SideBySide > Horizontal > * { width: 1fr; height: 1fr; }"

    def __init__(self, left: Widget, right: Widget) -> None:
        super().__init__()
        self.left, self.right = left, right

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield self.left
            yield self.right


def lines(widget: Widget) -> list[list[tuple[str, str]]]:
    """What the widget paints: text and colours of each cell run, merged where equal."""
    result = []
    for y in range(widget.size.height):
        cells: list[tuple[str, str]] = []
        for segment in widget.render_line(y):
            style = segment.style
            look = f"{style.color} {style.bgcolor} {style.bold} {style.italic}" if style else ""
            cells += [(char, look) for char in segment.text]
        result.append(cells)
    return result


def draw(plt: Any, rng: random.Random, *, explicit_limits: bool = False) -> tuple[list[float], list[float]]:
    cloud = ([rng.uniform(0, 50) for _ in range(200)], [rng.uniform(-3, 3) for _ in range(200)])
    front = sorted(rng.uniform(0, 50) for _ in range(12))
    plt.clear_data()
    plt.xlabel("x: flux")
    plt.title("y: rejection")
    plt.scatter(*cloud, marker="dot", color="gray")
    plt.plot(front, [3 - x / 20 for x in front], marker="braille", color="cyan")
    # The last marks include points on the limits (the extremes of the cloud).
    latest = (
        [rng.uniform(0, 50) for _ in range(6)] + [min(cloud[0]), max(cloud[0])],
        [rng.uniform(-3, 3) for _ in range(6)] + [min(cloud[1]), max(cloud[1])],
    )
    if explicit_limits:
        plt.xlim(*limits((cloud[0], front, latest[0])))
        plt.ylim(*limits((cloud[1], [3 - x / 20 for x in front], latest[1])))
    return latest


async def compare(size: tuple[int, int], setup: Callable[[PlotextPlot, PlotCanvas], None]) -> None:
    plain, canvas = PlotextPlot(), PlotCanvas()
    app = SideBySide(plain, canvas)
    async with app.run_test(size=size) as pilot:
        setup(plain, canvas)
        plain.refresh()
        canvas.invalidate()
        await pilot.pause()
        assert plain.size == canvas.size
        assert lines(canvas) == lines(plain)


async def test_the_strips_are_textual_plotexts_picture() -> None:
    for size in ((120, 30), (60, 12), (24, 6)):
        for seed in range(3):

            def setup(plain: PlotextPlot, canvas: PlotCanvas, seed: int = seed) -> None:
                for plt in (plain.plt, canvas.plt):
                    latest = draw(plt, random.Random(seed))
                    plt.scatter(*latest, marker="x", color="orange")

            await compare(size, setup)


async def test_an_overlay_is_plotext_drawing_those_marks_last() -> None:
    for size in ((120, 30), (60, 12), (24, 6), (12, 4)):
        for seed in range(4):

            def setup(plain: PlotextPlot, canvas: PlotCanvas, seed: int = seed) -> None:
                latest = draw(plain.plt, random.Random(seed))  # limits as plotext takes them
                plain.plt.scatter(*latest, marker="x", color="orange")
                plain.plt.scatter(latest[0][:2], latest[1][:2], marker="◆", color="red")
                latest = draw(canvas.plt, random.Random(seed), explicit_limits=True)
                canvas.set_overlay(
                    (
                        Overlay(latest[0], latest[1], "x", "orange"),
                        Overlay(latest[0][:2], latest[1][:2], "◆", "red"),
                    )
                )

            await compare(size, setup)


async def test_changing_only_the_overlay_builds_nothing() -> None:
    canvas = PlotCanvas()
    async with SideBySide(canvas, PlotCanvas()).run_test(size=(160, 20)) as pilot:
        latest = draw(canvas.plt, random.Random(1), explicit_limits=True)
        canvas.invalidate()
        await pilot.pause()
        before = [strip.text for strip in canvas.strips()]
        builds = canvas.builds
        canvas.set_overlay((Overlay(latest[0], latest[1], "x", "orange"),))
        await pilot.pause()
        after = [strip.text for strip in canvas.strips()]
        assert canvas.builds == builds
        assert sum(line.count("x") for line in after) > sum(line.count("x") for line in before)
        canvas.set_overlay(())
        await pilot.pause()
        assert [strip.text for strip in canvas.strips()] == before and canvas.builds == builds


def test_importing_the_monitor_and_its_plots_does_not_import_plotext() -> None:
    script = (
        "import json, sys\n"
        "import materia_tui.ui.app, materia_tui.ui.widgets.pareto_plot, materia_tui.ui.widgets.parity_plot\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    modules = json.loads(done.stdout.splitlines()[-1])
    assert "materia_tui.ui.widgets.plot_canvas" in modules
    assert [m for m in modules if "plotext" in m.replace("plot_canvas", "")] == []
