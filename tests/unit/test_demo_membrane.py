"""The membrane model: a physical trade-off, bounded outputs, seeded noise, feasibility."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from materia_tui.backend.demo import membrane
from materia_tui.protocol import parse_campaign

BASE: dict[str, float | str] = {
    "pore_size_nm": 0.6,
    "active_layer_thickness_nm": 200.0,
    "surface_charge_mC_m2": -30.0,
    "operating_pressure_bar": 15.0,
    "polymer": "PA",
}


def _sample(count: int, seed: int = 7) -> list[membrane.Measurement]:
    recipes = membrane.random_recipes(count, np.random.default_rng(seed))
    return [membrane.measure(r, seed=seed, index=i) for i, r in enumerate(recipes)]


def test_flux_and_rejection_are_anticorrelated_across_random_recipes() -> None:
    measured = [m for m in _sample(400) if m.error is None]
    flux = [m.objectives["water_flux"] for m in measured]
    rejection = [m.objectives["salt_rejection"] for m in measured]
    correlation = spearmanr(flux, rejection).statistic
    assert correlation < -0.4


def test_outputs_stay_in_physical_bounds() -> None:
    for m in _sample(400):
        if m.error is not None:
            assert m.objectives == {}
            continue
        assert m.objectives["water_flux"] > 0
        assert 0 <= m.objectives["salt_rejection"] < 100


@pytest.mark.parametrize(
    ("name", "larger", "flux_rises", "rejection_rises"),
    [
        ("pore_size_nm", 1.2, True, False),
        ("active_layer_thickness_nm", 400.0, False, True),
        ("operating_pressure_bar", 30.0, True, True),  # dilution: more water per unit of salt passage
    ],
)
def test_recipe_changes_move_performance_the_physical_way(
    name: str, larger: float, flux_rises: bool, rejection_rises: bool
) -> None:
    before = membrane.true_performance(BASE)
    after = membrane.true_performance({**BASE, name: larger})
    assert (after.water_flux > before.water_flux) is flux_rises
    assert (after.salt_rejection > before.salt_rejection) is rejection_rises


def test_thin_layers_with_big_pores_at_high_pressure_are_infeasible() -> None:
    fragile = {**BASE, "pore_size_nm": 1.8, "active_layer_thickness_nm": 60.0, "operating_pressure_bar": 35.0}
    assert not membrane.is_feasible(fragile)
    assert membrane.is_feasible(BASE)
    infeasible = sum(1 for m in _sample(600) if m.error is None and not m.feasible)
    assert 0.05 < infeasible / 600 < 0.3  # occasional, not the norm


def test_measurements_are_seeded_per_candidate_and_fail_rarely() -> None:
    first = membrane.measure(BASE, seed=4, index=11)
    assert membrane.measure(BASE, seed=4, index=11) == first
    assert membrane.measure(BASE, seed=5, index=11) != first
    failures = [membrane.measure(BASE, seed=0, index=i) for i in range(1000)]
    failed = [m for m in failures if m.error is not None]
    assert 0.01 < len(failed) / 1000 < 0.06
    assert all(m.error in membrane.FAILURE_MESSAGES for m in failed)


def test_rounded_clips_to_bounds_and_rejects_unknown_polymers() -> None:
    clipped = membrane.rounded({**BASE, "pore_size_nm": 9.0, "surface_charge_mC_m2": -60.004})
    assert clipped["pore_size_nm"] == 2.0
    assert clipped["surface_charge_mC_m2"] == -60.0
    with pytest.raises(ValueError, match="polymer"):
        membrane.rounded({**BASE, "polymer": "PTFE"})


def test_metadata_matches_the_protocol_shapes() -> None:
    campaign = parse_campaign(
        {"id": "x", "objectives": membrane.objective_metadata(), "parameters": membrane.parameter_metadata()}
    )
    assert campaign is not None
    assert [o.name for o in campaign.objectives] == ["water_flux", "salt_rejection"]
    assert {o.direction for o in campaign.objectives} == {"maximize"}
    polymer = next(p for p in campaign.parameters if p.name == "polymer")
    assert polymer.type == "categorical"
    assert polymer.choices == ["PVDF", "PES", "PSf", "PA"]
    assert all(p.low is not None and p.high is not None for p in campaign.parameters if p.type == "float")
