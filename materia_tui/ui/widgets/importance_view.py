""" "Parameter importance": per objective, how much each parameter explains the measured values.

Permutation importance on a random forest (``insight.importance``: why this
method is in its docstring), as bars ranked per objective, each objective
headed by the number of measurements the ranking rests on; an objective
whose values the parameters do not explain shows the reason instead of bars.
scikit-learn takes about 1.5 s per objective at the 5,000-row cap, so it runs
in a thread worker (``AnalysisView``), at most every ``MIN_SECONDS`` while
data streams in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from materia_tui.sanitize import clean
from materia_tui.ui.widgets.analysis_view import AnalysisView

if TYPE_CHECKING:  # numpy: never on the start-up path
    from materia_tui.insight.importance import Importance

MIN_SECONDS = 10.0  # between two computations while data streams (each costs seconds of one core)
BAR = "█"
PARTIAL = " ▏▎▍▌▋▊▉"
BAR_COLOURS = ("cyan", "green", "yellow", "magenta")


def bar(fraction: float, width: int) -> str:
    """A horizontal bar of ``fraction`` of ``width`` cells, in eighths of a cell."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    return BAR * full + (PARTIAL[part] if part else "")


def importance_text(results: dict[str, Importance], width: int) -> Text:
    text = Text()
    if not results:
        text.append("no measurements yet", "dim")
        return text
    names = [name for result in results.values() for name in result.scores]
    label_width = min(18, max((len(n) for n in names), default=8))
    bar_width = max(5, width - label_width - 9)  # 2 indent + label + 1 + bar + 6 for the score
    for index, (objective, result) in enumerate(results.items()):
        if index:
            text.append("\n")
        text.append(clean(objective, 30), "bold")
        text.append(f"  {result.rows:,} measurements", "dim")
        if result.r2 is not None:
            text.append(f", R² {result.r2:.2f}", "dim")  # the forest's, on held-out measurements
        text.append("\n")
        if not result.informative:
            text.append(f"  {result.reason}\n", "italic")
            continue
        colour = BAR_COLOURS[index % len(BAR_COLOURS)]
        for name, score in result.ranking():
            text.append(f"  {clean(name, label_width):<{label_width}} ")
            text.append(f"{bar(score, bar_width):<{bar_width}}", colour)
            text.append(f" {score:4.2f}\n")
    return text


class ImportanceView(AnalysisView["dict[str, Importance]"]):
    TITLE: ClassVar[str] = "Parameter importance"
    MIN_SECONDS: ClassVar[float] = MIN_SECONDS  # seconds of CPU per run: wait longer between runs
    DEFAULT_CSS: ClassVar[str] = """
    ImportanceView {
        height: 1fr;
    }
    ImportanceView > #importance-body {
        height: auto;
        padding: 0 1;
    }
    """

    max_rows: int | None = None  # measurements per objective (None: the method's own cap)

    def compose(self) -> ComposeResult:
        yield Static(Text("computing…", "dim"), id="importance-body")

    def snapshot(self, state: Any, keep: Any) -> Any:
        """Each objective's sample of its measured rows (kept by the filter), drawn here as
        ``parameter_importance`` draws it, and only those rows copied: at a million
        candidates the parameters' columns are ~50 MB, the sampled rows a few hundred KB."""
        import numpy as np

        from materia_tui.insight.importance import Sample, sample_rows
        from materia_tui.state.columns import snapshot_columns
        from materia_tui.state.live_columns import measured_rows

        samples: dict[str, Sample] = {}
        for name in state.objectives:
            rows = measured_rows(state, name)
            if keep is not None:
                rows = rows[keep[rows]]
            chosen = sample_rows(rows) if self.max_rows is None else sample_rows(rows, self.max_rows)
            samples[name] = Sample(chosen, len(rows))
        picked = np.unique(np.concatenate([np.empty(0, np.intp), *(s.rows for s in samples.values())]))
        copied = snapshot_columns(state, ids=False, predictions=False, picked=picked)
        # Each sample as positions among the rows copied (both ascending: the same order).
        at = {name: Sample(np.searchsorted(picked, s.rows), s.measured) for name, s in samples.items()}
        return copied, at

    def compute_snapshot(self, snapshot: Any, keep: Any, state: Any) -> dict[str, Importance]:
        from materia_tui.insight.importance import importance_by_objective

        copied, samples = snapshot  # the filter is in the samples already
        columns = copied.columns()
        if not columns.parameters or not columns.objectives:
            return {}
        return importance_by_objective(columns.parameters, columns.objectives, samples=samples)

    def compute(self, columns: Any, state: Any) -> dict[str, Importance]:
        from materia_tui.output.analysis import campaign_importance

        return campaign_importance(columns)

    @property
    def shown_text(self) -> str:
        body = self.query_one("#importance-body", Static)
        return importance_text(
            self.result or {}, max(20, body.content_region.width or self.size.width - 4)
        ).plain

    def show(self, result: dict[str, Importance]) -> None:
        self.query_one("#importance-body", Static).update(
            importance_text(result, max(20, self.size.width - 4))
        )

    def on_resize(self) -> None:
        if self.result is not None:
            self.show(self.result)
