"""Random wire frames (hypothesis) of small campaigns, and folding them into a state:
proposals and evaluations over a dozen ids, re-proposed and re-measured, with
parameters of every JSON scalar kind and sections that differ from one candidate
to the next."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from materia_tui.protocol import Rejected, parse
from materia_tui.state import CampaignState


def fold(state: CampaignState, frames: list[dict[str, Any]]) -> CampaignState:
    for seq, frame in enumerate(frames, start=1):
        event = parse(json.dumps({**frame, "seq": seq}))
        assert not isinstance(event, Rejected), event
        state.apply(event, float(seq))
    return state


ids = st.sampled_from([f"c{k}" for k in range(12)])
parameter_value = st.one_of(
    st.floats(-5, 5, allow_nan=False), st.integers(-3, 3), st.sampled_from(["A", "B", "C"]), st.booleans()
)
parameters = st.dictionaries(st.sampled_from(["x", "y", "kind"]), parameter_value, max_size=3)
floats = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
predictions = st.dictionaries(st.sampled_from(["f", "g"]), floats, max_size=2)
proposal = st.fixed_dictionaries(
    {"id": ids, "parameters": parameters, "predicted": predictions, "uncertainty": predictions},
    optional={"acquisition_value": floats},
)
result = st.fixed_dictionaries(
    {"candidate_id": ids, "objectives": st.dictionaries(st.sampled_from(["f", "g", "h"]), floats, max_size=3)},
    optional={"feasible": st.booleans(), "error": st.sampled_from(["boom", "timed out"])},
)
frame = st.one_of(
    st.builds(lambda cs, it: {"type": "candidates_proposed", "iteration": it, "candidates": cs},
              st.lists(proposal, min_size=1, max_size=6), st.integers(1, 4)),
    st.builds(lambda rs, it: {"type": "candidates_evaluated", "iteration": it, "results": rs},
              st.lists(result, min_size=1, max_size=6), st.integers(1, 4)),
)  # fmt: skip
