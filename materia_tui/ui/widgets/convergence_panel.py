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
    """``values`` squeezed into ``width`` cells (each cell shows its bucket's last value)."""
    if not values or width <= 0:
        return ""
    if len(values) > width:
        step = len(values) / width
        values = [values[min(len(values) - 1, int((i + 1) * step) - 1)] for i in range(width)]
    low, high = min(values), max(values)
    span = high - low
    if span <= 0:
        return BLOCKS[len(BLOCKS) // 2] * len(values)
    top = len(BLOCKS) - 1
    return "".join(BLOCKS[round((v - low) / span * top)] for v in values)


class ConvergencePanel(TextPanel):
    def sync(self, state: CampaignState) -> None:
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
