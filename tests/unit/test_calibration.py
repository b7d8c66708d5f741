"""Calibration statistics against hand-computed values, and the incremental
tracker against the batch arithmetic over a whole campaign."""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import pytest

from materia_tui.protocol import Rejected, parse_campaign, parse_object
from materia_tui.state import CampaignState
from materia_tui.state.calibration import (
    DEFAULT_LEVELS,
    CalibrationAccumulator,
    CalibrationStats,
    CalibrationTracker,
    ParityColumns,
    ParityPair,
    calibration_stats,
    campaign_calibration,
    column_stats,
    interval_half_widths,
    parity_columns,
    parity_pairs,
    parity_stats,
)
from tests.support.campaigns import campaign_events, campaign_meta


def assert_same(incremental: CalibrationStats, batch: CalibrationStats) -> None:
    """Equal up to the rounding that adding and removing pairs leaves."""
    for name in CalibrationStats.__dataclass_fields__:
        got, want = getattr(incremental, name), getattr(batch, name)
        if isinstance(want, float | tuple):
            assert got == pytest.approx(want, rel=1e-9, abs=1e-9), name
        else:
            assert got == want, name


def pair(predicted: float, measured: float, sigma: float | None, row: int = 0) -> ParityPair:
    return ParityPair(f"c-{row}", row, predicted, measured, sigma)


# residuals 1, -2, 3, 0; z = 0.5, -2, 3 (the last pair has no sigma)
HAND = [pair(10, 11, 2, 0), pair(20, 18, 1, 1), pair(30, 33, 1, 2), pair(40, 40, None, 3)]


def test_accuracy_by_hand() -> None:
    stats = calibration_stats("y", HAND)
    assert stats.count == 4 and stats.with_uncertainty == 3
    assert stats.rmse == pytest.approx(math.sqrt(14 / 4))
    assert stats.mae == pytest.approx(6 / 4)
    # measured 11, 18, 33, 40: mean 25.5, SS_tot = 2 * 14.5² + 2 * 7.5² = 533
    assert stats.r2 == pytest.approx(1 - 14 / 533)


def test_standardized_error_and_coverage_by_hand() -> None:
    stats = calibration_stats("y", HAND)
    assert stats.mean_z == pytest.approx((0.5 - 2 + 3) / 3)
    assert stats.rms_z == pytest.approx(math.sqrt((0.25 + 4 + 9) / 3))
    assert stats.coverage_1sigma == pytest.approx(1 / 3)  # only |z| = 0.5
    assert stats.coverage_2sigma == pytest.approx(2 / 3)  # |z| = 2 is inside: the interval is closed


def test_calibration_error_by_hand() -> None:
    # levels 50% and 90%: |z| bounds 0.674 and 1.645; only |z| = 0.5 is inside either
    two_levels = calibration_stats("y", HAND, levels=(0.5, 0.9))
    assert two_levels.observed_coverage == pytest.approx((1 / 3, 1 / 3))
    assert two_levels.calibration_error == pytest.approx((abs(1 / 3 - 0.5) + abs(1 / 3 - 0.9)) / 2)
    # levels 10%..90%: bounds 0.126 0.253 0.385 0.524 ...: |z| = 0.5 is inside from 40% on
    default = calibration_stats("y", HAND)
    assert default.levels == DEFAULT_LEVELS
    assert default.observed_coverage == pytest.approx((0, 0, 0, *[1 / 3] * 6))
    assert default.calibration_error == pytest.approx((0.1 + 0.2 + 0.3 + 57 / 30) / 9)  # = 5/18


def test_interval_half_widths_are_gaussian_quantiles() -> None:
    one_sigma = 2 * NormalDist().cdf(1) - 1
    assert interval_half_widths((one_sigma, 0.95)) == pytest.approx((1.0, 1.959964), abs=1e-6)
    with pytest.raises(ValueError):
        interval_half_widths((1.0,))


