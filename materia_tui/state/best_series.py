"""Each objective's best measured value as each iteration completed: the series
the convergence sparkline plots (rather than the backend's ``best_value``, which
may be a hypervolume or a scalarized score). Pure functions, no state."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from materia_tui.state.views import CandidateView

# better(name, value, than): whether ``value`` beats ``than`` for objective ``name``
Better = Callable[[str, float, float], bool]
Series = dict[str, list[tuple[int, float]]]


def best_by_iteration(
    measured: Iterable[CandidateView], completed: Sequence[int], better: Better
) -> Series:
    """For each completed iteration (in ``completed``'s order, repeats kept), each
    objective's best over the ``measured`` candidates of that iteration and earlier
    (a candidate without an iteration counts from the start)."""
    ordered = sorted(measured, key=lambda c: c.iteration or 0)
    running: dict[str, float] = {}
    taken = 0
    at_iteration: dict[int, dict[str, float]] = {}
    for iteration in sorted(set(completed)):
        while taken < len(ordered) and (ordered[taken].iteration or 0) <= iteration:
            for name, value in ordered[taken].objectives.items():
                if name not in running or better(name, value, running[name]):
                    running[name] = value
            taken += 1
        at_iteration[iteration] = dict(running)
    series: Series = {}
    for iteration in completed:
        for name, value in at_iteration[iteration].items():
            series.setdefault(name, []).append((iteration, value))
    return series
