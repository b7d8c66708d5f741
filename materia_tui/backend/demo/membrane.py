"""A reverse-osmosis / nanofiltration membrane model with a real flux-rejection trade-off.

The feed is brackish water (5 g/L NaCl, osmotic pressure about 3.9 bar). The
model couples textbook pieces rather than fitting any data set:

- water permeance of the active layer follows pore flow (Hagen-Poiseuille:
  ~ d^2 / thickness) scaled by a per-polymer permeability and a small
  hydrophilicity gain from surface charge, in series with the porous support;
- the effective driving pressure is P - sigma * pi_wall, where the wall
  osmotic pressure grows with flux (concentration polarization) and the
  reflection coefficient sigma is the intrinsic rejection, solved to a fixed
  point;
- salt passes by convection through pores (Ferry steric sieving, attenuated
  by Donnan exclusion that fades as pores outgrow the Debye length), by
  solution-diffusion (B / (J + B)), and through defects of thin layers;
- the observed rejection then loses to concentration polarization.

Big pores and thin layers give flux and lose rejection: that is the trade-off
the optimizer has to map. Thin layers with big pores at high pressure fail the
integrity test (``feasible=False``), and a few evaluations fail outright with
an instrument error, both decided by a seeded random stream per candidate so
a campaign is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

ParameterValues = Mapping[str, float | str]

WATER_FLUX: Final = "water_flux"
SALT_REJECTION: Final = "salt_rejection"
OBJECTIVE_NAMES: Final = (WATER_FLUX, SALT_REJECTION)


@dataclass(frozen=True, slots=True)
class FloatParameter:
    name: str
    low: float
    high: float
    unit: str
    decimals: int  # published (and evaluated) precision, like a lab recipe sheet


@dataclass(frozen=True, slots=True)
class CategoricalParameter:
    name: str
    choices: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Polymer:
    water_permeability: float  # relative to polyamide
    salt_solubility: float  # relative solution-diffusion salt permeability
    strength: float  # relative resistance to rupture under pressure


POLYMERS: Final[dict[str, Polymer]] = {
    # Polyamide thin-film composites are the workhorse of real RO: permeable, tight.
    "PA": Polymer(water_permeability=1.0, salt_solubility=0.5, strength=1.0),
    "PES": Polymer(water_permeability=0.75, salt_solubility=1.0, strength=0.9),
    "PSf": Polymer(water_permeability=0.65, salt_solubility=1.1, strength=0.95),
    # PVDF is hydrophobic (less water) but mechanically tough.
    "PVDF": Polymer(water_permeability=0.5, salt_solubility=0.8, strength=1.4),
}

FLOAT_PARAMETERS: Final = (
    FloatParameter("pore_size_nm", 0.3, 2.0, "nm", 3),
    FloatParameter("active_layer_thickness_nm", 50.0, 500.0, "nm", 1),
    FloatParameter("surface_charge_mC_m2", -60.0, 10.0, "mC/m2", 2),
    FloatParameter("operating_pressure_bar", 5.0, 40.0, "bar", 2),
)
POLYMER_PARAMETER: Final = CategoricalParameter("polymer", ("PVDF", "PES", "PSf", "PA"))

FEED_OSMOTIC_PRESSURE_BAR: Final = 3.9  # 5 g/L NaCl at 25 C
MASS_TRANSFER_LMH: Final = 100.0  # cross-flow cell boundary-layer mass transfer coefficient
SUPPORT_PERMEANCE_LMH_BAR: Final = 6.0  # the porous support layer in series
HYDRATED_SALT_DIAMETER_NM: Final = 0.66
DEBYE_LENGTH_NM: Final = 1.0  # at 0.085 M NaCl
MAX_REJECTION_PERCENT: Final = 99.999
FAILURE_PROBABILITY: Final = 0.03
FLUX_NOISE: Final = 0.03  # log-normal relative measurement noise
PASSAGE_NOISE: Final = 0.05
INTEGRITY_THRESHOLD: Final = 4.0

FAILURE_MESSAGES: Final = (
    "conductivity probe drift above 5 %: measurement discarded",
    "feed pump pressure fault: could not hold the set point",
    "coupon O-ring leak detected during compaction",
    "permeate balance timeout: no stable reading after 20 min",
)


@dataclass(frozen=True, slots=True)
class Measurement:
    """One evaluation as a lab would report it (objectives empty when it failed)."""

    objectives: dict[str, float]
    feasible: bool
    error: str | None


def parameter_metadata() -> list[dict[str, Any]]:
    """The ``parameters`` list of the Campaign metadata (docs/PROTOCOL.md section 5)."""
    specs: list[dict[str, Any]] = [
        {"name": p.name, "type": "float", "low": p.low, "high": p.high, "unit": p.unit}
        for p in FLOAT_PARAMETERS
    ]
    specs.append(
        {"name": POLYMER_PARAMETER.name, "type": "categorical", "choices": list(POLYMER_PARAMETER.choices)}
    )
    return specs


def objective_metadata() -> list[dict[str, Any]]:
    return [
        {"name": WATER_FLUX, "direction": "maximize", "unit": "L/m2/h"},
        {"name": SALT_REJECTION, "direction": "maximize", "unit": "%"},
    ]


def rounded(params: ParameterValues) -> dict[str, float | str]:
    """Clip to the bounds and round to the published precision: what gets made is what is shown."""
    out: dict[str, float | str] = {}
    for p in FLOAT_PARAMETERS:
        value = min(p.high, max(p.low, float(params[p.name])))
        out[p.name] = round(value, p.decimals)
    polymer = str(params[POLYMER_PARAMETER.name])
    if polymer not in POLYMERS:
        raise ValueError(f"unknown polymer {polymer!r}")
    out[POLYMER_PARAMETER.name] = polymer
    return out


@dataclass(frozen=True, slots=True)
class Performance:
    water_flux: float  # L/m2/h
    salt_passage: float  # fraction of feed salt in the permeate, in (0, 1]

    @property
    def salt_rejection(self) -> float:
        return 100.0 * (1.0 - self.salt_passage)


def true_performance(params: ParameterValues) -> Performance:
    """Noise-free flux and salt passage of a membrane recipe."""
    d = float(params["pore_size_nm"])
    thickness = float(params["active_layer_thickness_nm"])
    charge = float(params["surface_charge_mC_m2"])
    pressure = float(params["operating_pressure_bar"])
    polymer = POLYMERS[str(params["polymer"])]

    hydrophilicity = 1.0 + abs(charge) / 200.0
    active_permeance = 8.0 * polymer.water_permeability * d**2 * (100.0 / thickness) * hydrophilicity
    permeance = 1.0 / (1.0 / active_permeance + 1.0 / SUPPORT_PERMEANCE_LMH_BAR)

    convective = _convective_passage(d, charge)
    defects = 0.05 * math.exp(-(thickness - 50.0) / 40.0) * d
    salt_permeability = 0.4 * polymer.salt_solubility * (100.0 / thickness)

    flux = permeance * pressure  # start from no osmotic back-pressure
    intrinsic_passage = 1.0
    for _ in range(30):
        diffusive = salt_permeability / (flux + salt_permeability)
        intrinsic_passage = 1.0 - (1.0 - convective) * (1.0 - diffusive) * (1.0 - defects)
        wall_osmotic = FEED_OSMOTIC_PRESSURE_BAR * math.exp(flux / MASS_TRANSFER_LMH)
        reflection = 1.0 - intrinsic_passage
        target = max(0.05, permeance * (pressure - reflection * wall_osmotic))
        # Damped update: the fixed point is stable but the raw map can oscillate at high permeance.
        flux = 0.5 * flux + 0.5 * target
    polarization = math.exp(flux / MASS_TRANSFER_LMH)
    observed = intrinsic_passage * polarization / (1.0 - intrinsic_passage + intrinsic_passage * polarization)
    return Performance(water_flux=flux, salt_passage=min(1.0, observed))


def _convective_passage(pore_diameter: float, charge: float) -> float:
    ratio = HYDRATED_SALT_DIAMETER_NM / pore_diameter
    if ratio >= 1.0:
        return 0.0
    partition = (1.0 - ratio) ** 2
    steric = partition * (2.0 - partition)  # Ferry sieving coefficient
    # Co-ion exclusion: negative charge repels Cl- more effectively than the positive side repels Na+.
    charge_weight = 1.0 if charge < 0 else 0.7
    donnan = charge_weight * abs(charge) / 20.0 * math.exp(-pore_diameter / (1.2 * DEBYE_LENGTH_NM))
    return steric * math.exp(-donnan)


def integrity_margin(params: ParameterValues) -> float:
    """> 1 when the active layer survives the operating pressure over its pores."""
    d = float(params["pore_size_nm"])
    thickness = float(params["active_layer_thickness_nm"])
    pressure = float(params["operating_pressure_bar"])
    strength = POLYMERS[str(params["polymer"])].strength
    # Thin-plate stress over a pore scales like P * (d / t); normalized so typical RO recipes pass.
    return strength * thickness / (d * pressure) / INTEGRITY_THRESHOLD


def is_feasible(params: ParameterValues) -> bool:
    return integrity_margin(params) >= 1.0


def measure(params: ParameterValues, *, seed: int, index: int) -> Measurement:
    """Evaluate one recipe with seeded measurement noise (reproducible per seed and candidate index)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, index, 0x4D454D]))
    failure_draw, flux_noise, passage_noise, message_draw = (
        rng.random(),
        *rng.standard_normal(2),
        rng.random(),
    )
    if failure_draw < FAILURE_PROBABILITY:
        message = FAILURE_MESSAGES[int(message_draw * len(FAILURE_MESSAGES))]
        return Measurement(objectives={}, feasible=True, error=message)
    truth = true_performance(params)
    flux = truth.water_flux * math.exp(FLUX_NOISE * flux_noise)
    passage = truth.salt_passage * math.exp(PASSAGE_NOISE * passage_noise)
    rejection = min(MAX_REJECTION_PERCENT, max(0.0, 100.0 * (1.0 - passage)))
    objectives = {WATER_FLUX: round(flux, 3), SALT_REJECTION: round(rejection, 3)}
    return Measurement(objectives=objectives, feasible=is_feasible(params), error=None)


def random_recipes(count: int, rng: np.random.Generator) -> list[dict[str, float | str]]:
    """Uniformly random recipes (the random-search baseline and trade-off checks)."""
    recipes = []
    for _ in range(count):
        values: dict[str, float | str] = {p.name: rng.uniform(p.low, p.high) for p in FLOAT_PARAMETERS}
        values[POLYMER_PARAMETER.name] = POLYMER_PARAMETER.choices[
            int(rng.integers(len(POLYMER_PARAMETER.choices)))
        ]
        recipes.append(rounded(values))
    return recipes
