"""The Pareto scatter with 100k measured candidates, headless at 120x40.

Redraw: new measurements arrive (5 candidates), the plot syncs (its thinned
cloud takes the new points, the front and latest batch are rebuilt) and the
frame is painted. Baseline in the same run: a plain ``PlotextPlot`` scattering
every point (what a straightforward dashboard does), same size, same data.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual_plotext import PlotextPlot

from bench.bench_table import SIZE, Host, timed
from bench.common import BenchResult, Row, big_state, median, more_candidates, ms, run_cli
from materia_tui.state import CampaignState
from materia_tui.ui.widgets.pareto_plot import ParetoPlot

TARGET = 0.040


async def measure(state: CampaignState, repeat: int) -> tuple[list[float], list[float], int]:
    redraws: list[float] = []
    naive: list[float] = []
    async with Host().run_test(size=SIZE) as pilot:
        host = pilot.app.query_one("#host")
        plot = ParetoPlot(state)
        await host.mount(plot)
        while not (plot._cloud is not None and plot._cloud.complete):  # the first catch-up, in steps
            plot.sync()
            await pilot.pause()
        first_id = 30_000_000

        def redraw() -> None:
            plot._drawn_at = 0.0  # measure a redraw, not the 4 Hz throttle
            plot.sync()

        for index in range(repeat):
            more_candidates(state, 5, evaluate=True, first_id=first_id + index * 5)
            redraws.append(await timed(pilot, redraw))
        measured = plot.data.measured
        await plot.remove()
        points = [
            (c.objectives["water_flux"], c.objectives["salt_rejection"])
            for c in state.candidate_list
            if c.status == "evaluated" and "salt_rejection" in c.objectives
        ]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        plain = PlotextPlot()
        await host.mount(plain)

        def naive_redraw() -> None:
            plain.plt.clear_data()
            plain.plt.scatter(xs, ys, marker="dot")
            plain.refresh()

        for _ in range(max(2, repeat // 3)):
            naive.append(await timed(pilot, naive_redraw))
    return redraws, naive, measured


def bench(quick: bool) -> BenchResult:
    result = BenchResult("Pareto scatter, 100k measured candidates, 120x40 (headless)")
    repeat = 5 if quick else 15
    state = big_state(100_000)
    redraws, naive, measured = asyncio.run(measure(state, repeat))
    result.check(measured == 100_000 + 5 * repeat, f"the plot counts {measured:,} measured candidates")
    value, baseline = median(redraws), median(naive)
    result.rows.append(
        Row(
            "redraw after 5 new measurements",
            f"<= {ms(TARGET)}",
            f"{ms(value)} (worst {ms(max(redraws))})",
            f"plotext, every point: {ms(baseline)}",
            f"{value / baseline:.2f}x",
            meets_target=value <= TARGET,
        )
    )
    result.notes.append(
        f"median of {repeat} redraws; the cloud is thinned to one mark per plot cell, the front "
        "and the latest batch are drawn in full."
    )
    return result


if __name__ == "__main__":
    run_cli(bench)
