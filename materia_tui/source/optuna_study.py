"""What an Optuna study and its trials say, in the protocol's terms (no I/O, no ``import optuna``).

Objects are duck-typed as Optuna's (``FrozenTrial``, distributions,
``StudyDirection``), so the mapping works across Optuna versions and is
tested without a storage. See ``optuna_mapping`` for how trials become events.
"""

from __future__ import annotations

import math
import re
import sys
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from materia_tui.insight.dominance import dominates
from materia_tui.protocol import Direction, ParameterSpec, ParameterValue, is_valid_campaign_id

FINISHED_STATES = frozenset({"COMPLETE", "PRUNED", "FAIL"})
CONSTRAINTS_KEY = "constraints"  # Optuna's system attribute: a list, or "constraints:NAME" keys
METRIC_NAMES_KEY = "study:metric_names"  # where study.set_metric_names() keeps them
MAX_FLOAT = sys.float_info.max
_SLUG_RE = re.compile(r"[^A-Za-z0-9._-]+")


class TrialLike(Protocol):
    """What the mapper reads of an ``optuna.trial.FrozenTrial``."""

    number: int
    state: Any  # optuna.trial.TrialState: only ``.name`` is read
    values: Sequence[float] | None
    params: dict[str, Any]
    distributions: dict[str, Any]
    datetime_start: datetime | None
    datetime_complete: datetime | None
    intermediate_values: dict[int, float]
    system_attrs: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StudyInfo:
    """What the campaign metadata needs of a study (``study_info`` builds it from Optuna's)."""

    name: str
    directions: tuple[Direction, ...]
    metric_names: tuple[str, ...] | None = None
    user_attrs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def objective_names(self) -> list[str]:
        if self.metric_names and len(self.metric_names) == len(self.directions):
            return [str(name) for name in self.metric_names]
        if len(self.directions) == 1:
            return ["value"]
        return [f"values_{i}" for i in range(len(self.directions))]

    def units(self) -> dict[str, str]:
        """Units from the study's user attributes: ``unit`` (a string, for the first
        objective), ``units`` (a list in objective order, or a dict by objective name)."""
        names = self.objective_names
        found: dict[str, str] = {}
        unit = self.user_attrs.get("unit")
        if isinstance(unit, str) and unit and names:
            found[names[0]] = unit
        units = self.user_attrs.get("units")
        if isinstance(units, list):
            found.update({n: u for n, u in zip(names, units, strict=False) if isinstance(u, str) and u})
        elif isinstance(units, dict):
            found.update({n: u for n, u in units.items() if n in names and isinstance(u, str) and u})
        return found


def study_info(
    name: str, directions: Iterable[Any], system_attrs: Mapping[str, Any], user_attrs: Mapping[str, Any]
) -> StudyInfo:
    """A ``StudyInfo`` from Optuna's study fields (``StudyDirection`` members or their names)."""
    shown: list[Direction] = [
        "maximize" if getattr(d, "name", str(d)).upper() == "MAXIMIZE" else "minimize" for d in directions
    ]
    metric_names = system_attrs.get(METRIC_NAMES_KEY)
    names = tuple(str(n) for n in metric_names) if isinstance(metric_names, list) else None
    return StudyInfo(name, tuple(shown), names, dict(user_attrs))


def campaign_id_for(study_name: str) -> str:
    """The study's name when it is a valid campaign id, else a slug of it plus a
    short hash, so that different names never share an id."""
    if is_valid_campaign_id(study_name):
        return study_name
    slug = _SLUG_RE.sub("-", study_name).strip("-._")[:100] or "study"
    return f"{slug}-{zlib.crc32(study_name.encode()):08x}"


def constraints_of(system_attrs: Mapping[str, Any]) -> list[float]:
    """A trial's constraint values, in both of Optuna's formats (a list under
    ``constraints``, and Optuna 5's ``constraints:NAME`` keys)."""
    values: dict[str, Any] = {}
    old = system_attrs.get(CONSTRAINTS_KEY)
    if isinstance(old, list | tuple):
        values.update({str(i): c for i, c in enumerate(old)})
    prefix = CONSTRAINTS_KEY + ":"
    for key, value in system_attrs.items():
        if key.startswith(prefix):
            values[key[len(prefix) :]] = value
    return [float(v) if isinstance(v, int | float) else math.nan for v in values.values()]


