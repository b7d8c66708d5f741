"""`materia-tui run --redis`: the campaign goes into a real redis-server, and a real `serve` on
that Redis shows it, live, to a `watch` in another process."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from materia_tui.backend.server.auth import JwtAuth
from tests.functional.test_cli_run import write_campaign
from tests.support.redis_server import redis_url, unique_campaign_id
from tests.support.serve_process import start_serve
from tests.support.server_helpers import SECRET

__all__ = ["redis_url"]  # the fixture, imported for pytest

pytestmark = pytest.mark.redis

EXE = str(Path(sys.executable).with_name("materia-tui"))
ENV = {**os.environ, "MATERIA_CONFIG": "/nonexistent/materia-tui.toml"}


async def test_run_into_redis_is_watched_live_through_serve(redis_url: str, tmp_path: Path) -> None:
    campaign_id = unique_campaign_id("run")
    config = write_campaign(tmp_path, iterations=2, batch=2)
    token_file = tmp_path / "token"
    token_file.write_text(JwtAuth(SECRET.encode()).mint(campaigns="*", ttl_seconds=600))
    serve = await start_serve("--redis", redis_url, secret=SECRET)
    try:
        runner = await asyncio.create_subprocess_exec(
            EXE, "run", str(config), "--json", "--redis", redis_url, "--campaign-id", campaign_id,
            cwd=tmp_path, env={**ENV, "EVAL_SLEEP": "0.3"},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
        )
        assert runner.stderr is not None
        first = await asyncio.wait_for(runner.stderr.readline(), 60)  # the metadata is in Redis by now
        assert first.startswith(b"run: serving http://127.0.0.1:"), first
        watcher = await asyncio.create_subprocess_exec(
            EXE, "watch", campaign_id, "--json", "--url", serve.base_url, "--token-file", str(token_file),
            env=ENV, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL,
        )
        (run_out, run_err), (watch_out, watch_err) = await asyncio.wait_for(
            asyncio.gather(runner.communicate(), watcher.communicate()), 90
        )
        assert runner.returncode == 0, (run_err.decode(), run_out.decode()[-3000:])
        assert watcher.returncode == 0, watch_err.decode()
        run_events = [json.loads(line) for line in run_out.decode().splitlines()]
        watched = [json.loads(line) for line in watch_out.decode().splitlines()]
        assert watched == run_events  # the same events, the same seqs, through Redis and serve
        assert watched[-1]["type"] == "campaign_completed" and watched[-1]["total_evaluations"] == 4
        assert "serve` on the same Redis" in (first + run_err).decode()

        # The campaign id is taken in Redis: a new run (own journal) must not mix into it.
        again = await asyncio.create_subprocess_exec(
            EXE, "run", str(config), "--plain", "--redis", redis_url, "--campaign-id", campaign_id,
            "--journal", str(tmp_path / "other.jsonl"), cwd=tmp_path, env=ENV,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
        )
        _, err = await asyncio.wait_for(again.communicate(), 60)
        assert again.returncode == 2 and b"already exists in Redis" in err
    finally:
        await serve.stop()


async def test_a_run_killed_mid_campaign_resumes_into_redis_with_continuing_seqs(
    redis_url: str, tmp_path: Path
) -> None:
    import redis.asyncio

    from materia_tui.backend.server import layout
    from tests.functional.test_cli_run import wait_for_calls

    campaign_id = unique_campaign_id("resume")
    config = write_campaign(tmp_path, iterations=3, batch=2)
    args = ("run", str(config), "--json", "--redis", redis_url, "--campaign-id", campaign_id)
    env = {**ENV, "EVAL_SLEEP": "0.3"}
    first = await asyncio.create_subprocess_exec(
        EXE, *args, cwd=tmp_path, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )
    await asyncio.to_thread(wait_for_calls, tmp_path / "calls.txt", 3, 60)
    first.kill()
    await first.wait()
    second = await asyncio.create_subprocess_exec(
        EXE, *args, "--resume", cwd=tmp_path, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(second.communicate(), 90)
    assert second.returncode == 0, err.decode()
    journal = tmp_path / ".materia" / f"{campaign_id}.jsonl"
    journaled = [e for e in map(json.loads, journal.read_text().splitlines()) if "type" in e]
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        stored = [json.loads(frame) for frame in await client.lrange(layout.events_key(campaign_id), 0, -1)]
    finally:
        await client.aclose()
    # Redis holds each journaled event once, with the journal's seq: nothing lost, nothing twice.
    assert [(e["seq"], e["type"]) for e in stored] == [(e["seq"], e["type"]) for e in journaled]
    assert stored[-1]["type"] == "campaign_completed" and stored[-1]["total_evaluations"] == 6
