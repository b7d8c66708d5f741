"""The monitor's view of a large campaign (20,000 candidates of issue 17's shape)
equals what the reducer folds from the same events, and both equal counts,
best values and the Pareto front computed straight from the events' JSON."""

from __future__ import annotations

import json
from typing import Any

from bench.big_campaign import Shape, events, metadata
from materia_tui.protocol import Campaign, parse
from materia_tui.source import EventReceived, MetadataReceived, SourceItem
from materia_tui.state import CampaignState
from materia_tui.state.intake import apply_item
from materia_tui.state.pareto import brute_force_front
from materia_tui.ui.app import MonitorApp
from materia_tui.ui.widgets.candidate_table import CandidateTable
from materia_tui.ui.widgets.progress_panel import ProgressPanel
from tests.support.fake_source import T0, FakeSource
from tests.support.waiting import wait_for

SHAPE = Shape(iterations=4, candidates=5000, seed=5)


def campaign_items() -> tuple[list[SourceItem], list[dict[str, Any]]]:
    campaign = Campaign.model_validate(metadata("big", SHAPE))
    items: list[SourceItem] = [MetadataReceived(campaign)]
    raw: list[dict[str, Any]] = []
    for seq, text in enumerate(events(SHAPE), start=1):
        frame = {"seq": seq, "campaign_id": "big", **json.loads(text)}
        raw.append(frame)
        event = parse(json.dumps(frame))
        assert not hasattr(event, "kind"), event
        items.append(EventReceived(event, T0 + seq))
    return items, raw


def expected_from_json(raw: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts, best values and front from the frames themselves (both objectives maximized)."""
    measured: dict[str, tuple[float, float]] = {}
    proposed: set[str] = set()
    for frame in raw:
        if frame["type"] == "candidates_proposed":
            proposed.update(c["id"] for c in frame["candidates"])
        elif frame["type"] == "candidates_evaluated":
            for r in frame["results"]:
                measured[r["candidate_id"]] = (r["objectives"]["water_flux"], r["objectives"]["salt_rejection"])
    best = {
        name: max(point[k] for point in measured.values())
        for k, name in enumerate(("water_flux", "salt_rejection"))
    }
    return {
        "candidates": len(proposed),
        "evaluated": len(measured),
        "best": best,
        "front": brute_force_2d(measured),
    }


def brute_force_2d(points: dict[str, tuple[float, float]]) -> set[str]:
    """The front by a sort (the O(n^2) definition is too slow for 20k points; checked on a sample)."""
    ordered = sorted(points.items(), key=lambda item: item[1], reverse=True)
    front: set[str] = set()
    top = float("-inf")
    last: tuple[float, float] | None = None
    for key, (x, y) in ordered:
        if y > top or (x, y) == last:
            front.add(key)
            top = max(top, y)
            last = (x, y)
    return front


def test_the_sorted_front_is_the_definition_of_the_front() -> None:
    _, raw = campaign_items()
    measured = {
        r["candidate_id"]: (r["objectives"]["water_flux"], r["objectives"]["salt_rejection"])
        for frame in raw[:4] if frame["type"] == "candidates_evaluated" for r in frame["results"][:400]
    }  # fmt: skip
    assert len(measured) == 400
    assert brute_force_2d(measured) == brute_force_front(measured.items())


async def test_the_monitor_shows_what_the_reducer_folds_from_a_large_campaign() -> None:
    items, raw = campaign_items()
    expected = expected_from_json(raw)
    reducer = CampaignState("big")
    for item in items:
        apply_item(reducer, item)
    assert len(reducer.candidates) == expected["candidates"] == SHAPE.total_candidates
    assert reducer.evaluations == expected["evaluated"]
    assert {name: b.value for name, b in reducer.best.items()} == expected["best"]
    assert set(reducer.front_ids()) == expected["front"]

    source = FakeSource(items)
    app = MonitorApp(source, "big", now=lambda: T0 + 10_000)
    async with app.run_test(size=(160, 48)) as pilot:
        source.release_all()
        table = app.query_one(CandidateTable)

        def caught_up() -> bool:
            return (
                source.drained
                and app.view.up_to_date
                and table.row_count == SHAPE.total_candidates
                and app.view.pareto.up_to_date
                and app.view.pareto.data.measured == expected["evaluated"]
            )

        await wait_for(pilot, caught_up, timeout=60, what="the monitor caught up")
        state = app.view.state
        assert len(state.candidates) == len(reducer.candidates)
        assert state.evaluations == reducer.evaluations and state.counters.applied == reducer.counters.applied
        assert state.best == reducer.best
        assert sorted(state.front_ids()) == sorted(reducer.front_ids())
        # What is on screen: the front in the scatter, best values in the progress panel, the table.
        front_points = sorted(
            (c.objectives["water_flux"], c.objectives["salt_rejection"])
            for c in (reducer.candidates[k] for k in expected["front"])
        )
        shown_front = sorted(zip(*app.view.pareto.data.front, strict=True))
        assert shown_front == front_points
        progress = app.query_one(ProgressPanel).shown_plain
        for name, best in reducer.best.items():
            assert best.candidate_id in progress, name
        while table.filter_mode != "pareto":
            table.cycle_filter()
        await pilot.pause()
        shown = {table.record_at(i).id for i in range(table.row_count)}  # type: ignore[union-attr]
        assert shown == expected["front"]
