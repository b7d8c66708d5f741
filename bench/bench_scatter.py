"""The Pareto scatter with 100k measured candidates, headless at 120x40.

Redraw: 5 new measurements arrive (drawn like the campaign's own, so they land
anywhere in the cloud and now and then on the front), the plot syncs (its
thinned cloud takes the new points, the front and latest batch are rebuilt)
and the frame is painted. Three measurements, interleaved in one run:

- the plot as it runs: the plotext picture (cloud, front, axes) is rebuilt only
  when it changed, the latest batch is an overlay;
- the same redraw forced to rebuild the plotext picture (what every batch that
  moves the front or the axes costs);
- baseline: a plain ``PlotextPlot`` scattering every point (what a
  straightforward dashboard does), same size, same data.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual_plotext import PlotextPlot

from bench.bench_table import SIZE, Host, timed
from bench.common import BenchResult, Row, big_state, median, ms, run_cli
from materia_tui.state import CampaignState
from materia_tui.ui.widgets.pareto_plot import ParetoPlot

TARGET = 0.040
BATCH = 5


def measure_batch(state: CampaignState, first: int, rng: random.Random) -> None:
    """Propose and measure ``BATCH`` new candidates, spread like ``big_state``'s."""
    from materia_tui.protocol import Candidate, CandidatesEvaluated, CandidatesProposed, EvaluationResult

    iteration = state.current_iteration + 1
    batch = [
        Candidate.model_construct(
            id=f"n-{first + k}",
            parameters={"pore_size_nm": 0.3 + 1.7 * rng.random(), "polymer": "PES"},
            predicted={"water_flux": 40.0},
            uncertainty={"water_flux": 1.0},
            acquisition_value=None,
        )
        for k in range(BATCH)
    ]
    state.apply(CandidatesProposed.model_construct(candidates=batch, iteration=iteration), time.time())
    results = []
    for c in batch:
        pore, wobble = float(c.parameters["pore_size_nm"]), rng.random()
        objectives = {
            "water_flux": 18 + 32 * pore + 8 * wobble,
            "salt_rejection": 99.5 - 6.5 * pore * pore - 2.5 * (1 - wobble),
        }
        result = EvaluationResult.model_construct(
            candidate_id=c.id, feasible=True, error=None, objectives=objectives
        )
        results.append(result)
    state.apply(CandidatesEvaluated.model_construct(results=results, iteration=iteration), time.time())


async def measure(state: CampaignState, repeat: int) -> tuple[dict[str, list[float]], ParetoPlot, int]:
    times: dict[str, list[float]] = {"redraw": [], "rebuild": [], "naive": []}
    rebuilt = 0  # plain redraws that rebuilt the plotext picture
    rng = random.Random(5)
    async with Host().run_test(size=SIZE) as pilot:
        host = pilot.app.query_one("#host")
        plot = ParetoPlot(state)
        plain = PlotextPlot()
        plain.display = False
        await host.mount(plot)
        await host.mount(plain)
        while not (plot._cloud is not None and plot._cloud.complete):  # the first catch-up, in steps
            plot.sync()
            await pilot.pause()
        state.take_changes()  # the catch-up read every row: what built the state is seen
        points = [
            (c.objectives["water_flux"], c.objectives["salt_rejection"])
            for c in state.candidate_list
            if c.status == "evaluated" and "salt_rejection" in c.objectives
        ]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        first_id = 30_000_000

        def redraw() -> None:
            plot._drawn_at = 0.0  # measure a redraw, not the 4 Hz throttle
            plot.apply_changes(state, state.take_changes(), 0.0)

        def rebuild() -> None:
            plot._picture = None  # as if the front or the axes had changed
            redraw()

        def naive_redraw() -> None:
            plain.plt.clear_data()
            plain.plt.scatter(xs, ys, marker="dot")
            plain.refresh()

        for index in range(repeat):
            measure_batch(state, first_id + 2 * index * BATCH, rng)
            builds = plot.builds
            times["redraw"].append(await timed(pilot, redraw))
            rebuilt += plot.builds > builds
            measure_batch(state, first_id + (2 * index + 1) * BATCH, rng)
            times["rebuild"].append(await timed(pilot, rebuild))
            if index % 3 == 0:
                plot.display, plain.display = False, True
                await pilot.pause()
                times["naive"].append(await timed(pilot, naive_redraw))
                plot.display, plain.display = True, False
                await pilot.pause()
    return times, plot, rebuilt


def bench(quick: bool) -> BenchResult:
    result = BenchResult("Pareto scatter, 100k measured candidates, 120x40 (headless)")
    repeat = 5 if quick else 15
    state = big_state(100_000)
    times, plot, rebuilt = asyncio.run(measure(state, repeat))
    measured = plot.data.measured
    expected = 100_000 + 2 * BATCH * repeat
    result.check(measured == expected, f"the plot counts {measured:,} measured candidates, not {expected:,}")
    assert plot._cloud is not None
    result.check(plot._cloud.scans == 0, f"{plot._cloud.scans} full scans for changed candidates")
    baseline = median(times["naive"])
    for key, what in (
        ("redraw", f"redraw after {BATCH} new measurements"),
        ("rebuild", "  the same, plotext picture rebuilt (front or axes changed)"),
    ):
        value = median(times[key])
        result.rows.append(
            Row(
                what,
                f"<= {ms(TARGET)}" if key == "redraw" else "",
                f"{ms(value)} (worst {ms(max(times[key]))})",
                f"plotext, every point: {ms(baseline)}",
                f"{value / baseline:.2f}x",
                meets_target=value <= TARGET if key == "redraw" else None,
            )
        )
    result.notes.append(
        f"median of {repeat} redraws each, interleaved with {len(times['naive'])} baseline redraws; "
        f"{rebuilt} of the {repeat} plain redraws rebuilt the plotext picture (the others only "
        "moved the latest batch's marks). The cloud is thinned to one mark per plot cell, the front "
        "and the latest batch to one mark per cell of theirs."
    )
    return result


if __name__ == "__main__":
    run_cli(bench)
