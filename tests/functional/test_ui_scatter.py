"""The Pareto scatter: its thinned cloud and its picture, kept up to date
incrementally, must equal what is computed from scratch."""

from __future__ import annotations

import random

from textual.app import App, ComposeResult
from textual.containers import Horizontal

from materia_tui.protocol import Candidate, CandidatesEvaluated, CandidatesProposed, EvaluationResult
from materia_tui.state import CampaignState
from materia_tui.state.changes import ChangeSet
from materia_tui.state.intake import apply_item
from materia_tui.ui.widgets.pareto_plot import (
    LATEST_COLOUR,
    LATEST_MARKER,
    ParetoPlot,
    ScatterData,
    scatter_data,
)
from materia_tui.ui.widgets.thinned_cloud import COLD_CHUNK, ThinnedCloud
from tests.support.fake_source import T0, CampaignScript, campaign_items
from tests.support.waiting import wait_for

GRID = (12, 6)


def occupied_cells(cloud: ThinnedCloud) -> set[tuple[int, int]]:
    return {cloud.cell(x, y) for _, x, y in cloud.points()}


def measured_points(state: CampaignState, cloud: ThinnedCloud) -> dict[int, tuple[float, float]]:
    """Every evaluated candidate's point, straight from the records."""
    points = {}
    for cand in state.candidate_list:
        x, y = cand.objectives.get(cloud.x_name or ""), cand.objectives.get(cloud.y_name)
        if cand.status == "evaluated" and x is not None and y is not None:
            points[cand.row] = (x, y)
    return points


def assert_same_as_from_scratch(state: CampaignState, incremental: ThinnedCloud) -> None:
    fresh = ThinnedCloud(incremental.x_name, incremental.y_name)
    while not fresh.complete:
        fresh.update(state, incremental.grid, ChangeSet())
    points = measured_points(state, incremental)
    assert {row: (x, y) for row, x, y in incremental.points()} == points
    assert {row: (x, y) for row, x, y in fresh.points()} == points
    assert incremental.count == fresh.count == len(points)
    # Every cell holding a measured point shows exactly one mark, and counts its points.
    assert set(incremental.cells) == set(incremental.marks) == occupied_cells(incremental)
    for cell, count in incremental.cells.items():
        assert count == sum(1 for x, y in points.values() if incremental.cell(x, y) == cell)
        assert incremental.cell(*incremental.marks[cell]) == cell
    if incremental.cell_size == fresh.cell_size:
        assert set(incremental.cells) == set(fresh.cells)


def remeasure(state: CampaignState, results: list[EvaluationResult], iteration: int = 1) -> None:
    event = CandidatesEvaluated(results=results, iteration=iteration, seq=None, timestamp=None)
    state.apply(event, T0)


def test_incremental_cloud_matches_a_fresh_one_and_covers_every_occupied_cell() -> None:
    state = CampaignState("camp-123")
    incremental = ThinnedCloud("water_flux", "salt_rejection")
    for item in campaign_items(30):
        apply_item(state, item)
        incremental.update(state, GRID, state.take_changes())
    incremental.update(state, GRID, state.take_changes())
    assert incremental.complete
    assert len(incremental.cells) < incremental.count  # thinned
    assert_same_as_from_scratch(state, incremental)
    columns, rows = GRID
    fresh = ThinnedCloud("water_flux", "salt_rejection")
    fresh.update(state, GRID, ChangeSet())
    assert len(fresh.cells) <= (columns + 1) * (rows + 1)