def test_a_calibrated_surrogate_scores_near_zero_and_an_overconfident_one_does_not() -> None:
    # residuals at the Gaussian quantiles of sigma = 2: exactly what a calibrated surrogate makes
    quantiles = [NormalDist().inv_cdf((i + 0.5) / 1000) for i in range(1000)]
    calibrated = calibration_stats("y", [pair(0, 2 * q, 2, i) for i, q in enumerate(quantiles)])
    assert calibrated.calibration_error is not None and calibrated.calibration_error < 0.002
    assert calibrated.coverage_1sigma == pytest.approx(0.683, abs=0.002)
    assert calibrated.coverage_2sigma == pytest.approx(0.954, abs=0.002)
    assert calibrated.mean_z == pytest.approx(0, abs=1e-9)
    assert calibrated.rms_z == pytest.approx(1, abs=0.01)
    # the same residuals claimed with a third of the uncertainty
    overconfident = calibration_stats("y", [pair(0, 2 * q, 2 / 3, i) for i, q in enumerate(quantiles)])
    assert overconfident.coverage_1sigma == pytest.approx(0.261, abs=0.002)  # P(|N| <= 1/3)
    assert overconfident.calibration_error is not None and overconfident.calibration_error > 0.25
    assert overconfident.rms_z == pytest.approx(3, abs=0.03)


def test_missing_data_gives_none_not_nonsense() -> None:
    empty = calibration_stats("y", [])
    assert (empty.count, empty.rmse, empty.r2, empty.calibration_error) == (0, None, None, None)
    one = calibration_stats("y", [pair(1, 2, None)])
    assert one.rmse == pytest.approx(1) and one.r2 is None  # no variance with one point
    assert one.with_uncertainty == 0 and one.coverage_1sigma is None and one.mean_z is None
    flat = calibration_stats("y", [pair(1, 5, 1, 0), pair(2, 5, 1, 1)])
    assert flat.r2 is None  # measured values that do not vary: nothing to explain


def test_r2_is_exact_for_large_values_close_together() -> None:
    base = 1e9
    pairs = [pair(base + p, base + m, None, i) for i, (p, m) in enumerate([(0, 0), (1, 1), (2, 2), (4, 3)])]
    # SS_res = 1, SS_tot = 5 (measured 0..3 around 1.5)
    assert calibration_stats("y", pairs).r2 == pytest.approx(0.8, abs=1e-9)


# ----- from a campaign's state ---------------------------------------------------------------


def folded(events: list[dict[str, Any]], meta: dict[str, Any] | None = None) -> CampaignState:
    state = CampaignState("camp-test", parse_campaign(meta) if meta else None)
    for raw in events:
        apply(state, raw)
    return state


def apply(state: CampaignState, raw: dict[str, Any]) -> None:
    event = parse_object(raw)
    assert not isinstance(event, Rejected), event
    state.apply(event, 0.0)


def proposal(seq: int, *candidates: dict[str, Any]) -> dict[str, Any]:
    return {"type": "candidates_proposed", "iteration": 1, "candidates": list(candidates), "seq": seq}


def evaluation(seq: int, *results: dict[str, Any]) -> dict[str, Any]:
    return {"type": "candidates_evaluated", "iteration": 1, "results": list(results), "seq": seq}


