"""Pareto dominance of two points, in "bigger is better" space (minimized objectives negated).

The reducer's rule, shared by the state's front (``state/pareto.py``) and the
Optuna source's front size (``source/optuna_study.py``): equal points do not
dominate each other. Plain Python, no numpy: both run it for every new point.
"""

from __future__ import annotations

from collections.abc import Sequence


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """True when ``a`` is at least as good as ``b`` everywhere and better somewhere
    (an explicit loop: it runs for every new point against the front)."""
    better = False
    for x, y in zip(a, b, strict=True):
        if x < y:
            return False
        if x > y:
            better = True
    return better
