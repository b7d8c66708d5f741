"""Optuna studies onto the WebSocket path: ``MateriaCallback`` into a real ``serve`` (HTTP)
and into a real Redis, and ``publish --from-optuna`` following a study into Redis.

Watchers read the campaign back (``watch --plain`` through the server, or the
Redis list folded into the reducer); best values and the front are Optuna's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis

from materia_tui.backend.server.auth import JwtAuth
from materia_tui.output.numbers import with_unit
from materia_tui.protocol import Rejected, parse, parse_campaign
from materia_tui.state import CampaignState
from tests.support.optuna_process import (
    finish_cli,
    front_numbers,
    load_study,
    run_cli,
    run_worker,
    start_cli,
    start_worker,
    storage_spec,
)
from tests.support.redis_server import redis_url, unique_campaign_id
from tests.support.serve_process import start_serve
from tests.support.server_helpers import SECRET

__all__ = ["redis_url"]  # the fixture, imported for pytest

pytestmark = pytest.mark.timeout(300)
AUTH = JwtAuth(SECRET.encode())


def state_from_redis(url: str, campaign_id: str) -> CampaignState:
    """The campaign as a server would serve it: the metadata and the event list, folded."""
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        meta = parse_campaign(json.loads(client.get(f"campaign:{campaign_id}:meta") or "{}"))
        frames = client.lrange(f"campaign:{campaign_id}:events", 0, -1)
    finally:
        client.close()
    assert meta is not None
    state = CampaignState(campaign_id, meta)
    for frame in frames:
        event = parse(frame)
        assert not isinstance(event, Rejected), event
        state.apply(event, 0.0)
    assert meta.status == "completed"
    return state


async def test_the_callback_publishes_to_serve_over_http_and_watch_shows_optunas_best(tmp_path: Path) -> None:
    serve = await start_serve(secret=SECRET)
    try:
        writer = AUTH.mint(campaigns="*", ttl_seconds=600, publish=True)
        spec = storage_spec(tmp_path, "sqlite")
        worker = await start_worker(
            spec, "tpe", "tpe", 15, "--callback-url", serve.base_url, "--campaign-id", "tpe-live",
            env={"MATERIA_TOKEN": writer},
        )
        code, err = await worker.finish()
        assert code == 0, err
        reader = AUTH.mint(campaigns=["tpe-live"], ttl_seconds=600)
        code, out, err = await run_cli(
            "watch", "tpe-live", "--plain", "--url", serve.base_url, env={"MATERIA_TOKEN": reader}
        )
    finally:
        await serve.stop()
    assert code == 0, err
    study = load_study(spec, "tpe")
    lines = out.splitlines()
    assert lines[-1] == "Done! 15 iterations, 15 evaluations"
    assert [line for line in lines if "Best:" in line][-1].endswith(f"value={with_unit(study.best_value, 'eV')}")


async def test_a_refused_token_stops_the_callback_not_the_optimization(tmp_path: Path) -> None:
    serve = await start_serve(secret=SECRET)
    try:
        reader_only = AUTH.mint(campaigns="*", ttl_seconds=600)  # no publish rights
        spec = storage_spec(tmp_path, "journal")
        worker = await start_worker(
            spec, "tpe", "tpe", 5, "--callback-url", serve.base_url, env={"MATERIA_TOKEN": reader_only}
        )
        code, err = await worker.finish()
    finally:
        await serve.stop()
    assert code == 1  # the worker reports the callback's error at the end ...
    assert "publish rights" in err and reader_only not in err
    assert len(load_study(spec, "tpe").trials) == 5  # ... after every trial ran


@pytest.mark.redis
async def test_the_callback_publishes_to_redis(tmp_path: Path, redis_url: str) -> None:
    campaign_id = unique_campaign_id("optuna")
    spec = storage_spec(tmp_path, "journal")
    await run_worker(spec, "nsga", "nsga2", 24, "--callback-redis", redis_url, "--campaign-id", campaign_id)
    state = state_from_redis(redis_url, campaign_id)
    study = load_study(spec, "nsga")
    assert sorted(state.front_ids()) == front_numbers(study)
    assert state.evaluations == 24 and state.pareto_mismatches == []
    assert state.units == {"cost": "$", "yield": "%"}


@pytest.mark.redis
async def test_publish_from_optuna_follows_a_running_study_into_redis(tmp_path: Path, redis_url: str) -> None:
    campaign_id = unique_campaign_id("bridge")
    spec = storage_spec(tmp_path, "sqlite")
    worker = await start_worker(spec, "prune", "prune", 18, "--sleep", "0.05")
    try:
        bridge = await start_cli(
            "publish", campaign_id, "--from-optuna", spec, "--study", "prune", "--redis", redis_url,
            "--n-trials", "18",
        )
        code, _, err = await finish_cli(bridge)
        worker_code, worker_err = await worker.finish()
    finally:
        worker.kill()
    assert (code, worker_code) == (0, 0), err + worker_err
    assert redis_url not in err
    state = state_from_redis(redis_url, campaign_id)
    study = load_study(spec, "prune")
    assert state.best["value"].value == study.best_value
    assert state.evaluations == 18
    assert {c.id for c in state.candidate_list if c.status == "failed"} == {
        f"trial-{t.number}" for t in study.trials if t.state.name in ("PRUNED", "FAIL")
    }


async def test_publish_from_optuna_checks_its_arguments(tmp_path: Path) -> None:
    spec = storage_spec(tmp_path, "journal")
    await run_worker(spec, "s", "tpe", 1)
    for args, expected in [
        (["--from-optuna", spec, "--redis", "redis://127.0.0.1:1/0"], "--study"),
        (["--from-optuna", spec, "--study", "s"], "--redis URL or to --url URL"),
        (["--from-optuna", spec, "--study", "nope", "--redis", "redis://127.0.0.1:1/0"], "no study 'nope'"),
        (["camp", "--study", "s", "--redis", "redis://127.0.0.1:1/0"], "--from-optuna"),
    ]:
        code, _, err = await run_cli("publish", *args)
        assert code in (2, 4), err
        assert expected in err and "Traceback" not in err
