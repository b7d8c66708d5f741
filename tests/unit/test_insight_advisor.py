"""The stop advisor's rule, case by case."""

from __future__ import annotations

import pytest

from materia_tui.insight.advisor import Advice, AdvisorPolicy, Coverage, advise

RISING = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
FLAT_AFTER_3 = [1.0, 2.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0]  # five iterations without gain


def test_a_stalled_hypervolume_with_a_calibrated_surrogate_says_stop() -> None:
    advice = advise(FLAT_AFTER_3, coverage=[Coverage("water_flux", 0.94, 120)])
    assert advice.stop
    assert advice.stalled_iterations == 5 and advice.recent_gain == 0.0 and advice.overconfident == ()
    assert advice.line == (
        "no hypervolume gain for 5 iterations (< 0.1% each); "
        "surrogate ±2\u03c3 coverage 94% (expected 95%, 120 points)"
    )


def test_a_stall_with_an_over_confident_surrogate_advises_exploring_not_stopping() -> None:
    advice = advise(FLAT_AFTER_3, coverage=[Coverage("water_flux", 0.83, 120)])
    assert not advice.stop and advice.overconfident == ("water_flux",)
    assert advice.reasons[:2] == (
        "no hypervolume gain for 5 iterations (< 0.1% each)",
        "surrogate ±2\u03c3 coverage 83% (expected 95%, 120 points)",
    )
    assert "over-confident" in advice.reasons[2] and "exploration" in advice.reasons[2]


def test_gains_below_the_threshold_count_as_none_and_the_count_is_the_trailing_run() -> None:
    tiny = [10.0, 20.0, 30.0, 30.001, 30.002, 30.003, 30.004, 30.005, 30.006]
    advice = advise(tiny)
    assert advice.stop and advice.stalled_iterations == 6
    assert advice.reasons == ("no hypervolume gain for 6 iterations (< 0.1% each)",)
    just_above = [10.0, 20.0, 30.0, 30.0, 30.0, 30.0, 30.0, 30.04]  # 0.13% at the last iteration
    assert not advise(just_above).stop and advise(just_above).stalled_iterations == 0


def test_still_rising_says_how_much() -> None:
    advice = advise(RISING)
    assert not advice.stop and advice.stalled_iterations == 0
    assert advice.recent_gain == pytest.approx(5 / 7)
    assert advice.line == "hypervolume gained 71.4% over the last 5 iterations"
    slow = advise([100.0, 100.0, 100.0, 100.0, 100.0, 100.2, 100.4, 100.6, 100.8, 101.0])
    assert not slow.stop and slow.line == "hypervolume gained 1.0% over the last 5 iterations"
    # the rule is per iteration: a creep of 0.05% an iteration is a stall
    creep = advise([100.0 * 1.0005**k for k in range(10)])
    assert creep.stop and creep.stalled_iterations == 9


def test_no_advice_before_enough_iterations_and_leading_gaps_are_skipped() -> None:
    early = advise([None, None, 3.0, 3.0, 3.0, 3.0, 3.0])
    assert not early.stop and early.recent_gain is None
    assert early.line == "5 iterations with measurements; advice from 6 on"
    assert advise([None, 3.0, 3.0, None, 3.0, 3.0, 3.0, 3.0]).stop  # a later gap repeats the value
    assert advise([]).line == "0 iterations with measurements; advice from 6 on"


def test_a_zero_hypervolume_is_never_a_stall() -> None:
    advice = advise([0.0] * 10)
    assert not advice.stop and "still 0" in advice.line


def test_best_so_far_gains_are_relative_to_the_progress_made_in_the_objectives_direction() -> None:
    lower = [50.0, 40.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0]
    advice = advise(lower, kind="best", objective="cost", direction="minimize")
    assert advice.stop and advice.line == "no best cost gain for 5 iterations (< 0.1% each)"
    # 0.05 of a total 40.05 of progress is 0.12%: still a gain
    moving = [*lower[:-1], 9.95]
    assert not advise(moving, kind="best", objective="cost", direction="minimize").stop
    # offsets and units do not matter: the same shape far from zero
    shifted = [v + 1e6 for v in lower]
    assert advise(shifted, kind="best", objective="cost", direction="minimize").stop
    rising = advise([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], kind="best", objective="flux")
    assert rising.line == "best flux gained 100.0% over the last 5 iterations"


def test_calibration_needs_enough_points_and_several_objectives_are_named() -> None:
    advice = advise(
        FLAT_AFTER_3,
        coverage=[Coverage("flux", 0.5, 19), Coverage("rejection", 0.95, 400)],
    )
    assert advice.stop and advice.overconfident == ()
    assert advice.reasons[1:] == (
        "flux surrogate calibration not yet judged (19 points)",
        "rejection surrogate ±2\u03c3 coverage 95% (expected 95%, 400 points)",
    )


def test_over_confidence_needs_the_gap_to_exceed_both_the_tolerance_and_the_noise() -> None:
    # 84% on 400 points: 11.5 points below, beyond 10 points and 3 standard errors (3.1)
    assert advise(FLAT_AFTER_3, coverage=[Coverage("y", 0.84, 400)]).overconfident == ("y",)
    # 86% on 400 points: within the 10-point tolerance
    assert advise(FLAT_AFTER_3, coverage=[Coverage("y", 0.86, 400)]).overconfident == ()
    # 80% on 20 points: 15.5 points below, but 3 standard errors are 14: still over-confident
    assert advise(FLAT_AFTER_3, coverage=[Coverage("y", 0.80, 20)]).overconfident == ("y",)
    # 82% on 20 points: within three standard errors of 95.4%
    assert advise(FLAT_AFTER_3, coverage=[Coverage("y", 0.82, 20)]).overconfident == ()
    # under-confidence (too wide intervals) is no reason to doubt a stall
    assert advise(FLAT_AFTER_3, coverage=[Coverage("y", 1.0, 400)]).stop


def test_the_policy_sets_every_threshold() -> None:
    policy = AdvisorPolicy(min_relative_gain=0.5, patience=2, min_iterations=3)
    advice = advise([1.0, 2.0, 2.5, 3.0], policy=policy)  # gains 50%, then 20% and 17%
    assert isinstance(advice, Advice) and advice.stop
    assert advice.line == "no hypervolume gain for 2 iterations (< 50% each)"
    assert not advise([1.0, 2.0, 2.5, 3.0], policy=AdvisorPolicy(patience=2, min_iterations=5)).stop
