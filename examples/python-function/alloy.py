"""A toy alloy: hardness of a steel from its recipe (for examples/python-function/campaign.yaml)."""

import math


def evaluate(parameters: dict) -> dict:
    chromium = parameters["chromium_pct"]
    carbon = parameters["carbon_pct"]
    steps = parameters["quench_steps"]
    medium = parameters["quench_medium"]
    if medium == "water" and carbon > 0.9:
        # Raised exceptions fail the candidate with their message.
        raise RuntimeError("quench cracks: high-carbon steel in water")
    severity = {"water": 1.0, "oil": 0.7, "air": 0.35}[medium]
    hardness = (
        180
        + 520 * (1 - math.exp(-2.5 * carbon)) * severity
        + 9 * chromium
        - 0.35 * chromium**2
        + 25 * math.log(steps)
        - 4 * (steps - 3) ** 2
    )
    # "feasible": false keeps a measured candidate out of the best values and the front.
    return {"hardness": round(hardness, 1), "feasible": chromium < 22 or carbon < 0.6}