def test_pairs_are_measured_candidates_with_a_prediction() -> None:
    state = folded(
        [
            proposal(
                1,
                {"id": "ok", "parameters": {}, "predicted": {"f": 1.0}, "uncertainty": {"f": 0.5}},
                {"id": "infeasible", "parameters": {}, "predicted": {"f": 2.0}, "uncertainty": {"f": 0.0}},
                {"id": "failed", "parameters": {}, "predicted": {"f": 3.0}},
                {"id": "waiting", "parameters": {}, "predicted": {"f": 4.0}},
                {"id": "unpredicted", "parameters": {}},
            ),
            evaluation(
                2,
                {"candidate_id": "ok", "objectives": {"f": 1.5}},
                {"candidate_id": "infeasible", "objectives": {"f": 2.5}, "feasible": False},
                {"candidate_id": "failed", "objectives": {"f": 9.0}, "error": "diverged"},
                {"candidate_id": "unpredicted", "objectives": {"f": 7.0}},
            ),
        ]
    )
    pairs = parity_pairs(state, "f")
    assert [(p.candidate_id, p.predicted, p.measured, p.uncertainty) for p in pairs] == [
        ("ok", 1.0, 1.5, 0.5),
        ("infeasible", 2.0, 2.5, None),  # a zero sigma is no uncertainty at all
    ]
    assert pairs[0].z == pytest.approx(1.0)
    columns = parity_columns(state, "f")  # the same pairs, read from the columns
    assert [columns.pair(i, pairs[i].candidate_id) for i in range(len(columns))] == pairs


def test_tracker_follows_the_stream_and_agrees_with_the_batch_arithmetic() -> None:
    events = campaign_events(seed=3, iterations=8, batch=6, objectives=3)
    state = folded([], campaign_meta(objectives=3))
    tracker = CalibrationTracker()
    versions = []
    for raw in events:
        apply(state, raw)
        tracker.update(state, state.take_changes())
        versions.append(tracker.version)
        assert tracker.complete
        for name in state.objectives:
            assert_same(tracker.stats(name), campaign_calibration(state)[name])
    assert tracker.objectives(state) == ["water_flux", "salt_rejection", "cost"]
    assert len(set(versions)) > 8  # it changed with the evaluations, not with every event
    assert len(set(versions)) < len(events)
    stats = tracker.stats("water_flux")
    assert stats.count == len(parity_pairs(state, "water_flux")) > 30


def test_a_remeasured_candidate_replaces_its_pair() -> None:
    cand = {"id": "c", "parameters": {}, "predicted": {"f": 10.0}, "uncertainty": {"f": 1.0}}
    other = {"id": "d", "parameters": {}, "predicted": {"f": 20.0}, "uncertainty": {"f": 1.0}}
    state = folded(
        [proposal(1, cand, other), evaluation(2, {"candidate_id": "c", "objectives": {"f": 11.0}})]
    )
    tracker = CalibrationTracker()
    tracker.update(state, state.take_changes())
    assert tracker.stats("f").mean_z == pytest.approx(1.0)
    apply(
        state,
        evaluation(
            3,
            {"candidate_id": "c", "objectives": {"f": 7.0}},
            {"candidate_id": "d", "objectives": {"f": 20.5}},
        ),
    )
    tracker.update(state, state.take_changes())
    stats = tracker.stats("f")
    assert stats.count == 2 and stats.mean_z == pytest.approx((-3.0 + 0.5) / 2)
    assert_same(stats, campaign_calibration(state)["f"])
    apply(
        state, evaluation(4, {"candidate_id": "c", "error": "lost"}, {"candidate_id": "d", "error": "lost"})
    )
    tracker.update(state, state.take_changes())
    assert tracker.stats("f").count == 0 and tracker.objectives(state) == []


