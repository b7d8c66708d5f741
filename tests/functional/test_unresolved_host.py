"""Issue 19.1: a host name that does not resolve on the first connection.

``camp.invalid`` never resolves (RFC 6761 reserves .invalid), so no traffic
leaves the machine: the CLI as a subprocess, and the monitor in a pilot, both
against a real WebSocketSource.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from materia_tui.source.settings import ConnectionSettings
from materia_tui.source.websocket import WebSocketSource
from materia_tui.ui.app import MonitorApp
from materia_tui.ui.widgets.event_log import EventLog
from materia_tui.ui.widgets.status_bar import StatusBar
from tests.support.toasts import record_toasts
from tests.support.waiting import wait_for

EXE = str(Path(sys.executable).with_name("materia-tui"))
UNRESOLVABLE = "https://camp.invalid/api/v1"


async def run_cli(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MATERIA_")} | env
    proc = await asyncio.create_subprocess_exec(
        EXE, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=full_env,
        stdin=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_plain_explains_once_where_the_url_came_from_then_retries_quietly(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'url = "{UNRESOLVABLE}"\n', encoding="utf-8")
    from_file, from_env = await asyncio.gather(
        run_cli("watch", "camp-1", "--plain", "--max-retries", "4", env={"MATERIA_CONFIG": str(config)}),
        run_cli(
            "watch", "camp-1", "--json", "--max-retries", "1",
            env={"MATERIA_CONFIG": str(config), "MATERIA_API_URL": "http://camp.invalid:9/api/v1"},
        ),
    )  # fmt: skip
    code, out, err = from_file
    assert (code, out) == (5, "")
    lines = err.splitlines()
    assert lines[0] == (
        f"The host name camp.invalid does not resolve: {UNRESOLVABLE} comes from url in {config}; "
        "edit it, set MATERIA_API_URL, or pass --url. Retrying; a line at the 2nd, 4th, 8th... failure."
    )
    # Failures 1-4, then the give-up: failure 3 prints nothing.
    assert [line.split(":")[0] for line in lines[1:3]] == [
        f"still retrying (failure {n}, next in {line.split('next in ')[1].split(')')[0]})"
        for n, line in zip((2, 4), lines[1:3], strict=True)
    ]
    assert lines[3].startswith("materia-tui: Gave up connecting to wss://camp.invalid/ws/campaigns/camp-1")
    assert len(lines) == 4
    code, out, err = from_env
    assert (code, out) == (5, "")
    assert err.startswith(
        "The host name camp.invalid does not resolve: http://camp.invalid:9/api/v1 comes from "
        "MATERIA_API_URL; change it, or pass --url."
    )


async def test_ls_and_export_say_the_same_sentence() -> None:
    env = {"MATERIA_CONFIG": "/nonexistent/config.toml"}
    for args in (("ls",), ("export", "camp-1")):
        code, out, err = await run_cli(*args, "--url", UNRESOLVABLE, env=env)
        assert (code, out) == (5, "")
        assert err == (
            f"materia-tui: The host name camp.invalid does not resolve: {UNRESOLVABLE} comes from --url; "
            "check the host name.\n"
        )


async def test_the_monitor_shows_the_sentence_in_the_status_bar_and_nothing_else() -> None:
    origin = f"{UNRESOLVABLE} comes from --url; check the host name."
    settings = ConnectionSettings(UNRESOLVABLE, url_origin=origin, backoff_initial=0.02, backoff_max=0.05)
    app = MonitorApp(WebSocketSource("camp-1", settings), "camp-1")
    toasts = record_toasts(app)
    async with app.run_test(size=(80, 24)) as pilot:
        bar = app.query_one(StatusBar)
        await wait_for(pilot, lambda: app.view.link.attempt >= 3, timeout=20, what="the third failure")
        # Shown while waiting to retry and while retrying: it never blinks off.
        first, *reason = bar.shown_plain.splitlines()
        assert first.startswith((" RECONNECTING (ATTEMPT", " CONNECTING "))
        # Wrapped over the lines under the status line, read in full at 80 columns.
        assert " ".join(" ".join(reason).split()) == f"The host name camp.invalid does not resolve: {origin}"
        assert all(len(line) <= 80 for line in reason)
        assert len(reason) >= 2 and bar.size.height == 1 + len(reason)  # every line on screen
        # Quietly: no toast, no log line per attempt.
        assert not toasts and app.query_one(EventLog).line_count == 0
        await pilot.press("q")
