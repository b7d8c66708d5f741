"""The parity plot's systematic sample (``calibration.parity_sample``), read from the
store's columns a block of rows at a time: the pairs of every k-th candidate row."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from materia_tui.protocol import Campaign, Rejected, parse_object
from materia_tui.state import CampaignState
from materia_tui.state.calibration import ParityColumns, parity_columns, parity_sample
from materia_tui.ui.widgets.parity_plot import sampled_pairs
from tests.support.campaigns import campaign_events, campaign_meta


def campaign(iterations: int = 12, batch: int = 9) -> CampaignState:
    state = CampaignState("c", Campaign.model_validate(campaign_meta()))
    for raw in campaign_events(5, iterations=iterations, batch=batch):
        event = parse_object(raw)
        assert not isinstance(event, Rejected)
        state.apply(event, 0.0)
    return state


def every_kth(pairs: ParityColumns, rows: int, cap: int) -> list[int]:
    """The indexes the sample takes, as the plot picked them from every pair held whole."""
    if len(pairs.rows) <= cap:
        return list(range(len(pairs.rows)))
    stride = math.ceil(len(pairs.rows) / cap)
    wanted = set(range(0, rows, stride))
    return [index for index, row in enumerate(pairs.rows.tolist()) if row in wanted]


@pytest.mark.parametrize("block", [1, 4, 13, 1 << 17])
@pytest.mark.parametrize("cap", [5, 17, 10_000])
@pytest.mark.parametrize("filtered", [False, True])
def test_the_sample_is_every_kth_row_of_the_pairs(block: int, cap: int, filtered: bool, monkeypatch: Any) -> None:
    import materia_tui.state.calibration as calibration

    monkeypatch.setattr(calibration, "PARITY_BLOCK", block)
    state = campaign()
    keep = np.arange(len(state.store)) % 3 != 1 if filtered else None
    rows = len(state.store)
    for objective in state.objectives:
        whole = parity_columns(state, objective, keep)
        assert len(whole.rows) > 17
        sample = parity_sample(state, objective, keep, cap)
        indexes = every_kth(whole, rows, cap)
        assert sample.rows.tolist() == whole.rows[indexes].tolist()
        assert sample.predicted.tolist() == whole.predicted[indexes].tolist()
        assert sample.measured.tolist() == whole.measured[indexes].tolist()
        assert np.array_equal(sample.sigma, whole.sigma[indexes], equal_nan=True)


def test_the_pairs_carry_their_candidates_ids() -> None:
    state = campaign(iterations=3, batch=4)
    pairs = sampled_pairs(parity_sample(state, "water_flux", None, 100), state.store.ids)
    assert pairs and all(state.candidate_list[p.row].id == p.candidate_id for p in pairs)
    assert [p.row for p in pairs] == parity_columns(state, "water_flux").rows.tolist()