def is_feasible(system_attrs: Mapping[str, Any]) -> bool:
    """Optuna's rule: every constraint value is <= 0 (no constraints: feasible; NaN: not)."""
    return not system_attrs or all(value <= 0.0 for value in constraints_of(system_attrs))


def epoch(moment: datetime | None) -> float | None:
    """Epoch seconds of an Optuna datetime (naive local time, or aware)."""
    if moment is None:
        return None
    try:
        return moment.timestamp()
    except (OverflowError, OSError, ValueError):
        return None


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def finite(value: float) -> float:
    """A protocol number: +-inf clamped to the largest floats (order kept); NaN stays NaN."""
    if value == math.inf:
        return MAX_FLOAT
    if value == -math.inf:
        return -MAX_FLOAT
    return float(value)


def parameter_value(value: Any) -> ParameterValue:
    """A parameter as the protocol carries it: bool, int, finite float or str."""
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    return str(value)


def parameter_spec(name: str, distribution: Any) -> ParameterSpec:
    """float / log / int / int-log / categorical, from an Optuna distribution (duck-typed)."""
    choices = getattr(distribution, "choices", None)
    if choices is not None:
        return ParameterSpec(name=name, type="categorical", choices=[parameter_value(c) for c in choices])
    is_int = type(distribution).__name__.startswith("Int")
    log = bool(getattr(distribution, "log", False))
    kind = ("int-log" if log else "int") if is_int else ("log" if log else "float")
    low, high = getattr(distribution, "low", None), getattr(distribution, "high", None)
    return ParameterSpec(
        name=name,
        type=kind,
        low=float(low) if isinstance(low, int | float) else None,
        high=float(high) if isinstance(high, int | float) else None,
    )


def merge_specs(old: ParameterSpec, new: ParameterSpec) -> ParameterSpec:
    """One spec covering both (a dynamic search space widens; it never narrows here)."""
    if old == new:
        return old
    if old.choices is not None or new.choices is not None:
        merged = list(old.choices or [])
        merged += [c for c in new.choices or [] if c not in merged]
        return ParameterSpec(name=old.name, type="categorical", choices=merged)
    lows = [v for v in (old.low, new.low) if v is not None]
    highs = [v for v in (old.high, new.high) if v is not None]
    return ParameterSpec(
        name=old.name,
        type=old.type,
        low=min(lows) if lows else None,
        high=max(highs) if highs else None,
    )


def most_at_once(intervals: Iterable[tuple[float, float]]) -> int:
    """The largest number of (start, end) intervals open at one moment."""
    marks: list[tuple[float, int]] = []
    for start, end in intervals:
        marks.append((start, 1))
        marks.append((end, -1))
    marks.sort()  # an end sorts before a start at the same moment: back-to-back is not overlap
    running = peak = 0
    for _, step in marks:
        running += step
        peak = max(peak, running)
    return peak


def failure_reason(trial: TrialLike) -> str:
    """Why a PRUNED or FAIL trial has no usable result, in one short phrase."""
    if trial.state.name == "PRUNED":
        steps = trial.intermediate_values
        return f"pruned at step {max(steps)}" if steps else "pruned"
    stored = trial.system_attrs.get("fail_reason")  # Optuna < 3 kept the exception here
    if isinstance(stored, str) and stored:
        return f"failed: {stored[:300]}"
    return "failed (Optuna keeps no reason: see the optimizer's log)"


class FrontSize:
    """How many points are non-dominated, in "bigger is better" space, by the reducer's
    rule (equal points do not dominate each other: duplicates all stay). The source
    reports it in ``iteration_completed.pareto_size``; the state keeps its own front."""

    __slots__ = ("_points",)

    def __init__(self) -> None:
        self._points: list[tuple[float, ...]] = []

    def __len__(self) -> int:
        return len(self._points)

    def add(self, point: tuple[float, ...]) -> None:
        points = self._points
        for other in points:
            if dominates(other, point):
                return
        # One objective: the front is the ties of the best, so one comparison says all.
        if len(point) > 1 or (points and dominates(point, points[0])):
            points = [other for other in points if not dominates(point, other)]
        points.append(point)
        self._points = points
