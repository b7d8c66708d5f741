"""Best value per iteration as a one-style text sparkline, with first/last/best
labels, the latest convergence metric and a CONVERGED marker.

A plain one-style sparkline (rather than Textual's per-cell-coloured Sparkline)
writes several times fewer bytes per update, which matters over SSH.
"""

from __future__ import annotations

from rich.text import Text

from materia_tui.sanitize import clean
from materia_tui.state import CampaignState
from materia_tui.ui import format as fmt
from materia_tui.ui.widgets.text_panel import TextPanel

BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int) -> str:
    """``values`` stretched or squeezed to exactly ``width`` cells.

    With fewer values than cells each value gets a proportional run of cells
    (3 values in 10 cells: 4, 3, 3); with more, each cell shows its bucket's
    last value. One string, drawn in one style: few bytes per update.
    """
    if not values or width <= 0:
        return ""
    count = len(values)
    if count > width:  # the last value of each cell's bucket
        picked = [values[min(count - 1, -(-(cell + 1) * count // width) - 1)] for cell in range(width)]
    else:  # the value whose run covers the cell
        picked = [values[(cell * count) // width] for cell in range(width)]
    low, high = min(values), max(values)
    span = high - low
    if span <= 0:
        return BLOCKS[len(BLOCKS) // 2] * width
    top = len(BLOCKS) - 1
    return "".join(BLOCKS[round((v - low) / span * top)] for v in picked)


class ConvergencePanel(TextPanel):
    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._state: CampaignState | None = None
        self._synced_key: tuple[object, ...] | None = None

    def on_resize(self) -> None:
        if self._state is not None:  # the sparkline spans the panel: redraw at the new width
            self.sync(self._state)

    def sync(self, state: CampaignState) -> None:
        self._state = state
        # Everything shown depends on these; the history only grows, so its
        # length stands for its content. Skipping here keeps a refresh O(1).
        key = (
            len(state.best_history),
            len(state.convergence),
            state.converged_at,
            tuple(state.objectives[:1]),
            self.content_size.width,
        )
        if key == self._synced_key:
            return
        self._synced_key = key
        values = [value for _, value in state.best_history]
        width = max(8, self.content_size.width or 40)
        primary = state.objectives[0] if state.objectives else None
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("best ")
        text.append(clean(primary, 24) if primary else "value")
        text.append(" per iteration\n")
        if values:
            text.append(sparkline(values, width), "bold")
            minimize = primary is not None and state.directions.get(primary) == "minimize"
            best = min(values) if minimize else max(values)
            text.append(
                f"\nfirst {fmt.number(values[0])}  last {fmt.number(values[-1])}  best {fmt.number(best)}"
            )
        else:
            text.append("(no completed iteration yet)", "dim")
        text.append("\nconvergence ")
        if state.convergence:
            text.append(fmt.number(state.convergence[-1].metric))
        else:
            text.append("-")
        if state.converged_at is not None:
            text.append("\n")
            text.append(f" ✔ CONVERGED at iteration {state.converged_at} ", "bold reverse")
        self.show(text)
