"""The scatter cloud's first pass and re-bucketing (numpy over the columns, or row by row for a
small cloud) agree with the row-by-row reader and a plain-Python bucketing, filter and iteration
axis included."""

from __future__ import annotations

import math

import numpy as np
import pytest

from materia_tui.state import CampaignState
from materia_tui.state.changes import ChangeSet
from materia_tui.state.intake import apply_item
from materia_tui.ui.widgets.thinned_cloud import ThinnedCloud
from tests.support.fake_source import campaign_items

GRID = (12, 6)


def campaign() -> CampaignState:
    state = CampaignState("camp-123")
    for item in campaign_items(30, partial_last=True):  # a failed, a proposed-only iteration too
        apply_item(state, item)
    return state


def reference_buckets(
    cloud: ThinnedCloud,
) -> tuple[dict[tuple[int, int], int], dict[tuple[int, int], tuple[float, float]]]:
    """What the re-bucketing must give: each point by row into ``cloud.cell``; a cell's
    mark its first point; cells in order of their first point."""
    cells: dict[tuple[int, int], int] = {}
    marks: dict[tuple[int, int], tuple[float, float]] = {}
    for _, x, y in cloud.points():
        cell = cloud.cell(x, y)
        cells[cell] = cells.get(cell, 0) + 1
        marks.setdefault(cell, (x, y))
    return cells, marks


@pytest.mark.parametrize("x_name", ["water_flux", None])
@pytest.mark.parametrize("filtered", [False, True])
@pytest.mark.parametrize("small_cloud", [0, 5_000], ids=["numpy", "row by row"])
def test_the_first_pass_reads_what_the_row_reader_reads(
    x_name: str | None, filtered: bool, small_cloud: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Up to SMALL_CLOUD rows the cloud is read and bucketed without numpy: both ways agree.
    monkeypatch.setattr("materia_tui.ui.widgets.thinned_cloud.SMALL_CLOUD", small_cloud)
    state = campaign()
    cloud = ThinnedCloud(x_name, "salt_rejection")
    cloud._follower.chunk = 40  # several steps over the 150 rows
    count = len(state.store)
    if filtered:  # every third row kept; the mask shorter than the store (rows added since)
        cloud.kept = np.arange(count - 7) % 3 == 0
    steps = 0
    while not cloud.complete:
        cloud.update(state, GRID, ChangeSet())
        steps += 1
    assert steps == 4
    point_of = cloud._reader(state)
    expected = {row: point for row in range(count) if (point := point_of(row)) is not None}
    assert {row: (x, y) for row, x, y in cloud.points()} == expected
    assert cloud.count == len(expected) > 0
    assert all(row < count - 7 and row % 3 == 0 for row in expected) or not filtered
    cells, marks = reference_buckets(cloud)
    assert list(cloud.cells.items()) == list(cells.items())
    assert list(cloud.marks.items()) == list(marks.items())
    xs = [x for x, _ in expected.values()]
    ys = [y for _, y in expected.values()]
    assert cloud.bounds == (min(xs), max(xs), min(ys), max(ys))
    assert all(isinstance(v, int) for cell in cloud.cells for v in cell)
    assert all(isinstance(v, float) and not math.isnan(v) for mark in cloud.marks.values() for v in mark)


def test_a_first_pass_over_nothing_measured_holds_no_point() -> None:
    state = CampaignState("camp-123")
    for item in campaign_items(1, partial_last=True):
        apply_item(state, item)
    cloud = ThinnedCloud("water_flux", "salt_rejection")
    cloud.update(state, GRID, ChangeSet())
    assert cloud.complete and cloud.count == 0 and cloud.cells == {} and cloud.bounds is None


@pytest.mark.parametrize("offset", [0.0, -37.0, 1e17], ids=["near", "negative", "far out: lexsort"])
def test_cell_runs_group_and_order_as_a_lexsort_of_the_cells(offset: float) -> None:
    from materia_tui.ui.widgets.thinned_cloud import _cell_floors, _cell_runs

    rng = np.random.default_rng(7)
    xs, ys = rng.uniform(0, 10, 5_000) + offset, rng.uniform(-5, 5, 5_000)
    cx, cy = _cell_floors(xs, 0.7), _cell_floors(ys, 0.3)
    assert (cx == np.floor(xs / 0.7)).all()
    expected = np.lexsort((cy, cx))
    sx, sy = cx[expected], cy[expected]
    expected_starts = np.flatnonzero(np.r_[True, (sx[1:] != sx[:-1]) | (sy[1:] != sy[:-1])])
    order, starts = _cell_runs(cx.copy(), cy.copy())
    np.testing.assert_array_equal(order, expected)
    np.testing.assert_array_equal(starts, expected_starts)


@pytest.mark.parametrize("offset", [0.0, -37.0, 1e17], ids=["near", "negative", "far out: sorted"])
def test_rebucketing_in_chunks_gives_the_cells_of_a_point_by_point_bucketing(
    offset: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chunks of 1,000 over 7,000 rows (every fifth without a point): counts add up across
    # chunks and each cell's mark is its first point by row, whichever chunk it is in.
    monkeypatch.setattr("materia_tui.ui.widgets.thinned_cloud.REBUCKET_CHUNK", 1_000)
    from array import array

    rng = np.random.default_rng(11)
    xs, ys = rng.uniform(0, 10, 7_000) + offset, rng.normal(0, 3, 7_000)
    xs[::5] = ys[::5] = math.nan
    cloud = ThinnedCloud("water_flux", "salt_rejection")
    cloud.xs, cloud.ys = array("d", xs.tolist()), array("d", ys.tolist())
    cloud.count = int(np.count_nonzero(~np.isnan(xs)))
    cloud.grid = GRID
    cloud._rebucket()
    cells, marks = reference_buckets(cloud)
    assert sum(cells.values()) == cloud.count
    assert list(cloud.cells.items()) == list(cells.items())
    assert list(cloud.marks.items()) == list(marks.items())
