"""The Pareto scatter's thinned cloud: faithful to the data, incremental = from scratch."""

from __future__ import annotations

from materia_tui.source import apply_item
from materia_tui.state import CampaignState
from materia_tui.ui.widgets.pareto_plot import COLD_CHUNK, ThinnedCloud, scatter_data
from tests.support.fake_source import CampaignScript, campaign_items

GRID = (12, 6)


def occupied_cells(cloud: ThinnedCloud) -> set[tuple[int, int]]:
    assert cloud.bounds is not None
    x0, x1, y0, y1 = cloud.bounds
    kx, ky = GRID[0] / (x1 - x0), GRID[1] / (y1 - y0)
    return {(int((x - x0) * kx), int((y - y0) * ky)) for x, y in cloud.points.values()}


def test_incremental_cloud_matches_a_fresh_one_and_covers_every_occupied_cell() -> None:
    state = CampaignState("camp-123")
    incremental = ThinnedCloud("water_flux", "salt_rejection")
    for item in campaign_items(30):
        apply_item(state, item)
        incremental.update(state, GRID)
    incremental.update(state, GRID)
    fresh = ThinnedCloud("water_flux", "salt_rejection")
    fresh.update(state, GRID)
    assert fresh.complete and incremental.complete
    evaluated = {c.row for c in state.candidate_list if c.status == "evaluated"}
    assert set(incremental.points) == set(fresh.points) == evaluated
    assert len(incremental.cells) < len(evaluated)  # thinned
    # Every cell that holds a measured point shows one mark (in the current bounds' grid).
    fresh._rebucket()
    incremental._rebucket()
    assert set(fresh.cells) == set(incremental.cells) == occupied_cells(fresh)


def test_scatter_data_draws_the_whole_front_sorted_and_the_latest_batch() -> None:
    state = CampaignState("camp-123")
    for item in campaign_items(12):
        apply_item(state, item)
    data = scatter_data(state, ThinnedCloud("water_flux", "salt_rejection"), GRID)
    assert len(data.front[0]) == state.pareto_size
    assert data.front[0] == sorted(data.front[0])
    latest_measured = [c for c in state.latest_batch if state.candidates[c].status == "evaluated"]
    assert len(data.latest[0]) == len(latest_measured) > 0
    assert data.x_label == "water_flux [L/m2/h]↑" and data.front_as_line


def test_a_large_first_catch_up_is_split_into_steps() -> None:
    state = CampaignState("camp-123")
    script = CampaignScript(batch=2500)
    for n in range(1, 10):
        for item in script.iteration(n):
            apply_item(state, item)
    cloud = ThinnedCloud("water_flux", "salt_rejection")
    steps = 0
    while True:
        cloud.update(state, GRID)
        steps += 1
        if cloud.complete:
            break
    assert steps == -(-len(state.candidate_list) // COLD_CHUNK) > 1
    assert len(cloud.points) == sum(1 for c in state.candidate_list if c.status == "evaluated")
