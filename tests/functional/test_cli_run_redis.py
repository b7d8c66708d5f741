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
