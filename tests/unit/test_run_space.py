"""The search space of `materia-tui run`: encoding round trips, bounds, a space-filling design."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from materia_tui.backend.run.space import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    ObjectiveSpec,
    Parameter,
    SearchSpace,
)

MEMBRANE = SearchSpace(
    (
        ContinuousParameter("pore_size_nm", 0.2, 2.0),
        ContinuousParameter("thickness_um", 0.05, 1.0, log=True),
        IntegerParameter("temperature_c", 20, 80),
        CategoricalParameter("polymer", ("PA", "PES", "PSf", "PVDF")),
    )
)


@st.composite
def parameters(draw: st.DrawFn, name: str) -> Parameter:
    kind = draw(st.sampled_from(["continuous", "integer", "categorical"]))
    log = draw(st.booleans())
    if kind == "continuous":
        low = draw(st.floats(1e-3 if log else -1e6, 1e6, allow_nan=False))
        width = draw(st.floats(1e-3, 1e6, allow_nan=False))
        return ContinuousParameter(name, low, low + width, log=log)
    if kind == "integer":
        low_int = draw(st.integers(1 if log else -1000, 1000))
        return IntegerParameter(name, low_int, low_int + draw(st.integers(1, 10_000)), log=log)
    choices = draw(
        st.lists(
            st.one_of(
                st.text(max_size=5), st.integers(-5, 5), st.booleans(), st.floats(-5, 5, allow_nan=False)
            ),
            min_size=1,
            max_size=5,
            unique_by=lambda c: (type(c) is bool, c),
        )
    )
    return CategoricalParameter(name, tuple(choices))


@st.composite
def spaces(draw: st.DrawFn) -> SearchSpace:
    count = draw(st.integers(1, 5))
    return SearchSpace([draw(parameters(f"p{i}")) for i in range(count)])


def _same(parameter: Parameter, a: object, b: object) -> bool:
    if isinstance(parameter, ContinuousParameter):
        assert isinstance(a, float) and isinstance(b, float)
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9 * (parameter.high - parameter.low))
    return type(a) is type(b) and a == b


def _in_bounds(parameter: Parameter, value: object) -> bool:
    if isinstance(parameter, CategoricalParameter):
        return any(type(value) is type(c) and value == c for c in parameter.choices)
    expected = float if isinstance(parameter, ContinuousParameter) else int
    return type(value) is expected and parameter.low <= value <= parameter.high


@settings(max_examples=60, deadline=None)
@given(spaces(), st.integers(0, 2**32 - 1))
def test_sampled_points_round_trip_through_the_encoding(space: SearchSpace, seed: int) -> None:
    for point in space.sample(5, np.random.default_rng(seed)):
        x = space.encode(point)
        assert x.shape == (space.dim,)
        assert np.all((x >= 0) & (x <= 1))
        back = space.decode(x)
        assert list(back) == list(space.names)
        assert all(_same(p, back[p.name], point[p.name]) for p in space.parameters)
        assert all(_in_bounds(p, point[p.name]) for p in space.parameters)


@settings(max_examples=60, deadline=None)
@given(spaces(), st.data())
def test_any_vector_decodes_to_values_inside_the_bounds(space: SearchSpace, data: st.DataObject) -> None:
    vector = data.draw(
        st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=space.dim, max_size=space.dim)
    )
    decoded = space.decode(np.array(vector))
    assert all(_in_bounds(p, decoded[p.name]) for p in space.parameters)
    json.dumps(decoded)
    # Snapping moves a vector onto the point it decodes to, and snapping twice changes nothing.
    snapped = space.snap(np.nan_to_num(np.array([vector]), nan=0.5, posinf=1.0, neginf=0.0))
    assert np.array_equal(space.snap(snapped), snapped)
    assert all(
        _same(
            p, space.decode(snapped[0])[p.name], space.decode(space.encode(space.decode(snapped[0])))[p.name]
        )
        for p in space.parameters
    )


def test_encoding_puts_log_parameters_on_a_log_scale_and_integers_on_whole_numbers() -> None:
    x = MEMBRANE.encode(
        {"pore_size_nm": 1.1, "thickness_um": math.sqrt(0.05 * 1.0), "temperature_c": 50, "polymer": "PSf"}
    )
    assert x[0] == pytest.approx(0.5)
    assert x[1] == pytest.approx(0.5)  # the geometric middle of 0.05..1.0
    assert x[2] == pytest.approx(0.5)
    assert list(x[3:]) == [0.0, 0.0, 1.0, 0.0]
    decoded = MEMBRANE.decode(np.array([0.5, 1.7, 0.509, 0.1, 0.2, 0.9, 0.3]))
    assert decoded == {"pore_size_nm": 1.1, "thickness_um": 1.0, "temperature_c": 51, "polymer": "PSf"}
    assert type(decoded["temperature_c"]) is int


def test_snap_puts_integers_on_whole_numbers_and_categoricals_one_hot() -> None:
    rows = np.array([[0.5, 0.5, 0.509, 0.1, 0.2, 0.9, 0.3], [-3.0, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0]])
    snapped = MEMBRANE.snap(rows)
    assert snapped[0, 2] == pytest.approx((51 - 20) / 60)
    assert list(snapped[0, 3:]) == [0.0, 0.0, 1.0, 0.0]
    assert list(snapped[1, :2]) == [0.0, 1.0]
    assert snapped[1, 3:].sum() == 1.0


def test_booleans_and_numbers_are_different_choices() -> None:
    space = SearchSpace([CategoricalParameter("flag", (1, True, "1"))])
    for choice in (1, True, "1"):
        decoded = space.decode(space.encode({"flag": choice}))["flag"]
        assert type(decoded) is type(choice) and decoded == choice
    with pytest.raises(ValueError, match="not one of the choices"):
        space.encode({"flag": 2})


def test_sample_is_space_filling_reproducible_and_json_ready() -> None:
    design = MEMBRANE.sample(16, np.random.default_rng(7))
    assert design == MEMBRANE.sample(16, np.random.default_rng(7))
    assert design != MEMBRANE.sample(16, np.random.default_rng(8))
    assert json.loads(json.dumps(design)) == design
    pores = sorted(float(p["pore_size_nm"]) for p in design)
    # Scrambled Sobol, 16 points: one in each sixteenth of every range.
    assert {int((v - 0.2) / 1.8 * 16) for v in pores} == set(range(16))
    decades = {int((math.log(float(p["thickness_um"])) - math.log(0.05)) / math.log(20) * 16) for p in design}
    assert decades == set(range(16))
    assert {p["polymer"] for p in design} == {"PA", "PES", "PSf", "PVDF"}
    assert all(type(p["temperature_c"]) is int and 20 <= p["temperature_c"] <= 80 for p in design)


def test_latin_hypercube_has_one_point_in_each_slice_for_any_count() -> None:
    design = MEMBRANE.latin_hypercube(10, np.random.default_rng(4))
    assert np.array_equal(design, MEMBRANE.latin_hypercube(10, np.random.default_rng(4)))
    assert {int(v * 10) for v in design[:, 0]} == set(range(10))
    assert len({MEMBRANE.decode(row)["temperature_c"] for row in design}) == 10
    counts = design[:, 3:].sum(axis=0)
    assert sorted(counts) == [2, 2, 3, 3]  # ten slices over four polymers


def test_a_longer_design_extends_a_shorter_one() -> None:
    short = MEMBRANE.sample(5, np.random.default_rng(3))
    long = MEMBRANE.sample(40, np.random.default_rng(3))
    assert long[:5] == short


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ContinuousParameter("a", 2.0, 0.2), r"low \(2.0\) must be below high \(0.2\)"),
        (lambda: ContinuousParameter("a", 0.0, 1.0, log=True), "needs low > 0"),
        (lambda: ContinuousParameter("a", 0.0, math.inf), "finite"),
        (lambda: IntegerParameter("a", 3, 3), "must be below"),
        (lambda: CategoricalParameter("a", ()), "at least one choice"),
        (lambda: CategoricalParameter("a", ("x", "x")), "distinct"),
        (lambda: SearchSpace([]), "at least one parameter"),
        (lambda: SearchSpace([IntegerParameter("a", 0, 1), IntegerParameter("a", 0, 2)]), "distinct"),
        (lambda: ObjectiveSpec("f", "maximise"), "maximize or minimize"),  # type: ignore[arg-type]
    ],
)
def test_bad_definitions_are_refused_with_a_reason(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]


def test_missing_parameter_raises_key_error() -> None:
    with pytest.raises(KeyError):
        MEMBRANE.encode({"pore_size_nm": 1.0})
