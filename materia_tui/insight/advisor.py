"""The stop advisor: does the campaign still pay? A rule over the hypervolume trace and calibration.

Evidence:

1. The trace, one value per iteration: the hypervolume of the measured
   feasible front (several objectives) or the best-so-far value (one
   objective), as ``hypervolume.HypervolumeTracker`` computes it. Leading
   ``None`` values (iterations before the first measurement) are skipped.
2. The surrogate's calibration, per objective: the fraction of measured
   values inside the prediction ±2 sigma (``CalibrationStats.coverage_2sigma``
   and ``with_uncertainty`` of ``materia_tui.state.calibration``: how many it rests on).

The rule (thresholds in ``AdvisorPolicy``):

- Gain of an iteration: for the hypervolume, its growth relative to the new
  hypervolume, ``(v_t - v_t-1) / v_t`` (a volume has a natural zero, so a
  relative gain means the same in any units); for best-so-far, its
  improvement relative to the whole improvement of the campaign so far,
  ``(v_t - v_t-1) / |v_last - v_first|`` (in the objective's direction; a
  best value has no natural zero, so it is measured against the progress
  made, which is free of units and offsets).
- Stalled: the last ``patience`` (5) iterations in a row each gained less
  than ``min_relative_gain`` (0.1%).
- No advice before ``min_iterations`` (6) iterations have measurements:
  a stall needs ``patience`` gains, and a gain needs a previous value.
- Calibration is judged only on at least ``min_calibration_points`` (20)
  measurements. A surrogate is over-confident when its ±2 sigma coverage is below
  the Gaussian 95.4% by more than ``coverage_tolerance`` (10 points) and by
  more than three binomial standard errors (so a few unlucky points on a
  small sample do not count).
- Stop when stalled and no objective's surrogate is over-confident: the
  model is trustworthy (or cannot be judged), and the front has stopped
  moving. When stalled but over-confident, do not stop: the model's
  intervals are too narrow, so the acquisition may not be looking where
  better candidates are; the advice says more exploration could still pay.
  Not stalled: do not stop, and say how much the last ``patience``
  iterations gained.

Every reason is one short human sentence; ``Advice.line`` joins them with
"; ", e.g. ``no hypervolume gain for 5 iterations (< 0.1% each); surrogate
±2 sigma coverage 83% (expected 95%, 120 points)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

TraceKind = Literal["hypervolume", "best"]
Direction = Literal["maximize", "minimize"]
TWO_SIGMA_EXPECTED = math.erf(2 / math.sqrt(2))  # 0.9545: a calibrated Gaussian's ±2 sigma coverage
SIGMA = "\u03c3"  # the Greek letter the sentences use (spelled out for the linter's sake)


@dataclass(frozen=True, slots=True)
class AdvisorPolicy:
    min_relative_gain: float = 0.001  # 0.1%: below this an iteration gained nothing
    patience: int = 5  # iterations in a row without gain before advising to stop
    min_iterations: int = 6  # iterations with measurements before any advice
    min_calibration_points: int = 20  # measurements before calibration counts as evidence
    expected_coverage: float = TWO_SIGMA_EXPECTED
    coverage_tolerance: float = 0.10  # coverage this far below expected (and 3 standard errors) is bad


@dataclass(frozen=True, slots=True)
class Coverage:
    """One objective's surrogate calibration: measured values inside prediction ±2 sigma."""

    objective: str
    fraction: float  # 0..1
    points: int  # measurements with a prediction and an uncertainty


@dataclass(frozen=True, slots=True)
class Advice:
    stop: bool
    reasons: tuple[str, ...]
    stalled_iterations: int  # trailing iterations in a row without gain
    recent_gain: float | None  # relative gain over the last ``patience`` iterations; None: too early
    overconfident: tuple[str, ...]  # objectives whose surrogate is over-confident

    @property
    def line(self) -> str:
        """The one line under the hypervolume plot."""
        return "; ".join(self.reasons)


