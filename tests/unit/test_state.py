from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from materia_tui.protocol import Event, Rejected, parse, parse_campaign
from materia_tui.state import CampaignState
from materia_tui.state.pareto import brute_force_front
from tests.support.campaigns import campaign_events, campaign_meta
from tests.support.fingerprint import fingerprint


def typed(raw: list[dict[str, Any]]) -> list[Event]:
    out = []
    for item in raw:
        event = parse(json.dumps(item))
        assert not isinstance(event, Rejected), event
        out.append(event)
    return out


def fold(events: list[Event], meta: dict[str, Any] | None = None) -> CampaignState:
    campaign = parse_campaign(meta) if meta else None
    state = CampaignState("camp-test", campaign)
    for i, event in enumerate(events):
        state.apply(event, 1_000.0 + i)
    return state


def test_a_whole_campaign_folds_into_the_expected_summary() -> None:
    raw = campaign_events(3, iterations=4, batch=3)
    state = fold(typed(raw), campaign_meta(iterations=4, batch=3))
    assert state.status == "completed" and state.phase == "completed"
    assert state.current_iteration == 4 and state.completed_iterations == 4
    assert len(state.candidates) == 12 and state.evaluations == 12
    assert state.total_evaluations == 12
    assert [it for it, _ in state.best_history] == [1, 2, 3, 4]
    assert state.converged_at == 4
    assert state.iterations[2].val_loss is not None and state.iterations[1].val_loss is None
    assert abs((state.iterations[2].training_seconds or 0) - 0.8) < 1e-6
    assert abs((state.iterations[2].acquisition_seconds or 0) - 1.2) < 1e-6
    assert abs((state.iterations[2].evaluation_seconds or 0) - 0.3) < 1e-6
    assert state.eta(0) == 0.0
    assert state.elapsed(10**12) == (state.finished_at or 0) - (state.started_at or 0)


def test_best_value_is_direction_aware_and_skips_infeasible_and_failed() -> None:
    state = CampaignState("c", parse_campaign(campaign_meta(objectives=3)))
    events = typed(
        [
            {"type": "iteration_started", "iteration": 1, "timestamp": "2026-01-01T00:00:00Z"},
            {
                "type": "candidates_evaluated",
                "iteration": 1,
                "results": [
                    {"candidate_id": "a", "objectives": {"water_flux": 10, "salt_rejection": 90, "cost": 5}},
                    {
                        "candidate_id": "b",
                        "objectives": {"water_flux": 99, "salt_rejection": 99, "cost": 1},
                        "feasible": False,
                    },
                    {
                        "candidate_id": "c",
                        "objectives": {"water_flux": 98, "salt_rejection": 99, "cost": 0},
                        "error": "boom",
                    },
                    {"candidate_id": "d", "objectives": {"water_flux": 20, "salt_rejection": 80, "cost": 3}},
                ],
            },
        ]
    )
    for e in events:
        state.apply(e, 0.0)
    assert state.best["water_flux"].value == 20 and state.best["water_flux"].candidate_id == "d"
    assert state.best["salt_rejection"].candidate_id == "a"
    assert state.best["cost"].value == 3  # minimized
    assert sorted(state.front_ids()) == ["a", "d"]
    assert state.candidates["b"].status == "infeasible" and state.candidates["c"].status == "failed"


def test_metadata_arriving_late_recomputes_best_and_front() -> None:
    state = CampaignState("c")
    for e in typed(
        [
            {
                "type": "candidates_evaluated",
                "iteration": 1,
                "results": [
                    {"candidate_id": "a", "objectives": {"water_flux": 10, "cost": 5}},
                    {"candidate_id": "b", "objectives": {"water_flux": 5, "cost": 1}},
                    {"candidate_id": "c", "objectives": {"water_flux": 4, "cost": 6}},
                ],
            }
        ]
    ):
        state.apply(e, 0.0)
    assert state.best["cost"].value == 6 and sorted(state.front_ids()) == ["a", "c"]
    meta = campaign_meta(objectives=1)
    meta["objectives"] = [{"name": "water_flux"}, {"name": "cost", "direction": "minimize"}]
    campaign = parse_campaign(meta)
    assert campaign is not None
    state.set_metadata(campaign)
    assert state.best["cost"].value == 1 and sorted(state.front_ids()) == ["a", "b"]


def test_remeasured_front_member_can_leave_the_front() -> None:
    state = CampaignState("c")

    def ev(results: list[dict[str, Any]]) -> None:
        for e in typed([{"type": "candidates_evaluated", "iteration": 1, "results": results}]):
            state.apply(e, 0.0)

    ev(
        [
            {"candidate_id": "a", "objectives": {"x": 10, "y": 10}},
            {"candidate_id": "b", "objectives": {"x": 5, "y": 5}},
        ]
    )
    assert state.front_ids() == ["a"]
    ev([{"candidate_id": "a", "objectives": {"x": 1, "y": 1}}])
    assert state.front_ids() == ["b"] and state.best["x"].candidate_id == "b"
    assert state.evaluations == 2


