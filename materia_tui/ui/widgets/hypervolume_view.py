""" "Hypervolume": the measured front's hypervolume per iteration (or best-so-far), and the stop advisor.

Several objectives: the hypervolume of the measured feasible front after
each iteration, against the automatic reference point (10% of the measured
range beyond the worst measured value, named in the caption; see
``insight.hypervolume.reference_point``). One objective: the best value so
far. Under the plot, the stop advisor's line (``insight.advisor``) with its
evidence, for what the ``/`` filter keeps. The alert (toast, bell,
``--notify``) comes from the campaign's ``StopAdvisor``, which advises on the
whole campaign whether or not this view is shown.
Computed in a thread worker (``AnalysisView``) from ``output.analysis``, the
same functions ``materia-tui analyze`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from materia_tui.sanitize import clean
from materia_tui.ui.widgets.analysis_view import AnalysisView, subset
from materia_tui.ui.widgets.plot_canvas import PlotCanvas

if TYPE_CHECKING:  # numpy: never on the start-up path
    from materia_tui.insight.advisor import Advice
    from materia_tui.insight.hypervolume import Trace

LINE_COLOUR = "cyan"


@dataclass(frozen=True, slots=True)
class HypervolumeResult:
    trace: Trace | None
    advice: Advice | None
    reference: dict[str, float]
    objective: str | None  # the one objective of a best-so-far trace


class HypervolumeView(AnalysisView[HypervolumeResult]):
    TITLE: ClassVar[str] = "Hypervolume"
    DEFAULT_CSS: ClassVar[str] = """
    HypervolumeView {
        height: 1fr;
    }
    HypervolumeView > #hypervolume-caption, HypervolumeView > #hypervolume-advice {
        height: auto;
        padding: 0 1;
    }
    HypervolumeView > #hypervolume-canvas {
        height: 1fr;
        min-height: 5;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="hypervolume-caption", markup=False)
        yield PlotCanvas(id="hypervolume-canvas")
        yield Static("", id="hypervolume-advice", markup=False)

    @property
    def advice_line(self) -> str:
        advice = self.result.advice if self.result is not None else None
        return advice.line if advice is not None else ""

    def snapshot(self, state: Any, keep: Any) -> Any:
        """The advisor's coverage counted here, off the store's own columns (a few ms at a
        million rows, where copies of the predictions would be 32 MB); the measurements
        copied for the trace."""
        from materia_tui.output.analysis import coverage_of
        from materia_tui.state.columns import snapshot_columns
        from materia_tui.state.live_columns import read_live

        coverage = read_live(state, lambda live: coverage_of(live, keep), parameters=False, predictions=True)
        return snapshot_columns(state, parameters=False, ids=False, predictions=False), coverage

    def compute_snapshot(self, snapshot: Any, keep: Any, state: Any) -> HypervolumeResult:
        copied, coverage = snapshot
        columns = copied.columns() if keep is None else subset(copied.columns(), keep)
        return self._result(columns, coverage)

    def compute(self, columns: Any, state: Any) -> HypervolumeResult:
        from materia_tui.output.analysis import coverage_of

        return self._result(columns, coverage_of(columns))

    def _result(self, columns: Any, coverage: Any) -> HypervolumeResult:
        from materia_tui.output.analysis import Analysis, advice_for, campaign_trace

        trace = campaign_trace(columns)
        advice = advice_for(trace, columns, coverage) if trace is not None else None
        names = tuple(columns.objectives)
        reference = Analysis(columns.campaign_id, 0, names, {}, trace, advice).reference_point
        objective = names[0] if len(names) == 1 else None
        return HypervolumeResult(trace, advice, reference, objective)

    def show(self, result: HypervolumeResult) -> None:
        canvas = self.query_one(PlotCanvas)
        plt = canvas.plt
        plt.clear_data()
        trace = result.trace
        points = [p for p in trace.points if p.value is not None] if trace is not None else []
        if trace is None or not points:
            self.set_text("#hypervolume-caption", "no measured objectives yet")
        else:
            xs = [p.iteration for p in points]
            ys = [p.value for p in points]
            if trace.kind == "hypervolume":
                ref = ", ".join(f"{clean(k, 16)} {v:.4g}" for k, v in result.reference.items())
                rescaled = " (rescaled)" if trace.reference_version > 1 else ""
                self.set_text(
                    "#hypervolume-caption",
                    f"HV {ys[-1]:.4g} · front {points[-1].front_size} · ref: {ref}{rescaled}",
                )
                plt.title("y: hypervolume of the measured front")
            else:
                name = clean(result.objective or "value", 24)
                self.set_text("#hypervolume-caption", f"best {name} so far: {ys[-1]:.4g}")
                plt.title(f"y: best {name} so far")
            plt.xlabel("x: iteration")
            plt.plot(xs, ys, marker="braille", color=LINE_COLOUR)
            plt.scatter(xs[-1:], ys[-1:], marker="●", color=LINE_COLOUR)
        canvas.invalidate()
        advice = result.advice
        if advice is None:
            self.set_text("#hypervolume-advice", "")
        else:
            line = Text("stop: " if advice.stop else "continue: ", style="bold")
            line.append(advice.line)
            self.set_text("#hypervolume-advice", line)
