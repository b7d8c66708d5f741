"""The search space of a campaign: its parameters, their encoding in a unit cube, a space-filling design.

The optimizer works on encoded vectors in [0, 1]^dim:

- a continuous or integer parameter is one coordinate, its range mapped linearly (or its
  logarithm's, with ``log=True``) onto [0, 1]; an integer's coordinate only takes the
  values of whole numbers (``snap``);
- a categorical parameter is one-hot, one coordinate per choice.

``decode`` is the inverse for any vector (out-of-range coordinates are clipped, integers
rounded, the largest one-hot coordinate wins), and returns plain Python values, ready
for JSON.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import numpy as np
from numpy.typing import NDArray
from scipy.stats import qmc

Array: TypeAlias = NDArray[np.float64]
Choice: TypeAlias = str | int | float | bool
ParameterValue: TypeAlias = Choice
Direction: TypeAlias = Literal["maximize", "minimize"]


@dataclass(frozen=True, slots=True)
class _RangeParameter:
    """A numeric parameter: its range (low below high, both above 0 with ``log``)."""

    name: str
    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        _check_range(self.name, self.low, self.high, self.log)


@dataclass(frozen=True, slots=True)
class ContinuousParameter(_RangeParameter):
    pass


@dataclass(frozen=True, slots=True)
class IntegerParameter(_RangeParameter):
    low: int
    high: int


@dataclass(frozen=True, slots=True)
class CategoricalParameter:
    name: str
    choices: tuple[Choice, ...]

    def __post_init__(self) -> None:
        if not self.choices:
            raise ValueError(f"{self.name}: a categorical parameter needs at least one choice")
        keys = [_choice_key(c) for c in self.choices]
        if len(set(keys)) != len(keys):
            raise ValueError(f"{self.name}: choices must be distinct")

    def index(self, value: Any) -> int:
        key = _choice_key(value)
        for i, choice in enumerate(self.choices):
            if _choice_key(choice) == key:
                return i
        raise ValueError(f"{self.name}: {value!r} is not one of the choices {list(self.choices)}")


Parameter: TypeAlias = ContinuousParameter | IntegerParameter | CategoricalParameter


@dataclass(frozen=True, slots=True)
class ObjectiveSpec:
    name: str
    direction: Direction

    def __post_init__(self) -> None:
        if self.direction not in ("maximize", "minimize"):
            raise ValueError(f"{self.name}: direction must be maximize or minimize, not {self.direction!r}")


def _check_range(name: str, low: float, high: float, log: bool) -> None:
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"{name}: low and high must be finite numbers")
    if not low < high:
        raise ValueError(f"{name}: low ({low}) must be below high ({high})")
    if log and low <= 0:
        raise ValueError(f"{name}: a log-scaled parameter needs low > 0 (got {low})")


def _choice_key(value: Any) -> tuple[str, Any]:
    # True == 1 in Python; a choice list [1, True] holds two different choices.
    kind = (
        "bool"
        if isinstance(value, bool | np.bool_)
        else "number"
        if isinstance(value, int | float)
        else "str"
    )
    return kind, value.item() if isinstance(value, np.generic) else value


@dataclass(frozen=True, slots=True)
class _Column:
    """Where a parameter lives in the encoded vector."""

    parameter: Parameter
    start: int
    width: int


class SearchSpace:
    """An ordered set of parameters and the encoding the optimizer works in."""

    def __init__(self, parameters: Sequence[Parameter]) -> None:
        self.parameters: tuple[Parameter, ...] = tuple(parameters)
        if not self.parameters:
            raise ValueError("a search space needs at least one parameter")
        names = [p.name for p in self.parameters]
        if len(set(names)) != len(names):
            raise ValueError("parameter names must be distinct")
        columns = []
        start = 0
        for p in self.parameters:
            width = len(p.choices) if isinstance(p, CategoricalParameter) else 1
            columns.append(_Column(p, start, width))
            start += width
        self._columns: tuple[_Column, ...] = tuple(columns)
        self.dim: int = start

    def __repr__(self) -> str:
        return f"SearchSpace({self.parameters!r})"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @property
    def has_discrete(self) -> bool:
        return any(not isinstance(p, ContinuousParameter) for p in self.parameters)

    def categorical_blocks(self) -> list[tuple[int, int]]:
        """(start, width) of each one-hot block."""
        return [(c.start, c.width) for c in self._columns if isinstance(c.parameter, CategoricalParameter)]

    def numeric_columns(self) -> list[int]:
        """Encoded coordinates of the continuous and integer parameters."""
        return [c.start for c in self._columns if not isinstance(c.parameter, CategoricalParameter)]

    # ----- one point ------------------------------------------------------------------

    def encode(self, params: Mapping[str, Any]) -> Array:
        """The unit-cube vector of a parameter dict (missing names raise KeyError)."""
        x = np.zeros(self.dim)
        for c in self._columns:
            p = c.parameter
            value = params[p.name]
            if isinstance(p, CategoricalParameter):
                x[c.start + p.index(value)] = 1.0
            else:
                x[c.start] = _to_unit(float(value), p.low, p.high, p.log)
        return x

    def decode(self, x: Array | Sequence[float]) -> dict[str, ParameterValue]:
        """The parameter dict of a vector: clipped to the bounds, integers rounded, one-hot by argmax."""
        x = np.asarray(x, dtype=np.float64)
        if x.shape != (self.dim,):
            raise ValueError(f"expected a vector of {self.dim} coordinates, got shape {x.shape}")
        values: dict[str, ParameterValue] = {}
        for c in self._columns:
            p = c.parameter
            if isinstance(p, CategoricalParameter):
                block = np.nan_to_num(x[c.start : c.start + c.width], nan=-np.inf)
                values[p.name] = p.choices[int(np.argmax(block))]
            else:
                unit = float(np.clip(np.nan_to_num(x[c.start], nan=0.5), 0.0, 1.0))
                value = _from_unit(unit, p.low, p.high, p.log)
                if isinstance(p, IntegerParameter):
                    values[p.name] = int(min(p.high, max(p.low, round(value))))
                else:
                    values[p.name] = float(min(p.high, max(p.low, value)))
        return values

    # ----- many points (vectorized) ---------------------------------------------------

    def snap(self, x: Array) -> Array:
        """Rows moved onto points the space can hold: clipped, integers on whole numbers, one-hot."""
        out = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0).reshape(-1, self.dim).copy()
        for c in self._columns:
            p = c.parameter
            if isinstance(p, CategoricalParameter):
                block = out[:, c.start : c.start + c.width]
                picks = np.argmax(block, axis=1)
                block[:] = 0.0
                block[np.arange(len(out)), picks] = 1.0
            elif isinstance(p, IntegerParameter):
                values = np.clip(
                    np.round(_from_unit_array(out[:, c.start], p.low, p.high, p.log)), p.low, p.high
                )
                out[:, c.start] = _to_unit_array(values, p.low, p.high, p.log)
        return out

    def from_unit(self, u: Array) -> Array:
        """Encoded, snapped rows from rows of [0, 1]^len(parameters): one coordinate per parameter,
        a categorical's picking its choice by equal slices (how a design fills the space)."""
        u = np.asarray(u, dtype=np.float64).reshape(-1, len(self.parameters))
        x = np.zeros((len(u), self.dim))
        for j, c in enumerate(self._columns):
            if isinstance(c.parameter, CategoricalParameter):
                picks = np.minimum((u[:, j] * c.width).astype(int), c.width - 1)
                x[np.arange(len(u)), c.start + picks] = 1.0
            else:
                x[:, c.start] = u[:, j]
        return self.snap(x)

    def sample(self, n: int, rng: np.random.Generator) -> list[dict[str, ParameterValue]]:
        """``n`` space-filling points: the first ``n`` of a scrambled Sobol sequence."""
        return [self.decode(row) for row in self.sobol(n, rng)]

    def sobol(self, n: int, rng: np.random.Generator) -> Array:
        """Encoded rows of the first ``n`` points of a scrambled Sobol sequence (a prefix of a
        longer draw with the same generator state, so it extends without reshuffling)."""
        if n <= 0:
            return np.zeros((0, self.dim))
        sampler = qmc.Sobol(d=len(self.parameters), scramble=True, seed=rng)
        points: Array = sampler.random_base2(max(0, math.ceil(math.log2(n))))[:n]
        return self.from_unit(points)

    def latin_hypercube(self, n: int, rng: np.random.Generator, tries: int = 16) -> Array:
        """Encoded rows of an ``n``-point Latin hypercube (one point in each n-th of every range,
        for any n), the one with the widest minimum gap between points of ``tries`` draws."""
        if n <= 0:
            return np.zeros((0, self.dim))
        return self.from_unit(_maximin_latin_hypercube(n, len(self.parameters), rng, tries))


