"""The summary at the top of docs/PERFORMANCE.md lists exactly the rows that have a target."""

from __future__ import annotations

from bench.run_all import summary

SECTION = """### Intake

| what | target | measured | baseline (same run) | ratio | meets target |
| --- | --- | --- | --- | --- | --- |
| ceiling: bare recv + json.loads: frames/s | (ceiling for >= 50k/s) | 33,457/s | bare 70,500/s | 0.47x |  |
| monitor: frames/s | >= 50k/s and >= 0.5x bare | 8,319/s | bare 70,500/s | 0.12x | **no** |
|   CPU time until then |  | 1100.0 ms | minimal: 460.0 ms | 2.39x |  |
| table first frame | <= 300.0 ms | 70.4 ms | DataTable: 1575.9 ms | 16.9x floor | yes |

One note line."""


def test_summary_lists_only_rows_with_a_target_and_their_verdict() -> None:
    lines = summary([SECTION]).splitlines()
    assert lines[2:] == [
        "| Intake | monitor: frames/s | >= 50k/s and >= 0.5x bare | 8,319/s | **no** |",
        "| Intake | table first frame | <= 300.0 ms | 70.4 ms | yes |",
    ]


def test_summary_of_sections_without_targets_is_empty() -> None:
    assert summary(["### Crashed\n\n**CRASHED** (exit 1)", ""]) == ""
