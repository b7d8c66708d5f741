"""`materia-tui watch --plain/--json` end to end: the console script in a
subprocess against a real server on 127.0.0.1, checking numbers and exit codes."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

from tests.support.campaigns import campaign_events, campaign_meta
from tests.support.scripted_server import DEFAULT_TOKEN, ScriptedServer

EXE = str(Path(sys.executable).with_name("materia-tui"))


def strip_envelope(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k != "seq"} for e in events]


async def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, str, str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MATERIA_")}
    full_env["MATERIA_CONFIG"] = "/nonexistent/materia-tui.toml"
    full_env.update(env or {})
    proc = await asyncio.create_subprocess_exec(
        EXE,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=full_env,
        stdin=asyncio.subprocess.DEVNULL,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def started(server: ScriptedServer, campaign_id: str, raw: list[dict[str, Any]], **meta: Any) -> None:
    server.add_campaign(campaign_id, meta=campaign_meta(campaign_id, **meta), events=strip_envelope(raw))
    await server.start()


async def test_plain_prints_progress_and_exits_0_on_completion() -> None:
    server = ScriptedServer()
    raw = campaign_events(4, iterations=3, batch=2, campaign_id="camp-7")
    await started(server, "camp-7", raw, iterations=3, batch=2)
    try:
        code, out, err = await run_cli(
            "watch", "camp-7", "--plain", "--url", server.base_url, env={"MATERIA_TOKEN": DEFAULT_TOKEN}
        )
    finally:
        await server.close()
    lines = out.splitlines()
    assert code == 0, err
    assert lines[0] == "[Iter  1/3] Optimizing acquisition... done (1.2s, 2 candidates)"
    assert lines[-1] == "Done! 3 iterations, 6 evaluations"
    best = [line for line in lines if "Best:" in line]
    assert len(best) == 3
    expected = max(
        r["objectives"]["water_flux"]
        for e in raw
        if e["type"] == "candidates_evaluated"
        for r in e["results"]
        if r.get("feasible", True) and not r.get("error")
    )
    assert f"water_flux={expected:.4g} L/m2/h" in best[-1]
    assert DEFAULT_TOKEN not in out + err


async def test_json_is_one_event_per_line_and_pipes_default_to_plain(tmp_path: Path) -> None:
    server = ScriptedServer()
    raw = campaign_events(1, iterations=2, batch=2, campaign_id="camp-j")
    await started(server, "camp-j", raw, iterations=2, batch=2)
    token_file = tmp_path / "token"
    token_file.write_text(DEFAULT_TOKEN)
    token_file.chmod(0o600)
    try:
        code, out, err = await run_cli(
            "watch", "camp-j", "--json", "--url", server.base_url, "--token-file", str(token_file)
        )
        code2, out2, _ = await run_cli(
            "watch", "camp-j", "--url", server.base_url, env={"MATERIA_TOKEN": DEFAULT_TOKEN}
        )
    finally:
        await server.close()
    assert code == 0, err
    objs = [json.loads(line) for line in out.splitlines()]
    assert [o["seq"] for o in objs] == list(range(1, len(raw) + 1))
    assert [o["type"] for o in objs] == [e["type"] for e in raw]
    assert code2 == 0 and out2.splitlines()[-1] == "Done! 2 iterations, 4 evaluations"


async def test_failed_campaign_exits_1() -> None:
    server = ScriptedServer()
    await started(server, "camp-f", campaign_events(2, iterations=3, fail_at=2, campaign_id="camp-f"))
    try:
        code, out, _ = await run_cli(
            "watch", "camp-f", "--plain", "--url", server.base_url, env={"MATERIA_TOKEN": DEFAULT_TOKEN}
        )
    finally:
        await server.close()
    assert code == 1
    assert out.splitlines()[-1] == "[Iter  2/5] Failed: worker lost"


async def test_auth_and_not_found_exit_codes_with_one_sentence() -> None:
    server = ScriptedServer(forbidden_tokens={"other-user"})
    await started(server, "camp-a", campaign_events(0, iterations=1))
    try:
        bad = await run_cli(
            "watch",
            "camp-a",
            "--plain",
            "--url",
            server.base_url,
            env={"MATERIA_TOKEN": "wrong-secret-token"},
        )
        forbidden = await run_cli(
            "watch", "camp-a", "--plain", "--url", server.base_url, env={"MATERIA_TOKEN": "other-user"}
        )
        missing = await run_cli(
            "watch", "camp-zzz", "--plain", "--url", server.base_url, env={"MATERIA_TOKEN": DEFAULT_TOKEN}
        )
    finally:
        await server.close()
    for (code, out, err), expected in [(bad, 3), (forbidden, 3), (missing, 4)]:
        assert code == expected, err
        assert out == ""
        assert len(err.strip().splitlines()) == 1 and err.startswith("materia-tui: ")
        assert "Traceback" not in err
    assert "wrong-secret-token" not in bad[2]


async def test_usage_errors_exit_2() -> None:
    for args in (
        ["watch", "bad/id", "--plain"],
        ["watch", "c", "--plain", "--url", "ftp://x"],
        ["watch", "c", "--plain", "--token-file", "/nonexistent/token"],
        ["watch", "camp-1", "--max-retries", "many"],
    ):
        code, _out, err = await run_cli(*args)
        assert code == 2, (args, err)
        assert "Traceback" not in err


async def test_gave_up_exits_5_only_with_a_retry_limit() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, _, err = await run_cli(
        "watch", "camp-x", "--plain", "--max-retries", "1", "--url", f"http://127.0.0.1:{port}/api/v1"
    )
    assert code == 5, err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("materia-tui: ")


async def test_record_writes_every_applied_event_and_no_token(tmp_path: Path) -> None:
    server = ScriptedServer()
    raw = campaign_events(3, iterations=2, batch=2, campaign_id="camp-r")
    await started(server, "camp-r", raw, iterations=2, batch=2)
    recording = tmp_path / "run.jsonl"
    try:
        code, out, err = await run_cli(
            "watch",
            "camp-r",
            "--plain",
            "--record",
            str(recording),
            "--url",
            server.base_url,
            env={"MATERIA_TOKEN": DEFAULT_TOKEN},
        )
        replay = await run_cli("replay", str(recording), "--plain")
    finally:
        await server.close()
    assert code == 0, err
    lines = [json.loads(line) for line in recording.read_text().splitlines()]
    events = [line for line in lines if "type" in line]
    assert [e["seq"] for e in events] == list(range(1, len(raw) + 1))
    assert all(isinstance(e["received_at"], float) for e in events)
    assert DEFAULT_TOKEN not in recording.read_text()
    assert replay[0] == 0 and replay[1] == out