def test_remeasured_withdrawn_and_unknown_candidates_stream_in_without_full_scans() -> None:
    """The reducer's change sets name the rows to read again, however many evaluations
    arrived between two updates: never a scan of every candidate. The cloud always
    equals one built from scratch."""
    rng = random.Random(3)
    state = CampaignState("camp-123")
    script = CampaignScript()
    cloud = ThinnedCloud("water_flux", "salt_rejection")
    for number in range(1, 9):
        for item in script.iteration(number):
            apply_item(state, item)
    while not cloud.complete:
        cloud.update(state, GRID, state.take_changes())
    scans = cloud.scans
    for step in range(40):
        ids = [c.id for c in rng.sample(state.candidate_list, 4)]
        results = [
            EvaluationResult(candidate_id=ids[0], objectives={"water_flux": rng.uniform(10, 90), "salt_rejection": 95}),
            EvaluationResult(candidate_id=ids[1], error="re-test failed"),  # its point is withdrawn
            EvaluationResult(candidate_id=ids[2], objectives={"water_flux": 50, "salt_rejection": 90}, feasible=False),
            EvaluationResult(candidate_id=f"unknown-{step}", objectives={"water_flux": 40, "salt_rejection": 96}),
        ]
        remeasure(state, results)
        cloud.update(state, GRID, state.take_changes())
        assert_same_as_from_scratch(state, cloud)
    assert cloud.scans == scans  # never scanned every candidate
    # Two evaluations before the next update: the change set holds both.
    first, second = (c.id for c in state.candidate_list[:2])
    remeasure(state, [EvaluationResult(candidate_id=first, objectives={"water_flux": 99, "salt_rejection": 99})])
    remeasure(state, [EvaluationResult(candidate_id=second, objectives={"water_flux": 1, "salt_rejection": 1})])
    cloud.update(state, GRID, state.take_changes())
    assert cloud.scans == scans
    assert cloud.point(0) == (99, 99)
    assert_same_as_from_scratch(state, cloud)


def test_proposals_alone_change_no_point_and_one_objective_plots_the_iteration() -> None:
    state = CampaignState("camp-123")
    cloud = ThinnedCloud(None, "water_flux")
    script = CampaignScript()
    for number in range(1, 4):
        for item in script.iteration(number):
            apply_item(state, item)
    cloud.update(state, GRID, state.take_changes())
    measured = state.candidate_list[0]
    assert cloud.point(measured.row) == (1.0, measured.objectives["water_flux"])
    # Proposed again in iteration 7: with the iteration on x, its point moves.
    again = Candidate(id=measured.id, parameters={"pore_size_nm": 1.0}, predicted={}, uncertainty={})
    state.apply(CandidatesProposed(candidates=[again], iteration=7, seq=None, timestamp=None), T0)
    cloud.update(state, GRID, state.take_changes())
    assert cloud.point(measured.row) == (7.0, measured.objectives["water_flux"])


def test_scatter_data_draws_the_whole_front_sorted_and_the_latest_batch() -> None:
    state = CampaignState("camp-123")
    for item in campaign_items(12):
        apply_item(state, item)
    data = scatter_data(state, ThinnedCloud("water_flux", "salt_rejection"), GRID, state.take_changes())
    assert len(data.front[0]) == state.pareto_size
    assert data.front[0] == sorted(data.front[0])
    assert len(data.latest[0]) > 0
    assert data.x_label == "water_flux [L/m2/h]↑" and data.front_as_line


def test_a_batch_that_would_cover_the_cloud_is_not_marked() -> None:
    """Batches of 2,000 over a 40x12 grid: the newest would mark most cells and hide
    the density under them, so it is left unmarked (the caption says so); a batch of a
    few candidates is marked as ever."""
    state = scripted_state(batch=2000, iterations=4)
    cloud = ThinnedCloud("water_flux", "salt_rejection")
    data = scatter_data(state, cloud, GRID, state.take_changes())
    assert data.latest == ([], []) and data.unmarked == 2000
    assert data.measured > 7000 and len(data.front[0]) == state.pareto_size > 0
    fresh = [Candidate(id=f"new-{k}", parameters={}, predicted={}, uncertainty={}) for k in range(3)]
    state.apply(CandidatesProposed(candidates=fresh, iteration=5, seq=None, timestamp=None), T0)
    results = [
        EvaluationResult(candidate_id=f"new-{k}", objectives={"water_flux": 40.0 + k, "salt_rejection": 95.0})
        for k in range(3)
    ]
    state.apply(CandidatesEvaluated(results=results, iteration=5, seq=None, timestamp=None), T0)
    data = scatter_data(state, cloud, GRID, state.take_changes())
    assert data.unmarked == 0 and 0 < len(data.latest[0]) <= 3