def test_one_update_takes_a_whole_campaign_and_a_new_state_starts_over() -> None:
    state = folded(campaign_events(seed=5, iterations=10, batch=5), campaign_meta())
    tracker = CalibrationTracker()
    assert not tracker.complete and tracker.pairs_counted == 0
    tracker.update(state, state.take_changes())
    assert tracker.complete
    for name in state.objectives:
        assert_same(tracker.stats(name), campaign_calibration(state)[name])
    version = tracker.version
    tracker.update(state, state.take_changes())  # nothing changed: nothing moves
    assert tracker.version == version
    other = folded(campaign_events(seed=6, iterations=2, batch=5), campaign_meta())
    tracker.update(other, other.take_changes())
    assert tracker.stats("water_flux").count == len(parity_pairs(other, "water_flux"))
    assert tracker.version > version


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_columns_hold_the_pairs_the_views_find(seed: int) -> None:
    """``parity_columns`` (numpy over the store) against ``parity_pairs`` (a view per
    candidate), with and without a mask, over campaigns with re-measurements."""
    import numpy as np

    state = folded(
        campaign_events(seed=seed, iterations=6, batch=7, objectives=3), campaign_meta(objectives=3)
    )
    apply(
        state,
        evaluation(
            999,
            {"candidate_id": state.candidate_list[0].id, "objectives": {"water_flux": 1.0}},
            {"candidate_id": state.candidate_list[1].id, "error": "lost"},
        ),
    )
    count = len(state.candidate_list)
    keep = np.random.default_rng(seed).random(count - 3) < 0.5  # shorter: later rows left out
    for name in state.objectives:
        pairs = parity_pairs(state, name)
        for mask in (None, keep):
            columns = parity_columns(state, name, mask)
            wanted = [p for p in pairs if mask is None or (p.row < len(mask) and mask[p.row])]
            wanted.sort(key=lambda p: p.row)
            got = [columns.pair(i, state.candidate_list[int(row)].id) for i, row in enumerate(columns.rows)]
            assert got == wanted, name
            assert_same(column_stats(columns), calibration_stats(name, wanted))


@pytest.mark.parametrize("block", [1, 5, 7, 1 << 17])
def test_the_figures_read_a_block_at_a_time_are_those_of_every_pair(block: int, monkeypatch: Any) -> None:
    import numpy as np

    import materia_tui.state.calibration as calibration

    monkeypatch.setattr(calibration, "PARITY_BLOCK", block)
    state = folded(campaign_events(seed=3, iterations=6, batch=7), campaign_meta())
    apply(state, evaluation(999, {"candidate_id": state.candidate_list[2].id, "error": "lost"}))
    keep = np.random.default_rng(block).random(len(state.candidate_list) - 2) < 0.6
    for name in state.objectives:
        for mask in (None, keep):
            whole = parity_columns(state, name, mask)
            assert len(whole.rows) > 10
            assert_same(parity_stats(state, name, mask), column_stats(whole))
            pieces = [parity_columns(state, name, mask, start, start + block) for start in range(0, 60, block)]
            assert np.concatenate([piece.rows for piece in pieces]).tolist() == whole.rows.tolist()
    tracker = CalibrationTracker()
    tracker.update(state, state.take_changes())
    assert_same(tracker.stats("water_flux"), calibration_stats("water_flux", parity_pairs(state, "water_flux")))


def test_columns_fold_as_pairs_do() -> None:
    import numpy as np

    rng = np.random.default_rng(7)
    pairs = [
        pair(float(p), float(p + rng.normal(0, 2)), None if k % 5 == 0 else float(rng.uniform(0.1, 3)), k)
        for k, p in enumerate(rng.uniform(-50, 50, 400))
    ]
    sigma = np.array([math.nan if p.uncertainty is None else p.uncertainty for p in pairs])
    accumulator = CalibrationAccumulator("y")
    accumulator.fold_columns(
        np.array([p.predicted for p in pairs]), np.array([p.measured for p in pairs]), sigma
    )
    assert_same(accumulator.stats(), calibration_stats("y", pairs))
    assert_same(column_stats_of([]), calibration_stats("y", []))
    assert_same(column_stats_of(HAND), calibration_stats("y", HAND))  # a |z| of exactly 2: its bin


def column_stats_of(pairs: list[ParityPair]) -> CalibrationStats:
    import numpy as np

    columns = ParityColumns(
        "y",
        np.array([p.row for p in pairs], dtype=np.intp),
        np.array([p.predicted for p in pairs]),
        np.array([p.measured for p in pairs]),
        np.array([math.nan if p.uncertainty is None else p.uncertainty for p in pairs]),
    )
    return column_stats(columns)
