"""Best values and the Pareto front of a ``CampaignState``: scoring a measured row,
undoing what a re-measured row held, and recomputing everything when the
objectives or their directions change.

A mixin so the reducer module stays small; it holds no state of its own and
works on the attributes ``CampaignState`` sets up (declared below for mypy).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator
from typing import cast

from materia_tui.protocol import Direction
from materia_tui.state.best_series import best_by_iteration
from materia_tui.state.changes import ChangeSet
from materia_tui.state.pareto import ParetoFront, Point
from materia_tui.state.records import BestValue
from materia_tui.state.store import CandidateStore
from materia_tui.state.views import CandidateRows

NAN = math.nan


class FrontScoring:
    """Best values and the front, kept up to date row by row (mixed into ``CampaignState``)."""

    store: CandidateStore
    candidate_list: CandidateRows
    changes: ChangeSet
    revision: int
    objectives: list[str]
    directions: dict[str, Direction]
    best: dict[str, BestValue]
    best_history: list[tuple[int, float]]
    best_by_iteration: dict[str, list[tuple[int, float]]]
    _front: ParetoFront
    _signs: list[float]

    def _objective_arrays(self) -> list[array[float]]:
        """Each objective's measured values as the store holds them (NaN: none), by row.
        The store's own columns, read in place: a sign-adjusted copy per objective cost
        8 B a candidate each (16 MB at 1M) for the rare scans below."""
        columns = self.store.sections[3]
        found = [columns.get(name) for name in self.objectives]
        return [_NO_VALUES if column is None else column.floats for column in found]

    def _point(self, row: int, arrays: list[array[float]] | None = None) -> Point | None:
        """The row's measurement, each value signed so that bigger is better; None unless
        it is evaluated with a finite value of every objective."""
        if self.store.status[row] != 1:  # evaluated
            return None
        if arrays is None:
            arrays = self._objective_arrays()
        point = tuple(sign * _value(values, row) for sign, values in zip(self._signs, arrays, strict=True))
        return point if _finite(point) else None

    def _rows_in_box(self, low: Point, high: Point) -> Iterator[tuple[int, Point]]:
        """(row, signed point) of the evaluated rows with finite values whose signed
        point lies in the box ``low..high`` (two objectives): the box is turned into
        the store's own units first, so rows outside it cost two comparisons."""
        status, (sx, sy) = self.store.status, self._signs
        xs, ys = self._objective_arrays()
        if xs is _NO_VALUES or ys is _NO_VALUES:
            return
        (x0, x1), (y0, y1) = _unsigned(low[0], high[0], sx), _unsigned(low[1], high[1], sy)
        for row, (vx, vy) in enumerate(zip(xs, ys, strict=True)):
            if x0 <= vx <= x1 and y0 <= vy <= y1:  # NaN: never
                point = (sx * vx, sy * vy)
                if status[row] == 1 and point[0] - point[0] == 0 and point[1] - point[1] == 0:
                    yield row, point

    def _signed_rows(self) -> Iterator[tuple[int, Point]]:
        """(row, signed point) of every evaluated row whose values are all finite."""
        status, signs = self.store.status, self._signs
        arrays = self._objective_arrays()
        if any(values is _NO_VALUES for values in arrays):
            return
        for row, values in enumerate(zip(*arrays, strict=True)):
            point = tuple(sign * value for sign, value in zip(signs, values, strict=True))
            if status[row] == 1 and _finite(point):
                yield row, point

    def _score(self, row: int, arrays: list[array[float]] | None = None) -> None:
        store = self.store
        if store.status[row] != 1:
            return
        best = self.best
        layout = store.layout_of(row)
        columns = store.sections[3]
        for name in layout.keys[3]:
            value = cast(float, columns[name].get(row))
            current = best.get(name)
            minimize = self.directions.get(name) == "minimize"
            if current is None or (value < current.value if minimize else value > current.value):
                best[name] = BestValue(value, store.ids[row], self._iteration_of(row))
        point = self._point(row, arrays)
        if point is not None:
            self._offer_to_front(row, point)

    def _iteration_of(self, row: int) -> int | None:
        value = self.store.iterations[row]
        return None if value < 0 else value

    def _offer_to_front(self, row: int, point: Point) -> None:
        store = self.store
        joined, removed = self._front.add(store.ids[row], point)
        changes = self.changes
        if joined:
            store.on_front[row] = 1
            store.revisions[row] = self.revision
            changes.front = True
            changes.row_changed(row)
        for key in removed:
            left = store.index[key]
            store.on_front[left] = 0
            store.revisions[left] = self.revision
            changes.row_changed(left)

    def _demote(self, row: int, old_point: Point | None, held: list[str]) -> None:
        """Undo what the row's previous measurement gave it, before its new one is
        scored. Re-measuring a leader is routine in long campaigns, so this looks
        only at what the old measurement could have held down: the candidates its
        old point dominated and the best values it held, not a full recompute."""
        store = self.store
        if old_point is not None:
            self._front.discard(store.ids[row])
            store.on_front[row] = 0
            self.changes.front = True
            self._readmit_dominated_by(old_point, row)
        for name in held:
            value = store.measured(row, name) if store.status[row] == 1 else None
            if value is not None and not self._better(name, self.best[name].value, value):
                self.best[name] = BestValue(value, store.ids[row], self._iteration_of(row))
            else:
                self._rescan_best(name, skip=row)

    def _readmit_dominated_by(self, old_point: Point, skip: int) -> None:
        # Transitivity: a candidate dominated only by the departed point is
        # dominated by nothing left, so only those the old point dominated are
        # looked at (a scan of the value columns: NaN compares false, so rows
        # without a full measurement drop out), and of those only their own
        # front is offered.
        held_down: list[tuple[Point, int]] = []
        if len(old_point) == 2:
            ox, oy = old_point
            # A front member at least as good in one objective dominates every
            # point worse than it in the other: only a thin box can re-enter.
            low_x = max((fx for fx, fy in self._front.values() if fy >= oy), default=-math.inf)
            low_y = max((fy for fx, fy in self._front.values() if fx >= ox), default=-math.inf)
            held_down = [
                (point, row)
                for row, point in self._rows_in_box((low_x, low_y), old_point)
                if point[0] < ox or point[1] < oy
            ]
        else:
            for row, point in self._signed_rows():
                if all(v <= o for v, o in zip(point, old_point, strict=True)) and point != old_point:
                    held_down.append((point, row))
        on_front = self.store.on_front
        held_down = [item for item in held_down if item[1] != skip and not on_front[item[1]]]
        held_down.sort(key=lambda item: item[0], reverse=True)
        for point, other in _skyline_2d(held_down) if len(old_point) == 2 else held_down:
            self._offer_to_front(other, point)

    def _rescan_best(self, name: str, skip: int) -> None:
        k = self.objectives.index(name)
        values, sign, status = self._objective_arrays()[k], self._signs[k], self.store.status
        best_row, best_signed = -1, -math.inf
        for row, value in enumerate(values):
            signed = sign * value
            # NaN and infinities: never (as the front's points).
            if signed > best_signed and signed - signed == 0 and row != skip and status[row] == 1:
                best_row, best_signed = row, signed
        if best_row < 0:
            self.best.pop(name, None)
            return
        measured = self.store.measured(best_row, name)
        assert measured is not None  # a finite column entry came from this measurement
        self.best[name] = BestValue(measured, self.store.ids[best_row], self._iteration_of(best_row))

    def _better(self, name: str, value: float, than: float) -> bool:
        return value < than if self.directions.get(name) == "minimize" else value > than

    def _recompute_scores(self) -> None:
        self._signs = [-1.0 if self.directions.get(n) == "minimize" else 1.0 for n in self.objectives]
        count = len(self.store)
        self.best.clear()
        self._front.clear()
        self.changes.every_row()
        self.changes.front = self.changes.best = True
        on_front = self.store.on_front
        on_front[:] = array("b", [0]) * count
        arrays = self._objective_arrays()
        for row in range(count):
            self._score(row, arrays)
        self._rebuild_best_by_iteration()

    def _rebuild_best_by_iteration(self) -> None:
        """``best_by_iteration`` under today's objectives and directions (what ``best``
        held as each iteration completed, unless a re-measurement moved it since)."""
        measured = (c for c in self.candidate_list if c.status == "evaluated")
        completed = [iteration for iteration, _ in self.best_history]
        self.best_by_iteration = best_by_iteration(measured, completed, self._better)
        self.changes.convergence = True


_NO_VALUES: array[float] = array("d")  # an objective the store has no column for (yet)


def _finite(point: Point) -> bool:
    """No value NaN or infinite (``x - x`` is 0 for every finite x, NaN otherwise)."""
    return not any(value - value != 0 for value in point)


def _unsigned(low: float, high: float, sign: float) -> tuple[float, float]:
    """The interval of stored values whose signed value lies in ``low..high``."""
    return (low, high) if sign > 0 else (-high, -low)


def _value(values: array[float], row: int) -> float:
    return values[row] if values is not _NO_VALUES else NAN


def _skyline_2d(items: list[tuple[Point, int]]) -> list[tuple[Point, int]]:
    """The non-dominated items of a list sorted by point, descending (equal points all stay)."""
    kept: list[tuple[Point, int]] = []
    top = -math.inf
    for item in items:
        point = item[0]
        if point[1] > top or (kept and point == kept[-1][0]):
            kept.append(item)
            top = max(top, point[1])
    return kept