async def test_the_caption_says_the_latest_batch_is_unmarked_where_it_has_room() -> None:
    state = scripted_state(batch=2000, iterations=4)
    app = TwoPlots(state)
    async with app.run_test(size=(200, 24)) as pilot:
        plot = app.query_one("#streamed", ParetoPlot)
        plot.apply_changes(state, state.take_changes(), 0.0)
        await wait_for(pilot, lambda: plot.up_to_date, what="the picture")
        counts = f"{plot.data.measured:,} measured · {state.pareto_size} on front"
        assert plot.data.unmarked == 2000 and str(plot.border_subtitle) == counts + " · latest unmarked"
        await pilot.resize_terminal(70, 24)  # 35 columns a plot: the counts only
        await wait_for(pilot, lambda: str(plot.border_subtitle) == counts, what="the shorter caption")


def scripted_state(batch: int, iterations: int) -> CampaignState:
    state = CampaignState("camp-123")
    script = CampaignScript(batch=batch)
    for n in range(1, iterations + 1):
        for item in script.iteration(n):
            apply_item(state, item)
    return state


def test_a_large_first_catch_up_is_split_into_steps() -> None:
    state = scripted_state(batch=2500, iterations=9)
    cloud = ThinnedCloud("water_flux", "salt_rejection")
    steps = 0
    while True:
        cloud.update(state, GRID, state.take_changes())
        steps += 1
        if cloud.complete:
            break
    assert steps == -(-len(state.candidate_list) // COLD_CHUNK) > 1
    assert cloud.count == sum(1 for c in state.candidate_list if c.status == "evaluated")


class TwoPlots(App[None]):
    """The streamed plot and a reference of the same size."""

    CSS = "TwoPlots > Horizontal > ParetoPlot { width: 1fr; height: 1fr; }"

    def __init__(self, state: CampaignState) -> None:
        super().__init__()
        self.state = state

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield ParetoPlot(self.state, id="streamed")
            yield ParetoPlot(CampaignState("reference"), id="reference")


def segments_of(plot: ParetoPlot) -> list[list[tuple[str, str]]]:
    return [[(s.text, str(s.style)) for s in strip] for strip in plot.strips()]


async def test_the_streamed_picture_equals_plotext_drawing_everything() -> None:
    """Batches that only move the latest marks (an overlay on the cached plotext
    picture) and batches that change the front or the axes (a rebuild) both give
    exactly the picture of plotext drawing every series, the latest batch last."""
    state = CampaignState("camp-123")
    script = CampaignScript(batch=300)
    for number in range(1, 11):
        for item in script.iteration(number):
            apply_item(state, item)
    script.batch = 4  # then small batches, most of which change neither the front nor the cloud's cells
    app = TwoPlots(state)
    async with app.run_test(size=(140, 24)) as pilot:
        plot = app.query_one("#streamed", ParetoPlot)
        reference = app.query_one("#reference", ParetoPlot)
        reference.canvas_changed = lambda: None  # type: ignore[method-assign]  # it only draws what it is given
        overlay_only = rebuilt = 0
        for number in range(11, 41):
            for item in script.iteration(number):
                apply_item(state, item)
            builds = plot.builds
            plot._drawn_at = 0.0  # not throttled
            plot.apply_changes(state, state.take_changes(), 0.0)
            await pilot.pause()
            assert plot.up_to_date
            if plot.builds == builds:
                overlay_only += 1
            else:
                rebuilt += 1
            # The reference: plotext draws the same data, the latest batch as a series.
            reference._cloud, reference.data, reference._picture = plot._cloud, plot.data, None
            reference._draw()
            reference.plt.scatter(*plot.data.latest, marker=LATEST_MARKER, color=LATEST_COLOUR)
            reference.set_overlay(())
            await pilot.pause()
            assert reference.size == plot.size
            streamed = segments_of(plot)
            assert segments_of(reference) == streamed, number
            assert any(LATEST_MARKER in text for line in streamed for text, _ in line)  # the latest batch is marked
        assert overlay_only and rebuilt  # both paths were taken


async def test_a_latest_mark_beyond_the_drawn_points_moves_the_axes() -> None:
    """A new point can fall in an occupied cell yet beyond every drawn point: the
    limits grow, so the cached plotext picture is rebuilt, not overlaid."""
    app = TwoPlots(CampaignState("camp-123"))
    async with app.run_test(size=(140, 24)) as pilot:
        plot = app.query_one("#streamed", ParetoPlot)
        reference = app.query_one("#reference", ParetoPlot)
        cloud = ([1.0, 2.0, 3.0, 4.0], [4.0, 1.0, 3.0, 2.0])
        front = ([3.0, 4.0], [3.0, 2.0])
        steps = (  # latest batch, plotext builds expected
            (([2.5], [2.5]), 1),  # the first drawing
            (([3.5], [1.5]), 0),  # inside: an overlay
            (([4.05], [1.5]), 1),  # beyond x = 4
            (([4.05, 0.5], [1.5, 4.5]), 1),  # beyond on both axes
        )
        for latest, expected in steps:
            plot.data = ScatterData("a", "b", cloud, front, latest, measured=5)
            builds = plot.builds
            plot._draw()
            await pilot.pause()
            assert plot.builds == builds + expected, latest
            reference.data, reference._picture = plot.data, None
            reference._draw()
            reference.plt.scatter(*latest, marker=LATEST_MARKER, color=LATEST_COLOUR)
            reference.set_overlay(())
            await pilot.pause()
            assert segments_of(reference) == segments_of(plot), latest


async def test_a_resized_plot_redraws_its_density_for_the_new_size_without_new_data() -> None:
    state = CampaignState("camp-123")
    script = CampaignScript(batch=300)
    for number in range(1, 11):
        for item in script.iteration(number):
            apply_item(state, item)
    app = TwoPlots(state)
    async with app.run_test(size=(60, 20)) as pilot:
        plot = app.query_one("#streamed", ParetoPlot)
        plot.apply_changes(state, state.take_changes(), 0.0)
        await wait_for(pilot, lambda: plot.up_to_date, what="the first picture")
        small = plot.data
        await pilot.resize_terminal(160, 48)
        await pilot.pause(0.1)
        fresh = ThinnedCloud(*(plot.axes() or (None, "")))
        expected = ScatterData()
        while not fresh.complete:
            expected = scatter_data(state, fresh, plot._grid(), ChangeSet())
        assert plot.data.density != small.density  # the finer grid holds the points differently
        assert plot.data.density == expected.density and plot.data.cloud == expected.cloud


async def test_a_uniform_cloud_fills_every_character_cell_of_the_plot() -> None:
    """Each cloud cell is drawn at its center, the grid is the plot's own character grid
    and the limits sit on cell centers: 40,000 uniform points leave no character cell
    blank (before, a cell's first point was drawn and fell in the next column or row as
    often as in its own: a quarter of the cells were blank, in stripes). The last column
    and the top row may hold only the extreme points' cell, which the front draws over."""
    rng = random.Random(3)
    state = CampaignState("uniform")
    candidates = [Candidate(id=f"c{k}", parameters={}, predicted={}, uncertainty={}) for k in range(40_000)]
    state.apply(CandidatesProposed(candidates=candidates, iteration=1, seq=None, timestamp=None), T0)
    results = [
        EvaluationResult(candidate_id=f"c{k}", objectives={"f": rng.uniform(0, 100), "g": rng.uniform(0, 100)})
        for k in range(40_000)
    ]
    state.apply(CandidatesEvaluated(results=results, iteration=1, seq=None, timestamp=None), T0)
    app = TwoPlots(state)
    async with app.run_test(size=(120, 24)) as pilot:
        plot = app.query_one("#streamed", ParetoPlot)
        plot.apply_changes(state, state.take_changes(), 0.0)
        await wait_for(pilot, lambda: plot.up_to_date and plot._built is not None, what="the picture")
        await pilot.pause()
        built = plot._built
        assert built is not None and plot._cloud is not None
        assert plot._cloud.grid == (len(built.columns), len(built.lines))  # the plot's own grid
        inner_rows, inner_columns = built.lines[:-1], built.columns[:-1]
        blank = [(r, c) for r in inner_rows for c in inner_columns if built.marker[r][c] == " "]
        assert blank == []
