"""The campaign's candidates as columns: the one bulk read of candidates for the analysis views.

``candidate_columns(state)`` returns a ``CandidateColumns``: one entry per
candidate, in ``state.candidate_list`` order (so index ``i`` is row ``i``),
with

- ``ids``, ``status`` (lists of str), ``iteration`` (float64, NaN when unknown),
  ``front`` and ``feasible`` (bool arrays; ``feasible`` is False for every
  candidate that is not ``evaluated``: only a completed, feasible measurement
  counts for a front or a hypervolume);
- ``parameters``: name -> column; a parameter whose values are all numbers
  (bools excluded) is a float64 array with NaN where absent, any other a
  list of values (None where absent);
- ``objectives``: name -> float64 array of the *measured* value (NaN unless
  the candidate is evaluated or infeasible and measured that objective);
- ``predicted`` and ``uncertainty``: name -> float64 array (NaN when absent).

The insight functions (``materia_tui.insight``) and the filter language take
these columns as they are (``filter_columns()`` names them as the filter
expects). Every view reads candidates in bulk through this function only, so
a columnar candidate store can re-implement it without touching the views.
numpy is imported with this module: import it where used, never at start-up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from materia_tui.state.reducer import CampaignState

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
Column = FloatArray | list[object]
FieldKind = Literal["number", "category"]
NAN = math.nan


@dataclass(frozen=True, slots=True)
class CandidateColumns:
    campaign_id: str
    ids: list[str]
    iteration: FloatArray
    status: list[str]
    front: BoolArray
    feasible: BoolArray
    parameters: dict[str, Column]
    objectives: dict[str, FloatArray]
    predicted: dict[str, FloatArray] = field(default_factory=dict)
    uncertainty: dict[str, FloatArray] = field(default_factory=dict)
    directions: dict[str, Literal["maximize", "minimize"]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def measured(self) -> BoolArray:
        """Rows with at least one measured objective."""
        if not self.objectives:
            return np.zeros(len(self), dtype=bool)
        return np.logical_or.reduce([np.isfinite(v) for v in self.objectives.values()])

    def field_kinds(self) -> dict[str, FieldKind]:
        """Each parameter's and objective's kind for ``compile_filter``."""
        kinds: dict[str, FieldKind] = {
            name: "number" if isinstance(column, np.ndarray) else "category"
            for name, column in self.parameters.items()
        }
        kinds.update(dict.fromkeys(self.objectives, "number"))
        return kinds

    def filter_columns(self) -> dict[str, Column | list[str] | BoolArray]:
        """The columns under the names ``Filter.mask`` reads."""
        columns: dict[str, Column | list[str] | BoolArray] = {}
        columns.update(self.parameters)
        columns.update(self.objectives)
        columns.update(
            {"id": self.ids, "iteration": self.iteration, "status": self.status,
             "front": self.front, "feasible": self.feasible}
        )  # fmt: skip
        return columns


def candidate_columns(state: CampaignState) -> CandidateColumns:
    """Every candidate of ``state`` as columns (see the module docstring)."""
    rows = state.candidate_list
    count = len(rows)
    objective_names = list(state.objectives)
    parameter_names = _parameter_names(state)
    iteration = np.fromiter(
        (NAN if c.iteration is None else c.iteration for c in rows), dtype=np.float64, count=count
    )
    objectives = {name: np.full(count, NAN) for name in objective_names}
    predicted: dict[str, FloatArray] = {}
    uncertainty: dict[str, FloatArray] = {}
    raw_parameters: dict[str, list[object]] = {name: [None] * count for name in parameter_names}
    for i, cand in enumerate(rows):
        for name, value in cand.parameters.items():
            raw_parameters[name][i] = value
        if cand.status in ("evaluated", "infeasible"):
            for name, value in cand.objectives.items():
                column = objectives.get(name)
                if column is not None:
                    column[i] = value
        _put(predicted, cand.predicted.items(), i, count)
        _put(uncertainty, cand.uncertainty.items(), i, count)
    return CandidateColumns(
        campaign_id=state.campaign_id,
        ids=[c.id for c in rows],
        iteration=iteration,
        status=[c.status for c in rows],
        front=np.fromiter((c.on_front for c in rows), dtype=bool, count=count),
        feasible=np.fromiter((c.status == "evaluated" and c.feasible for c in rows), dtype=bool, count=count),
        parameters={name: _typed(values) for name, values in raw_parameters.items()},
        objectives=objectives,
        predicted=predicted,
        uncertainty=uncertainty,
        directions={name: state.directions.get(name, "maximize") for name in objective_names},
    )


def _parameter_names(state: CampaignState) -> list[str]:
    """Parameters in metadata order, then others in order of first appearance."""
    names: list[str] = [p.name for p in state.metadata.parameters] if state.metadata else []
    seen = set(names)
    last: tuple[str, ...] | None = None
    for cand in state.candidate_list:
        keys = cand.parameter_names
        if keys is last:  # candidates of a campaign share one key tuple
            continue
        last = keys
        for name in keys:
            if name not in seen:
                seen.add(name)
                names.append(name)
    return names


def _put(columns: dict[str, FloatArray], items: Iterable[tuple[str, float]], row: int, count: int) -> None:
    for name, value in items:
        column = columns.get(name)
        if column is None:
            column = columns[name] = np.full(count, NAN)
        column[row] = value


def _typed(values: list[object]) -> Column:
    """A float array when every present value is a number (not a bool), else the list."""
    for value in values:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            return values
    return np.array([NAN if v is None else v for v in values], dtype=np.float64)
