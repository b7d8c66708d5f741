"""Pure helpers of the monitor: sparkline stretching, status-bar fitting, formatting."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from materia_tui.ui import format as fmt
from materia_tui.ui.widgets.convergence_panel import sparkline
from materia_tui.ui.widgets.status_bar import Item, fit_items


def test_sparkline_gives_each_value_a_proportional_run() -> None:
    line = sparkline([1.0, 2.0, 3.0], 10)
    assert len(line) == 10
    assert line == "▁" * 4 + line[4] * 3 + "█" * 3
    assert line[4] not in "▁█"
    squeezed = sparkline([float(v) for v in range(100)], 10)
    assert len(squeezed) == 10 and squeezed[0] in "▁▂" and squeezed[-1] == "█"
    assert sparkline([5.0], 6) == "▅" * 6
    assert sparkline([], 10) == ""


def test_fit_items_shortens_then_drops_by_priority() -> None:
    def items() -> list[Item]:
        return [
            Item((" LIVE ",)),
            Item(("a long campaign name", "a long…"), drop=1),
            Item(("camp-1",)),
            Item(("events 10", "ev 10"), drop=3),
            Item(("last 07:23:35", "07:23:35"), drop=2),
        ]

    assert [i.text for i in fit_items(items(), 200)][1] == "a long campaign name"
    fitted = [i.text for i in fit_items(items(), 50)]
    assert fitted == [" LIVE ", "a long…", "camp-1", "events 10", "last 07:23:35"]
    fitted = [i.text for i in fit_items(items(), 40)]
    assert fitted == [" LIVE ", "camp-1", "events 10", "last 07:23:35"]
    fitted = [i.text for i in fit_items(items(), 36)]
    assert fitted == [" LIVE ", "camp-1", "events 10", "07:23:35"]
    fitted = [i.text for i in fit_items(items(), 22)]
    assert fitted == [" LIVE ", "camp-1", "ev 10"]


def test_values_use_the_shared_unit_formatting() -> None:
    assert fmt.value_with_unit(69.97, "L/m2/h") == "69.97 L/m2/h"
    assert fmt.value_with_unit(99.43, "%") == "99.43%"
    assert fmt.value_with_unit(None, "%") == "-"
    assert fmt.value_with_unit(1.0, "\x1b[31m") == "1 \\x1b[31m"
    assert fmt.number(None) == "-" and fmt.number(1234.5) == "1234.5"


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=300), st.integers(8, 120), st.integers(1, 5))
def test_the_incremental_sparkline_equals_the_one_from_scratch(
    values: list[float], width: int, steps: int
) -> None:
    from materia_tui.ui.widgets.convergence_panel import RunningRange, last_per_cell

    running = RunningRange()
    history: list[tuple[int, float]] = []
    chunk = max(1, len(values) // steps)
    for start in range(0, len(values), chunk):  # the history grows between refreshes
        history.extend((i, v) for i, v in enumerate(values[start : start + chunk], start))
        bounds = running.of(history)
        plain = [v for _, v in history]
        assert bounds == (min(plain), max(plain))
        assert sparkline(last_per_cell(history, width), width, bounds) == sparkline(plain, width)


def test_the_quiet_marker_changes_at_a_few_steps_only() -> None:
    shown = [fmt.quiet(float(t)) for t in range(0, 3600 * 3, 1)]
    assert shown[0] is shown[59] is None and fmt.quiet(None) is None
    assert shown[60] == "quiet 1m+" and shown[299] == "quiet 1m+" and shown[300] == "quiet 5m+"
    assert shown[900] == "quiet 15m+" and shown[1800] == "quiet 30m+" and shown[3599] == "quiet 30m+"
    assert shown[3600] == "quiet 1h+" and shown[7200] == "quiet 2h+"
    changes = sum(1 for a, b in itertools.pairwise(shown) if a != b)
    assert changes == 6  # three hours of silence: 1, 5, 15, 30 minutes, 1 and 2 hours
