"""The store's live columns read in place, on the thread that folds events: reductions over
every row (which rows are measured, ranges, masks) that a copy of each column would cost
its bytes for. The views die with the call (the store cannot grow a column while one is
viewed); for a worker thread, copy with ``columns.snapshot_columns`` instead."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from materia_tui.state.columns import (
    NAN,
    BoolArray,
    Column,
    FloatArray,
    ParameterSnapshot,
    measured_status,
    parameter_names,
    text_values,
)
from materia_tui.state.reducer import CampaignState
from materia_tui.state.store import SECTIONS

T = TypeVar("T")


def measured_rows(
    state: CampaignState, objective: str, start: int = 0, stop: int | None = None
) -> NDArray[np.intp]:
    """The rows whose ``objective`` is measured (finite, of a candidate evaluated or
    infeasible: where ``columns().objectives`` holds a number), ascending, of rows
    ``start:stop`` (default: all); no copy of the column, so it may run on the thread
    that folds events."""
    store = state.store
    count = len(store)
    stop = count if stop is None else min(stop, count)
    values = store.float_column("obj:" + objective)
    if values is None or start >= stop:
        return np.empty(0, dtype=np.intp)
    # Views of the live columns, let go on return: the store may grow them again.
    codes = np.frombuffer(store.status, dtype=np.int8, count=count)[start:stop]
    finite = np.isfinite(np.frombuffer(values, dtype=np.float64, count=count)[start:stop])
    rows: NDArray[np.intp] = np.flatnonzero(finite & measured_status(codes))
    if start:
        rows += start
    return rows


@dataclass(frozen=True, slots=True)
class LiveColumns:
    """Views of the store's own columns (``read_live``): the parameters as
    ``CandidateColumns`` holds them, the objectives as the store keeps them (a value may
    stand where the status says unmeasured, e.g. a failed evaluation's: mask with
    ``measured``, which rows' status is a measurement), the front flags."""

    parameters: dict[str, Column]
    objectives: dict[str, FloatArray]
    front: BoolArray
    measured: BoolArray
    predicted: dict[str, FloatArray] = field(default_factory=dict)
    uncertainty: dict[str, FloatArray] = field(default_factory=dict)


def read_live(
    state: CampaignState,
    reader: Callable[[LiveColumns], T],
    *,
    parameters: bool = True,
    predictions: bool = False,
) -> T | None:
    """``reader`` of the store's columns without copying the numeric ones: a reduction
    over every row (ranges, masks) on the thread that folds events, where a copy of
    each column would cost its bytes. The views die with the call: ``reader`` must
    return nothing that holds one (the store cannot grow a column while viewed).
    None (``reader`` not called) when a parameter holds values other than numbers or
    text, whose columns are Python values: read those from a snapshot. ``parameters``
    False leaves them out; ``predictions`` True adds the predictions and uncertainties."""
    store = state.store
    count = len(store)
    found: dict[str, Column] = {}
    for name in parameter_names(state) if parameters else []:
        column = store.parameter_column(name)
        if column is None:
            found[name] = np.full(count, NAN)
        elif column.codes is None:
            found[name] = np.frombuffer(column.floats, dtype=np.float64, count=count)
        else:
            text = text_values(ParameterSnapshot(column.floats, column.codes, tuple(column.choices)), count)
            if text is None:
                return None
            found[name] = text
    objectives: dict[str, FloatArray] = {}
    for name in state.objectives:
        values = store.float_column("obj:" + name)
        objectives[name] = (
            np.full(count, NAN) if values is None else np.frombuffer(values, dtype=np.float64, count=count)
        )
    measured = measured_status(np.frombuffer(store.status, dtype=np.int8, count=count))
    front = np.frombuffer(store.on_front, dtype=np.int8, count=count).astype(bool)

    def section(prefix: str) -> dict[str, FloatArray]:
        names = store.sections[SECTIONS.index(prefix)] if predictions else {}
        columns = {name: store.float_column(f"{prefix}:{name}") for name in names}
        return {
            n: np.frombuffer(v, dtype=np.float64, count=count) for n, v in columns.items() if v is not None
        }

    return reader(LiveColumns(found, objectives, front, measured, section("pred"), section("unc")))
