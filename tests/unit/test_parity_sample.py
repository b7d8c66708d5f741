"""The parity plot's systematic sample, read from the pairs' columns."""

from __future__ import annotations

import math

import numpy as np

from materia_tui.state.calibration import ParityColumns
from materia_tui.ui.widgets.parity_plot import systematic_sample


def columns_of(rows: list[int]) -> ParityColumns:
    values = np.array(rows, dtype=np.float64)
    sigma = np.where(values % 3 == 0, math.nan, 1.0)  # every third row without a sigma
    return ParityColumns("y", np.array(rows, dtype=np.intp), values, values + 0.5, sigma)


def test_few_pairs_are_all_drawn() -> None:
    ids = [f"c-{row}" for row in range(10)]
    sample = systematic_sample(columns_of([1, 3, 4, 9]), ids, 10, cap=4)  # type: ignore[arg-type]
    assert [(p.candidate_id, p.row, p.predicted, p.measured, p.uncertainty) for p in sample] == [
        ("c-1", 1, 1.0, 1.5, 1.0),
        ("c-3", 3, 3.0, 3.5, None),
        ("c-4", 4, 4.0, 4.5, 1.0),
        ("c-9", 9, 9.0, 9.5, None),
    ]


def test_many_pairs_are_those_of_every_kth_row() -> None:
    rows = [row for row in range(1000) if row % 7 != 3]  # most rows hold a pair
    ids = [f"c-{row}" for row in range(1000)]
    sample = systematic_sample(columns_of(rows), ids, 1000, cap=100)  # type: ignore[arg-type]
    stride = math.ceil(len(rows) / 100)
    assert [p.row for p in sample] == [row for row in range(0, 1000, stride) if row % 7 != 3]
    assert all(p.candidate_id == f"c-{p.row}" for p in sample)
    assert 80 <= len(sample) <= 100