def test_fatal_error_fails_and_nonfatal_does_not() -> None:
    state = CampaignState("c")
    for e in typed([{"type": "campaign_error", "error": "retrying", "iteration": 2}]):
        state.apply(e, 0.0)
    assert state.status == "running" and len(state.errors) == 1
    for e in typed([{"type": "campaign_error", "error": "dead", "fatal": True}]):
        state.apply(e, 0.0)
    assert state.status == "failed" and state.phase == "failed"
    for e in typed([{"type": "campaign_completed", "total_iterations": 1, "total_evaluations": 0}]):
        state.apply(e, 0.0)
    assert state.status == "failed"


def test_rest_status_failed_marks_failure() -> None:
    state = CampaignState("c")
    campaign = parse_campaign(dict(campaign_meta(), status="failed"))
    assert campaign is not None
    state.set_metadata(campaign)
    assert state.status == "failed"


def test_rejected_and_unknown_frames_are_counted_apart() -> None:
    state = CampaignState("c")
    for frame in ['{"type": "x"}', "nope", '{"type": "iteration_started"}']:
        result = parse(frame)
        assert isinstance(result, Rejected)
        state.apply_rejected(result, 0.0)
    assert state.counters.unknown_type == 1 and state.counters.rejected == 2
    assert len(state.log) == 3


def test_eta_uses_recent_iteration_durations() -> None:
    raw = campaign_events(0, iterations=6, batch=2)
    cut = next(i for i, e in enumerate(raw) if e["type"] == "iteration_started" and e["iteration"] == 4)
    state = fold(typed(raw[: cut + 1]), campaign_meta(iterations=6))
    mean = state.mean_iteration_seconds()
    assert mean is not None and mean > 0
    started = state.iterations[4].started_at
    assert started is not None
    eta = state.eta(started)
    assert eta is not None and abs(eta - 3 * mean) < 1e-6
    eta_later = state.eta(started + mean / 2)
    assert eta_later is not None and abs(eta_later - 2.5 * mean) < 1e-6
    assert fold(typed(raw[:3])).eta(0) is None  # no max_iterations known


def test_gap_is_counted_and_late_arrival_still_applied() -> None:
    events = typed(campaign_events(0, iterations=2))
    state = CampaignState("c")
    order = [events[0], events[2], events[1], events[1]]
    results = [state.apply(e, 0.0) for e in order]
    assert results == ["applied", "applied", "applied", "duplicate"]
    assert state.counters.gaps == 1 and state.counters.duplicates == 1


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[int, list[int]]:
    """A campaign and a delivery of its frames: reconnect overlaps plus stray duplicates."""
    seed = draw(st.integers(0, 10_000))
    n = len(campaign_events(seed, iterations=4, batch=3))
    order: list[int] = []
    position = 0
    while position < n:
        step = draw(st.integers(1, n - position))
        order.extend(range(position, position + step))
        position += step
        if position < n and draw(st.booleans()):
            position = draw(st.integers(0, position))  # reconnect: backfill overlaps what we had
    extra = draw(st.lists(st.integers(0, n - 1), max_size=10))
    for index in extra:
        at = draw(st.integers(0, len(order)))
        # a stray duplicate can only repeat something already delivered
        if index in order[:at]:
            order.insert(at, index)
    return seed, order


@settings(max_examples=150, deadline=None)
@given(deliveries())
def test_duplicates_and_reconnect_overlaps_do_not_change_the_final_state(case: tuple[int, list[int]]) -> None:
    seed, order = case
    events = typed(campaign_events(seed, iterations=4, batch=3))
    meta = campaign_meta(iterations=4, batch=3)
    expected = fold(events, meta)
    campaign = parse_campaign(meta)
    state = CampaignState("camp-test", campaign)
    for i in order:
        state.apply(events[i], 1_000.0 + i)
    assert fingerprint(state) == fingerprint(expected)


points = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(points, st.integers(1, 3), st.lists(st.sampled_from(["maximize", "minimize"]), min_size=3, max_size=3))
def test_incremental_front_equals_brute_force(
    pts: list[tuple[int, int, int]], dims: int, directions: list[str]
) -> None:
    names = ["a", "b", "c"][:dims]
    meta = {
        "id": "c",
        "objectives": [{"name": n, "direction": d} for n, d in zip(names, directions, strict=False)],
    }
    state = CampaignState("c", parse_campaign(meta))
    for i, p in enumerate(pts):
        results = [{"candidate_id": f"k{i}", "objectives": {n: p[j] for j, n in enumerate(names)}}]
        for e in typed([{"type": "candidates_evaluated", "iteration": 1, "results": results}]):
            state.apply(e, 0.0)
    signed = [
        (f"k{i}", tuple(-p[j] if directions[j] == "minimize" else p[j] for j in range(dims)))
        for i, p in enumerate(pts)
    ]
    expected = brute_force_front((k, tuple(map(float, v))) for k, v in signed)
    assert set(state.front_ids()) == expected
    assert {c.id for c in state.candidate_list if c.on_front} == expected


def test_a_long_campaign_folds_completely() -> None:
    events = typed(campaign_events(1, iterations=200, batch=5))
    state = fold(events)
    assert state.evaluations == 1000 and state.counters.applied == len(events)
    assert len(state.best_history) == 200 and state.status == "completed"


