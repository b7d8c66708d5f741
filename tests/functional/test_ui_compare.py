"""``watch A B --compare`` / ``replay a b --compare``: one Compare tab overlaying the campaigns'
hypervolume curves (one common reference point) and Pareto fronts, one colour and legend entry each."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from materia_tui.insight.front import Direction
from materia_tui.insight.hypervolume import hypervolume_trace, reference_point
from materia_tui.state.columns import candidate_columns
from materia_tui.ui.multi_app import COMPARE_PANE, MultiMonitorApp
from materia_tui.ui.widgets.compare_view import CompareView, measurement_columns
from tests.functional.test_cli_analyze_where import write_recording
from tests.functional.test_cli_replay import cli
from tests.support.fake_source import T0, FakeSource, campaign_items
from tests.support.waiting import wait_for


async def test_compare_overlays_both_campaigns_on_one_reference_point() -> None:
    a = FakeSource(campaign_items(8, campaign_id="camp-a", seed=1, complete=True))
    b = FakeSource(campaign_items(5, campaign_id="camp-b", seed=2))
    app = MultiMonitorApp([("camp-a", a), ("camp-b", b)], compare=True, now=lambda: T0 + 500)
    async with app.run_test(size=(160, 48)) as pilot:
        a.release_all()
        b.release_all()
        view = app.query_one(CompareView)
        assert app.tabs.active == COMPARE_PANE

        def compared() -> bool:
            result = view.result
            return (
                view.up_to_date
                and result is not None
                and [len(c.iterations) for c in result.curves] == [8, 5]
            )

        await wait_for(pilot, compared, timeout=20, what="comparison")
        result = view.result
        assert result is not None
        assert result.objectives == ("water_flux", "salt_rejection") and result.kind == "hypervolume"
        assert [c.campaign_id for c in result.curves] == ["camp-a", "camp-b"]
        assert len({c.colour for c in result.curves}) == 2
        # the same numbers as the pure functions over both campaigns, with the common reference
        columns = [candidate_columns(v.state) for v in app.views]
        directions: list[Direction] = ["maximize", "maximize"]
        tables = [np.column_stack([c.objectives[n] for n in result.objectives]) for c in columns]
        union = np.concatenate([t[c.feasible] for t, c in zip(tables, columns, strict=True)])
        reference = reference_point(union, directions)
        assert result.reference == reference
        for curve, c, table in zip(result.curves, columns, tables, strict=True):
            trace = hypervolume_trace(
                c.iteration.astype(np.int64), table, directions, c.feasible, reference=reference
            )
            assert curve.values == [p.value for p in trace.points if p.value is not None]
            assert curve.iterations == [p.iteration for p in trace.points if p.value is not None]
            assert curve.front[0] == sorted(curve.front[0]) and len(curve.front[0]) > 0
        copied = measurement_columns(app.views[0].state)  # what the worker is handed: no more
        assert not copied.parameters and not copied.predicted and not copied.uncertainty
        caption = str(view.query_one("#compare-caption").render())
        assert "2 campaigns" in caption and "common reference" in caption
        commands = [c.title for c in app.get_system_commands(app.screen)]
        assert "Compare" in commands
        assert app.tabs.active == COMPARE_PANE  # still on screen once everything arrived
        await pilot.press("right_square_bracket")
        assert app.tabs.active == "pane-0"
        await pilot.press("c")
        assert app.tabs.active == COMPARE_PANE


async def test_a_campaign_opened_later_joins_the_overlay() -> None:
    a = FakeSource(campaign_items(6, campaign_id="camp-a", seed=1, complete=True))
    b = FakeSource(campaign_items(4, campaign_id="camp-b", seed=2, complete=True))
    app = MultiMonitorApp([("camp-a", a), ("camp-b", b)], compare=True, now=lambda: T0 + 500)
    async with app.run_test(size=(160, 48)) as pilot:
        a.release_all()
        b.release_all()
        view = app.query_one(CompareView)
        await wait_for(pilot, lambda: view.up_to_date and view.result is not None, what="two campaigns")
        c = FakeSource(campaign_items(3, campaign_id="camp-c", seed=3, complete=True))
        await app.add_campaign("camp-c", c)  # as the picker and a new tab open one
        c.release_all()
        await pilot.press("c")  # back to the Compare tab

        def three() -> bool:
            result = view.result
            return view.up_to_date and result is not None and len(result.curves) == 3

        await wait_for(pilot, lambda: c.drained and three(), timeout=20, what="three campaigns")
        result = view.result
        assert result is not None
        assert [curve.campaign_id for curve in result.curves] == ["camp-a", "camp-b", "camp-c"]
        assert [len(curve.iterations) for curve in result.curves] == [6, 4, 3]
        assert len({curve.colour for curve in result.curves}) == 3
        assert "3 campaigns" in str(view.query_one("#compare-caption").render())


def test_compare_needs_two_recordings_and_the_monitor(tmp_path: Path) -> None:
    first = tmp_path / "a.jsonl"
    write_recording(first, 3)
    one = cli("replay", str(first), "--compare")
    assert one.returncode == 2 and "--compare needs two or more recordings" in one.stderr
    piped = cli("replay", str(first), str(first), "--compare")
    assert piped.returncode == 2 and "exactly one recording" in piped.stderr
    watch = cli("watch", "camp-a", "--compare")
    assert watch.returncode == 2 and "--compare needs two or more campaign ids" in watch.stderr
