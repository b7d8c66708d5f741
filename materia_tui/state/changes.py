"""What folding events changed: the reducer's answer to "what must be repainted?".

The reducer accumulates one ``ChangeSet`` as it folds events; whoever paints
takes it (``CampaignState.take_changes``) and merges it into what each of its
panels has not painted yet. Panels never compare revisions or guess from
counters: a panel with an empty change set has nothing to do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

# Past this many changed rows a set costs more than rescanning: "every row" is said instead.
MAX_TRACKED_ROWS = 50_000


@dataclass(slots=True)
class ChangeSet:
    rows_added: int = 0  # rows appended to ``candidate_list`` (they are its last ``rows_added``)
    rows_changed: set[int] = field(default_factory=set)  # earlier rows whose values changed
    all_rows: bool = False  # any row may have changed (objectives re-scored, too many to list)
    front: bool = False  # Pareto-front membership changed
    best: bool = False  # a best value changed
    log_added: int = 0  # entries appended to the event log
    progress: bool = False  # status, phase, iterations, timings or counters
    convergence: bool = False  # convergence metric or per-iteration bests
    metadata: bool = False  # name, objectives, units, parameters

    @classmethod
    def everything(cls, log_entries: int) -> ChangeSet:
        """What a panel that has painted nothing yet must catch up with."""
        return cls(
            all_rows=True,
            front=True,
            best=True,
            log_added=log_entries,
            progress=True,
            convergence=True,
            metadata=True,
        )

    def __bool__(self) -> bool:
        return bool(
            self.rows_added
            or self.rows_changed
            or self.all_rows
            or self.front
            or self.best
            or self.log_added
            or self.progress
            or self.convergence
            or self.metadata
        )

    @property
    def rows(self) -> bool:
        """Some candidate row was added or changed."""
        return bool(self.rows_added or self.rows_changed or self.all_rows)

    def row_changed(self, row: int) -> None:
        if self.all_rows:
            return
        self.rows_changed.add(row)
        if len(self.rows_changed) > MAX_TRACKED_ROWS:
            self.every_row()

    def rows_changed_many(self, rows: Iterable[int]) -> None:
        if self.all_rows:
            return
        self.rows_changed.update(rows)
        if len(self.rows_changed) > MAX_TRACKED_ROWS:
            self.every_row()

    def every_row(self) -> None:
        self.all_rows = True
        self.rows_changed = set()

    def changed_rows(self, total_rows: int) -> range | set[int]:
        """Rows to look at again: every row, or the changed ones plus the added ones."""
        if self.all_rows:
            return range(total_rows)
        first_new = total_rows - self.rows_added
        return self.rows_changed | set(range(max(0, first_new), total_rows))

    def merge(self, other: ChangeSet) -> None:
        """Fold ``other`` (a later change set) into this one."""
        self.rows_added += other.rows_added
        if other.all_rows:
            self.every_row()
        elif other.rows_changed:
            self.rows_changed_many(other.rows_changed)  # one set union: batches change 5,000 rows
        self.front |= other.front
        self.best |= other.best
        self.log_added += other.log_added
        self.progress |= other.progress
        self.convergence |= other.convergence
        self.metadata |= other.metadata

    def copy(self) -> ChangeSet:
        fresh = ChangeSet()
        fresh.merge(self)
        return fresh


class RowFollower:
    """Follows a campaign's rows for a panel that keeps something per row.

    The first time, every row is read, ``chunk`` rows a call (``first_pass``), so a
    UI never stalls on a large campaign; change sets arriving meanwhile are held.
    After that, only the rows a change set names are read again (``after``), the
    held ones included.
    """

    def __init__(self, chunk: int) -> None:
        self.chunk = chunk
        self._next_row: int | None = None
        self._started = False
        self._held = ChangeSet()

    @property
    def complete(self) -> bool:
        """The first pass is over."""
        return self._started and self._next_row is None

    @property
    def holding(self) -> bool:
        return bool(self._held)

    def first_pass(self, total_rows: int, changes: ChangeSet) -> range | None:
        """The next chunk of the first pass (None once it is over)."""
        if not self._started:  # the pass reads every row: nothing to hold yet
            self._started, self._next_row = True, 0
        elif self._next_row is not None:
            self._held.merge(changes)
        start = self._next_row
        if start is None:
            return None
        end = min(total_rows, start + self.chunk)
        self._next_row = None if end >= total_rows else end
        return range(start, end)

    def after(self, changes: ChangeSet) -> ChangeSet:
        """``changes`` with what was held during the first pass."""
        if not self._held:
            return changes
        held, self._held = self._held, ChangeSet()
        held.merge(changes)
        return held
