"""Best values and the Pareto front of a ``CampaignState``: scoring a measured row,
undoing what a re-measured row held, and recomputing everything when the
objectives or their directions change.

A mixin so the reducer module stays small; it holds no state of its own and
works on the attributes ``CampaignState`` sets up (declared below for mypy).
"""

from __future__ import annotations

import math
from array import array
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
    _columns: list[array[float]]

    def _point(self, row: int) -> Point | None:
        if self.store.status[row] != 1:  # evaluated
            return None
        # The columns hold exactly this candidate's measurement (NaN where missing).
        point = tuple(column[row] for column in self._columns)
        return None if any(value != value for value in point) else point

    def _store_columns(self, row: int) -> None:
        store = self.store
        evaluated = store.status[row] == 1
        for name, sign, column in zip(self.objectives, self._signs, self._columns, strict=True):
            value = store.measured(row, name) if evaluated else None
            column[row] = sign * value if value is not None and math.isfinite(value) else NAN

    def _score(self, row: int) -> None:
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
        point = self._point(row)
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
            xs, ys = self._columns
            for row, (x, y) in enumerate(zip(xs, ys, strict=True)):
                if low_x <= x <= ox and low_y <= y <= oy and (x < ox or y < oy):
                    held_down.append(((x, y), row))
        else:
            for row, point in enumerate(zip(*self._columns, strict=True)):
                # Spelled out rather than dominates(): NaN must fail, not pass, the test.
                if all(v <= o for v, o in zip(point, old_point, strict=True)) and point != old_point:
                    held_down.append((point, row))
        on_front = self.store.on_front
        held_down = [item for item in held_down if item[1] != skip and not on_front[item[1]]]
        held_down.sort(key=lambda item: item[0], reverse=True)
        for point, other in _skyline_2d(held_down) if len(old_point) == 2 else held_down:
            self._offer_to_front(other, point)

    def _rescan_best(self, name: str, skip: int) -> None:
        column = self._columns[self.objectives.index(name)]
        best_row, best_signed = -1, -math.inf
        for row, signed in enumerate(column):
            if signed > best_signed and row != skip:  # NaN: never
                best_row, best_signed = row, signed
        if best_row < 0:
            self.best.pop(name, None)
            return
        value = self.store.measured(best_row, name)
        assert value is not None  # a finite column entry came from this measurement
        self.best[name] = BestValue(value, self.store.ids[best_row], self._iteration_of(best_row))

    def _better(self, name: str, value: float, than: float) -> bool:
        return value < than if self.directions.get(name) == "minimize" else value > than

    def _recompute_scores(self) -> None:
        self._signs = [-1.0 if self.directions.get(n) == "minimize" else 1.0 for n in self.objectives]
        count = len(self.store)
        self._columns = [array("d", [NAN]) * count for _ in self.objectives]
        self.best.clear()
        self._front.clear()
        self.changes.every_row()
        self.changes.front = self.changes.best = True
        on_front = self.store.on_front
        on_front[:] = array("b", [0]) * count
        for row in range(count):
            self._store_columns(row)
            self._score(row)
        self._rebuild_best_by_iteration()

    def _rebuild_best_by_iteration(self) -> None:
        """``best_by_iteration`` under today's objectives and directions (what ``best``
        held as each iteration completed, unless a re-measurement moved it since)."""
        measured = (c for c in self.candidate_list if c.status == "evaluated")
        completed = [iteration for iteration, _ in self.best_history]
        self.best_by_iteration = best_by_iteration(measured, completed, self._better)
        self.changes.convergence = True


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


