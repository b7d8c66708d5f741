"""The Pareto scatter's thinned cloud: faithful to the data, incremental = from scratch."""

from __future__ import annotations

from materia_tui.source import apply_item
from materia_tui.state import CampaignState
from materia_tui.ui.widgets.pareto_plot import COLD_CHUNK, ThinnedCloud, scatter_data
from tests.support.fake_source import CampaignScript, campaign_items

GRID = (12, 6)


def occupied_cells(cloud: ThinnedCloud) -> set[tuple[int, int]]:
    return {cloud.cell(x, y) for x, y in cloud.points.values()}


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
    # Every cell that holds a measured point shows one mark, incrementally too.
    assert set(incremental.cells) == occupied_cells(incremental)
    assert set(fresh.cells) == occupied_cells(fresh)
    columns, rows = GRID
    assert len(fresh.cells) <= (columns + 1) * (rows + 1)


def test_scatter_data_draws_the_whole_front_sorted_and_the_latest_batch() -> None:
    state = CampaignState("camp-123")
    for item in campaign_items(12):
        apply_item(state, item)
    data = scatter_data(state, ThinnedCloud("water_flux", "salt_rejection"), GRID)
    assert len(data.front[0]) == state.pareto_size
    assert data.front[0] == sorted(data.front[0])
    assert len(data.latest[0]) > 0
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
