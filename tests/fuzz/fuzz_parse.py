"""Coverage-guided fuzzing of ``protocol.parse`` + the reducer + the plain formatter (atheris).

Not part of the test suite or CI (atheris is an optional extra)::

    .venv/bin/pip install -e '.[fuzz]'
    .venv/bin/python tests/fuzz/fuzz_parse.py -atheris_runs=200000   # or -max_total_time=60

Seeds are the frames of a synthetic campaign; any exception is a crash that
atheris reports with the input that caused it.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

import atheris  # type: ignore[import-untyped, import-not-found, unused-ignore]

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

with atheris.instrument_imports():
    from materia_tui.output.plain import PlainFormatter
    from materia_tui.protocol import Rejected, parse, parse_campaign
    from materia_tui.state import CampaignState
    from tests.support.campaigns import campaign_events, campaign_meta

UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
META = parse_campaign(campaign_meta("camp-fuzz", objectives=3))
SEEDS = [json.dumps(e).encode() for e in campaign_events(1, iterations=2, objectives=3)]


def one_input(data: bytes) -> None:
    state = CampaignState("camp-fuzz", META)
    for seed in SEEDS[:3]:  # some state to fold into
        state.apply(parse(seed), 0.0)  # type: ignore[arg-type]
    parsed = parse(data)
    if isinstance(parsed, Rejected):
        lines = [PlainFormatter.rejected_notice(parsed)]
    else:
        state.apply(parsed, 1.0)
        lines = PlainFormatter(state).event_lines(parsed)
        state.eta(2.0)
    for line in lines:
        if UNSAFE.search(line):
            raise AssertionError(f"terminal control in output: {line!r}")


def main() -> None:
    corpus = Path(tempfile.gettempdir()) / "materia-tui-fuzz-corpus"  # never inside the repo
    corpus.mkdir(exist_ok=True)
    for index, seed in enumerate(SEEDS):
        (corpus / f"seed-{index:03d}.json").write_bytes(seed)
    atheris.Setup([*sys.argv, str(corpus)], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