def _maximin_latin_hypercube(n: int, d: int, rng: np.random.Generator, tries: int) -> Array:
    best: Array | None = None
    best_gap = -1.0
    for _ in range(tries):
        points: Array = qmc.LatinHypercube(d=d, seed=rng).random(n)
        sq = np.sum((points[:, None, :] - points[None, :, :]) ** 2, axis=-1)
        gap = float(np.min(sq[np.triu_indices(n, 1)])) if n > 1 else 0.0
        if gap > best_gap:
            best, best_gap = points, gap
    assert best is not None
    return best


def _to_unit(value: float, low: float, high: float, log: bool) -> float:
    if log:
        return (math.log(max(value, low * 1e-12)) - math.log(low)) / (math.log(high) - math.log(low))
    return (value - low) / (high - low)


def _from_unit(u: float, low: float, high: float, log: bool) -> float:
    if log:
        return math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
    return low + u * (high - low)


def _to_unit_array(values: Array, low: float, high: float, log: bool) -> Array:
    if log:
        result: Array = (np.log(values) - math.log(low)) / (math.log(high) - math.log(low))
        return result
    scaled: Array = (values - low) / (high - low)
    return scaled


def _from_unit_array(u: Array, low: float, high: float, log: bool) -> Array:
    if log:
        result: Array = np.exp(math.log(low) + u * (math.log(high) - math.log(low)))
        return result
    scaled: Array = low + u * (high - low)
    return scaled