measurements = st.lists(
    st.tuples(
        st.integers(0, 7),  # candidate id: a small pool, so leaders get re-measured
        st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(0, 5)),
        st.sampled_from(["ok", "ok", "ok", "infeasible", "failed"]),
        st.sampled_from([0b111, 0b111, 0b111, 0b011, 0b101, 0b001]),  # which objectives were measured
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=400, deadline=None)
@given(
    measurements,
    st.integers(1, 3),
    st.lists(st.sampled_from(["maximize", "minimize"]), min_size=3, max_size=3),
    st.booleans(),
)
def test_re_measured_leaders_give_the_same_front_and_best_as_a_recompute(
    steps: list[tuple[int, tuple[int, int, int], str, int]], dims: int, directions: list[str], declared: bool
) -> None:
    names = ["a", "b", "c"][:dims]
    objectives = [{"name": n, "direction": d} for n, d in zip(names, directions, strict=False)]
    # Undeclared objectives appear only in results, some candidates measured on a few.
    state = CampaignState("c", parse_campaign({"id": "c", "objectives": objectives if declared else []}))
    for step, (key, values, outcome, mask) in enumerate(steps):
        measured = {n: values[j] for j, n in enumerate(names) if declared or mask & (1 << j)}
        result: dict[str, Any] = {"candidate_id": f"k{key}", "objectives": measured}
        if outcome == "infeasible":
            result["feasible"] = False
        elif outcome == "failed":
            result["error"] = "diverged"
        for e in typed([{"type": "candidates_evaluated", "iteration": step + 1, "results": [result]}]):
            state.apply(e, 0.0)
        incremental = (set(state.front_ids()), {n: b.value for n, b in state.best.items()})
        flags = {c.id for c in state.candidate_list if c.on_front}
        holders_hold = all(state.candidates[b.candidate_id].objectives[n] == b.value for n, b in state.best.items())
        state._recompute_scores()
        assert incremental == (set(state.front_ids()), {n: b.value for n, b in state.best.items()})
        assert flags == incremental[0] and holders_hold


def _results(iteration: int, values: list[tuple[float, float]]) -> dict[str, Any]:
    return {
        "type": "candidates_evaluated",
        "iteration": iteration,
        "results": [
            {"candidate_id": f"{iteration}-{n}", "objectives": {"water_flux": flux, "cost": cost}}
            for n, (flux, cost) in enumerate(values)
        ],
    }


def _completed(iteration: int, backend_best: float) -> dict[str, Any]:
    return {"type": "iteration_completed", "iteration": iteration, "best_value": backend_best, "pareto_size": 1}


def test_best_by_iteration_is_each_objectives_best_so_far_not_the_backends_best_value() -> None:
    # The backend's best_value here is a scalarized score (0.1, 0.2, 0.3): not any objective.
    raw = [
        _results(1, [(10, 5), (12, 7)]),
        _completed(1, 0.1),
        _results(2, [(8, 3), (11, 9)]),  # worse flux, better (lower) cost
        _completed(2, 0.2),
        _results(3, [(20, 4)]),
        _completed(3, 0.3),
    ]
    meta = campaign_meta(objectives=1)
    meta["objectives"] = [{"name": "water_flux"}, {"name": "cost", "direction": "minimize"}]
    state = fold(typed(raw), meta)
    assert state.best_history == [(1, 0.1), (2, 0.2), (3, 0.3)]
    assert state.best_by_iteration == {
        "water_flux": [(1, 12), (2, 12), (3, 20)],
        "cost": [(1, 5), (2, 3), (3, 3)],
    }
    # Without metadata every objective is maximized; the directions arriving late
    # rebuild the series as if they had been known from the start.
    late = fold(typed(raw))
    assert late.best_by_iteration["cost"] == [(1, 7), (2, 9), (3, 9)]
    campaign = parse_campaign(meta)
    assert campaign is not None
    late.set_metadata(campaign)
    assert late.best_by_iteration == state.best_by_iteration


def test_best_by_iteration_keeps_the_order_and_repeats_of_completed_iterations() -> None:
    from materia_tui.state import CandidateStore, CandidateView
    from materia_tui.state.best_series import best_by_iteration

    store = CandidateStore()

    def measured(row: int, iteration: int | None, flux: float) -> CandidateView:
        assert store.add_rows([f"c{row}"], iteration) == row
        store.measure(row, {"water_flux": flux}, True, None, 1)
        return CandidateView(store, row)

    records = [measured(0, 2, 30.0), measured(1, None, 10.0), measured(2, 1, 20.0), measured(3, 3, 5.0)]
    series = best_by_iteration(records, [1, 2, 2, 3], lambda _name, value, than: value > than)
    # The candidate without an iteration counts from the start; a repeated iteration_completed repeats.
    assert series == {"water_flux": [(1, 20.0), (2, 30.0), (2, 30.0), (3, 30.0)]}
    lowest = best_by_iteration(records, [3, 1], lambda _name, value, than: value < than)
    assert lowest == {"water_flux": [(3, 5.0), (1, 10.0)]}