def advise(
    trace: Sequence[float | None],
    *,
    kind: TraceKind = "hypervolume",
    objective: str | None = None,
    direction: Direction = "maximize",
    coverage: Sequence[Coverage] = (),
    policy: AdvisorPolicy | None = None,
) -> Advice:
    """Whether to stop, with the evidence. ``trace``: one value per iteration, oldest
    first; ``kind``/``objective``/``direction`` say what it is (``objective`` and
    ``direction`` matter for best-so-far only)."""
    rules = policy or AdvisorPolicy()
    values = _measured_values(trace)
    calibration, overconfident = _calibration(coverage, rules)
    if len(values) < rules.min_iterations:
        reason = (
            f"{_count(len(values), 'iteration')} with measurements; advice from {rules.min_iterations} on"
        )
        return Advice(False, (reason, *calibration), 0, None, overconfident)
    if kind == "hypervolume" and values[-1] <= 0.0:
        reason = "the hypervolume is still 0: no measurement is better than the reference point"
        return Advice(False, (reason, *calibration), 0, None, overconfident)
    gains = _gains(values, kind, direction)
    stalled = 0
    for gain in reversed(gains):
        if gain >= rules.min_relative_gain:
            break
        stalled += 1
    recent = _recent_gain(values, kind, direction, rules.patience)
    what = "hypervolume" if kind == "hypervolume" else f"best {objective or 'value'}"
    if stalled < rules.patience:
        progress = f"{what} gained {_percent(recent)} over the last {_count(rules.patience, 'iteration')}"
        return Advice(False, (progress, *calibration), stalled, recent, overconfident)
    threshold = f"{rules.min_relative_gain * 100:g}%"
    stall = f"no {what} gain for {_count(stalled, 'iteration')} (< {threshold} each)"
    if overconfident:
        caution = (
            "the surrogate is over-confident, so the stall may be a blind spot: more exploration could pay"
        )
        return Advice(False, (stall, *calibration, caution), stalled, recent, overconfident)
    return Advice(True, (stall, *calibration), stalled, recent, overconfident)


def _measured_values(trace: Sequence[float | None]) -> list[float]:
    """The values from the first measured iteration on; a later gap repeats the value before it."""
    values: list[float] = []
    for value in trace:
        if value is None or not math.isfinite(value):
            if values:
                values.append(values[-1])
        else:
            values.append(float(value))
    return values


def _gains(values: list[float], kind: TraceKind, direction: Direction) -> list[float]:
    sign = -1.0 if kind == "best" and direction == "minimize" else 1.0
    steps = [sign * (after - before) for before, after in pairwise(values)]
    if kind == "hypervolume":
        return [step / after if after > 0 else 0.0 for step, after in zip(steps, values[1:], strict=True)]
    span = abs(values[-1] - values[0])
    return [step / span if span > 0 else 0.0 for step in steps]


def _recent_gain(values: list[float], kind: TraceKind, direction: Direction, window: int) -> float:
    before, last = values[-1 - min(window, len(values) - 1)], values[-1]
    step = (before - last) if kind == "best" and direction == "minimize" else (last - before)
    scale = abs(last) if kind == "hypervolume" else abs(values[-1] - values[0])
    return step / scale if scale > 0 else 0.0


def _calibration(coverage: Sequence[Coverage], rules: AdvisorPolicy) -> tuple[list[str], tuple[str, ...]]:
    sentences: list[str] = []
    bad: list[str] = []
    several = len(coverage) > 1
    expected = rules.expected_coverage
    for item in coverage:
        who = f"{item.objective} surrogate" if several else "surrogate"
        if item.points < rules.min_calibration_points:
            sentences.append(f"{who} calibration not yet judged ({_count(item.points, 'point')})")
            continue
        sentences.append(
            f"{who} ±2{SIGMA} coverage {item.fraction * 100:.0f}% (expected {expected * 100:.0f}%, "
            f"{_count(item.points, 'point')})"
        )
        standard_error = math.sqrt(expected * (1 - expected) / item.points)
        if item.fraction < expected - max(rules.coverage_tolerance, 3 * standard_error):
            bad.append(item.objective)
    return sentences, tuple(bad)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _percent(fraction: float) -> str:
    percent = fraction * 100
    return f"{percent:.1f}%" if abs(percent) >= 0.1 or percent == 0 else f"{percent:.2g}%"
