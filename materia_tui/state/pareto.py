"""The Pareto front in "maximize everything" space (minimized objectives are negated)."""

from __future__ import annotations

from collections.abc import Iterable

from materia_tui.insight.dominance import dominates

Point = tuple[float, ...]


class ParetoFront:
    """An incrementally maintained set of non-dominated points, keyed by id.

    Equal points do not dominate each other, so duplicates of a front point all
    stay on the front, exactly as the brute-force definition says.
    """

    __slots__ = ("_points",)

    def __init__(self) -> None:
        self._points: dict[str, Point] = {}

    def __len__(self) -> int:
        return len(self._points)

    def __contains__(self, key: object) -> bool:
        return key in self._points

    def ids(self) -> list[str]:
        return list(self._points)

    def values(self) -> Iterable[Point]:
        return self._points.values()

    def points(self) -> dict[str, Point]:
        return dict(self._points)

    def add(self, key: str, point: Point) -> tuple[bool, list[str]]:
        """Offer a point. Returns (joined the front, ids that left the front)."""
        if len(point) == 2:
            return self._add_2d(key, point)
        for other in self._points.values():
            if dominates(other, point):
                return False, []
        removed = [k for k, other in self._points.items() if dominates(point, other)]
        for k in removed:
            del self._points[k]
        self._points[key] = point
        return True, removed

    def _add_2d(self, key: str, point: Point) -> tuple[bool, list[str]]:
        # The common two-objective case, with ``dominates`` inlined: a function
        # call per front point was most of the reducer's cost for evaluations.
        px, py = point
        points = self._points
        for ox, oy in points.values():
            if ox >= px and oy >= py and (ox > px or oy > py):
                return False, []
        removed = [k for k, (ox, oy) in points.items() if px >= ox and py >= oy and (px > ox or py > oy)]
        for k in removed:
            del self._points[k]
        self._points[key] = point
        return True, removed

    def discard(self, key: str) -> None:
        self._points.pop(key, None)

    def clear(self) -> None:
        self._points.clear()


def brute_force_front(points: Iterable[tuple[str, Point]]) -> set[str]:
    """The reference definition, O(n^2): used by tests and by full recomputes."""
    items = list(points)
    return {key for key, p in items if not any(dominates(q, p) for other, q in items if other != key)}
