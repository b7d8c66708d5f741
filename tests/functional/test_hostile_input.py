"""Hostile and broken input end to end: terminal injection and resource abuse.

Terminal injection: every string a backend controls (campaign name, ids,
parameter names and values, objective names and units, error texts, unknown
event types, close reasons) carries Rich markup, CSI/OSC sequences, BEL, C1
controls, bidi overrides, very long and wide text. ``watch --plain`` and
``--json`` must write none of those control bytes; the full-screen monitor in a
real tmux pane must keep its title, clipboard and screen, showing the strings
as inert text.

Resource abuse: oversized frames, floods of tiny frames, deep nesting and a
50k-candidate batch cost bounded memory, give clear messages and never the
connection.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from materia_tui.protocol import MAX_FRAME_BYTES
from materia_tui.source import ConnectionChanged, EventReceived, FrameRejected, SourceItem
from materia_tui.source.websocket import WebSocketSource
from materia_tui.state import CampaignState
from materia_tui.state.intake import apply_item
from tests.conftest import require_binary
from tests.support import fast_settings, wait_until
from tests.support.scripted_server import DEFAULT_TOKEN, ScriptedServer, ServerThread

CAMPAIGN = "camp-hostile"
EXE = str(Path(sys.executable).with_name("materia-tui"))

HOSTILE = {
    "csi": "\x1b[2J\x1b[31mRED\x1b[0m",
    "title": "\x1b]0;PWNED-TITLE\x07",
    "clipboard": "\x1b]52;c;cHduZWQ=\x07",
    "hyperlink": "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",
    "bell": "ding\x07dong",
    "c1": "\x9b2J\x9d0;C1TITLE\x9c",
    "bidi": "abc\u202edcba\u2066x\u2069",
    "markup": "[bold]B[/] [link=https://x]L[/link] [/]",
    "wide": "界面" * 20,
    "long": "L" * 5000,
}
ALL_HOSTILE = "".join(HOSTILE.values())
# In UTF-8: ESC, BEL, the C1 block (U+0080-U+009F) and the bidi/invisible format characters.
FORBIDDEN_BYTES = re.compile(
    rb"[\x1b\x07]|\xc2[\x80-\x9f]|\xe2\x80[\x8b-\x8f\xa8-\xae]|\xe2\x81[\xa0-\xa9]|\xd8\x9c|\xef\xbb\xbf"
)


def hostile_meta() -> dict[str, Any]:
    return {
        "name": HOSTILE["title"] + HOSTILE["markup"] + HOSTILE["csi"],
        "objectives": [
            {"name": "flux" + HOSTILE["title"], "direction": "maximize", "unit": HOSTILE["csi"] + "%"},
            {"name": HOSTILE["markup"], "direction": "minimize", "unit": HOSTILE["bidi"]},
        ],
        "max_iterations": 2,
    }


def hostile_events() -> list[dict[str, Any]]:
    objectives = [o["name"] for o in hostile_meta()["objectives"]]
    ids = [f"c-{key}-{value}" for key, value in HOSTILE.items()]
    candidates = [
        {
            "id": cid,
            "parameters": {HOSTILE["markup"]: HOSTILE["hyperlink"], "p" + HOSTILE["c1"]: 1.5, "w": HOSTILE["wide"]},
            "predicted": {objectives[0]: 1.0},
        }
        for cid in ids
    ]
    results = [
        {"candidate_id": cid, "objectives": {objectives[0]: 10.0 + k, objectives[1]: 5.0 - k}}
        for k, cid in enumerate(ids)
    ]
    return [
        {"type": "iteration_started", "iteration": 1, "timestamp": "2026-01-01T00:00:00Z"},
        {"type": "candidates_proposed", "iteration": 1, "candidates": candidates},
        {"type": "candidates_evaluated", "iteration": 1, "results": results},
        {"type": "campaign_error", "iteration": 1, "error": ALL_HOSTILE, "fatal": False},
        {"type": "iteration_completed", "iteration": 1, "best_value": 19.0, "pareto_size": 10},
        {"type": HOSTILE["title"] + "mystery"},  # an unknown type: rejected, its name shown in the notice
        {"type": "campaign_completed", "total_iterations": 1, "total_evaluations": len(ids)},
    ]


def assert_inert_bytes(raw: bytes) -> None:
    found = FORBIDDEN_BYTES.search(raw)
    assert found is None, f"control bytes {found.group(0)!r} at {found.start()}: {raw[max(0, found.start() - 60):found.end() + 20]!r}"


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATERIA_")}
    env.update({"MATERIA_CONFIG": "/nonexistent/materia-tui.toml", "MATERIA_TOKEN": DEFAULT_TOKEN})
    return env


def hostile_server() -> ScriptedServer:
    server = ScriptedServer()
    server.add_campaign(CAMPAIGN, meta=hostile_meta(), events=hostile_events()[:-2])
    # The first connection is closed with a hostile reason: it reaches the reconnect notice.
    server.close_on_accept = (1011, ("\x1b]0;REASON\x07" + HOSTILE["bidi"])[:60])
    return server


def publish_the_end(thread: ServerThread, server: ScriptedServer) -> None:
    thread.call(server.wait_for_clients(CAMPAIGN, timeout=15))
    for event in hostile_events()[-2:]:
        thread.call(server.publish(CAMPAIGN, event))


@pytest.mark.parametrize("mode", ["--plain", "--json"])
def test_line_output_writes_no_terminal_control_bytes(mode: str) -> None:
    server = hostile_server()
    with ServerThread(server) as thread:
        proc = subprocess.Popen(
            [EXE, "watch", CAMPAIGN, mode, "--url", server.base_url],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=cli_env(),
        )
        thread.call(server.wait_for_handshakes(2))  # the first one surely got the hostile close
        server.close_on_accept = None
        publish_the_end(thread, server)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode(errors="replace")
    assert_inert_bytes(out)
    assert_inert_bytes(err)
    text_err = err.decode()
    assert "reconnecting" in text_err and "\\x1b]0;REASON" in text_err  # shown, but escaped
    if mode == "--json":
        lines = [json.loads(line) for line in out.decode().splitlines()]
        assert len(lines) == len(hostile_events()) - 1  # the unknown type is skipped
        error_event = next(e for e in lines if e["type"] == "campaign_error")
        assert error_event["error"] == ALL_HOSTILE  # the data survives, exactly, as JSON escapes
    else:
        text = out.decode()
        assert "Error: " in text and "\\x1b[2J" in text and "\\u202e" in text
        assert "[bold]B[/]" in text  # markup printed literally, never interpreted
        assert "\\x1b]0;PWNED-TITLE" in text_err + text
        assert text.splitlines()[-1] == "Done! 1 iterations, 10 evaluations"


# ----- the full-screen monitor in a real terminal -------------------------------


def tmux(socket: str, *args: str) -> str:
    binary = require_binary("tmux")
    result = subprocess.run([binary, "-L", socket, *args], capture_output=True, timeout=10, check=True)
    return result.stdout.decode(errors="replace")


@pytest.mark.tmux
def test_monitor_in_tmux_keeps_title_clipboard_and_screen(tmp_path: Path) -> None:
    require_binary("tmux")
    server = hostile_server()
    server.close_on_accept = None
    socket = f"materia-hostile-{os.getpid()}"
    env_file = tmp_path / "env.sh"
    env_file.write_text(
        "".join(f"export {k}={shlex.quote(v)}\n" for k, v in cli_env().items() if k.startswith(("MATERIA_", "PATH")))
    )
    with ServerThread(server) as thread:
        command = f". {shlex.quote(str(env_file))}; {shlex.quote(EXE)} watch {CAMPAIGN} --url {server.base_url}"
        tmux(socket, "-f", "/dev/null", "new-session", "-d", "-x", "120", "-y", "40", "sh", "-c", "sleep 30")
        try:
            tmux(socket, "set-option", "-g", "set-clipboard", "on")
            tmux(socket, "set-option", "-g", "allow-rename", "on")
            tmux(socket, "set-option", "-g", "set-titles", "on")
            tmux(socket, "respawn-pane", "-k", "-t", "0", command + "; sleep 30")
            title_before = tmux(socket, "display", "-p", "#{pane_title}").strip()
            publish_the_end(thread, server)
            deadline = time.monotonic() + 30
            screen = ""
            while "COMPLETED" not in screen:
                assert time.monotonic() < deadline, f"the monitor never showed the campaign:\n{screen}"
                time.sleep(0.1)  # polling the named condition "the final state is on screen"
                screen = tmux(socket, "capture-pane", "-p", "-t", "0")
            raw = tmux(socket, "capture-pane", "-p", "-e", "-t", "0")
            title_after = tmux(socket, "display", "-p", "#{pane_title}").strip()
            window_name = tmux(socket, "display", "-p", "#{window_name}").strip()
            buffers = tmux(socket, "list-buffers")
        finally:
            subprocess.run([require_binary("tmux"), "-L", socket, "kill-server"], check=False, timeout=10)
    assert "PWNED" not in title_after and "C1TITLE" not in title_after and "REASON" not in title_after
    assert title_after == title_before or title_after.startswith("materia-tui"), (title_before, title_after)
    assert "PWNED" not in window_name
    assert buffers.strip() == "", f"OSC 52 reached the clipboard: {buffers!r}"
    assert "\u202e" not in screen and "\u2066" not in screen
    # Hostile candidate ids are in the table (which rows show depends on the sort and timing).
    assert re.search(r"c-(csi|title|clipboard|hyperli|bell|c1|bidi|markup|wide|long)", screen), screen
    assert "\\x1b]0;PWNED-TI" in screen  # the hostile campaign name in the status bar, inert
    assert "[bold]B[/]" in screen  # Rich markup shown literally, never interpreted
    assert "]8;;https://evil" not in raw.replace("\\x1b]8;;https://evil", "")  # no live OSC 8 link
    assert "\x1b]" not in raw and "\x07" not in raw  # tmux re-emits SGR only, never OSC/BEL


# ----- resource abuse -------------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class Folder:
    def __init__(self) -> None:
        self.state = CampaignState(CAMPAIGN)
        self.items: list[SourceItem] = []
        self.rejected = 0
        self.seqs: list[int] = []

    async def run(self, source: WebSocketSource) -> None:
        async for item in source:
            apply_item(self.state, item)
            if isinstance(item, FrameRejected):
                self.rejected += 1
                if len(self.items) < 50:
                    self.items.append(item)
            elif isinstance(item, EventReceived) and item.event.seq is not None:
                self.seqs.append(item.event.seq)
            elif isinstance(item, ConnectionChanged):
                self.items.append(item)

    def statuses(self) -> list[str]:
        return [i.status for i in self.items if isinstance(i, ConnectionChanged)]


@pytest.fixture
async def server() -> Any:
    scripted = ScriptedServer()
    scripted.add_campaign(CAMPAIGN)
    await scripted.start()
    try:
        yield scripted
    finally:
        await scripted.close()


async def start(server: ScriptedServer) -> tuple[Folder, asyncio.Task[None]]:
    folder = Folder()
    source = WebSocketSource(CAMPAIGN, fast_settings(server.base_url))
    task = asyncio.create_task(asyncio.wait_for(folder.run(source), 110))
    await wait_until(lambda: "live" in folder.statuses(), timeout=10)
    return folder, task


async def finish(server: ScriptedServer, folder: Folder, task: asyncio.Task[None]) -> None:
    await server.publish(CAMPAIGN, {"type": "campaign_completed", "total_iterations": 1, "total_evaluations": 1})
    await task
    assert folder.seqs == list(range(1, len(server.history(CAMPAIGN)) + 1))
    assert server.ws_handshakes == 1, "the connection did not survive"


async def test_an_oversized_frame_costs_that_frame_with_a_clear_message(server: ScriptedServer) -> None:
    folder, task = await start(server)
    before = rss_bytes()
    await server.send_raw(CAMPAIGN, '{"type": "convergence_update", "pad": "' + "x" * (MAX_FRAME_BYTES + 1024) + '"}')
    await server.publish(CAMPAIGN, {"type": "convergence_update", "metric": 0.5, "converged": False})
    await wait_until(lambda: len(folder.seqs) == 1, timeout=20)
    grown = rss_bytes() - before
    await finish(server, folder, task)
    rejected = [i for i in folder.items if isinstance(i, FrameRejected)]
    assert [r.rejected.kind for r in rejected] == ["too_large"]
    assert "exceeds 16 MiB" in rejected[0].rejected.reason
    assert grown < 200 * 2**20, f"RSS grew by {grown / 2**20:.0f} MiB for one 16 MiB frame"
    print(f"\noversized frame ({MAX_FRAME_BYTES / 2**20 + 0.001:.3f} MiB): rejected, RSS +{grown / 2**20:.0f} MiB")


async def test_a_flood_of_tiny_frames_keeps_memory_bounded(server: ScriptedServer) -> None:
    folder, task = await start(server)
    flood = 50_000
    before = rss_bytes()
    started = time.perf_counter()
    for index in range(flood):
        await server.send_raw(CAMPAIGN, "{}" if index % 2 else "x")
        if index % 1000 == 0:
            await asyncio.sleep(0)  # let the client drain, as a real network would
    await server.publish(CAMPAIGN, {"type": "convergence_update", "metric": 0.5, "converged": False})
    await wait_until(lambda: len(folder.seqs) == 1, timeout=30)
    seconds = time.perf_counter() - started
    grown = rss_bytes() - before
    await finish(server, folder, task)
    assert folder.rejected == flood
    assert folder.state.counters.rejected == flood and len(folder.state.log) <= 1000
    assert grown < 64 * 2**20, f"RSS grew by {grown / 2**20:.0f} MiB for {flood} tiny frames"
    print(f"\nflood: {flood} tiny frames in {seconds:.2f}s ({flood / seconds:.0f}/s), RSS +{grown / 2**20:.1f} MiB")


async def test_deeply_nested_frames_are_rejected(server: ScriptedServer) -> None:
    folder, task = await start(server)
    for depth in (1_000, 100_000, 1_000_000):
        await server.send_raw(CAMPAIGN, '{"type": "convergence_update", "metric": ' + "[" * depth + "]" * depth + "}")
        await server.send_raw(CAMPAIGN, "[" * depth)
    await server.publish(CAMPAIGN, {"type": "convergence_update", "metric": 0.5, "converged": False})
    await wait_until(lambda: len(folder.seqs) == 1, timeout=20)
    await finish(server, folder, task)
    assert folder.rejected == 6


async def test_a_batch_of_50k_candidates_is_applied_with_bounded_memory(server: ScriptedServer) -> None:
    folder, task = await start(server)
    count = 50_000
    candidates = [
        {"id": f"c-{k}", "parameters": {"pore_size_nm": k / count, "polymer": "PVDF"}, "predicted": {"water_flux": 1.0}}
        for k in range(count)
    ]
    results = [{"candidate_id": f"c-{k}", "objectives": {"water_flux": float(k % 977)}} for k in range(count)]
    before = rss_bytes()
    started = time.perf_counter()
    await server.publish(CAMPAIGN, {"type": "iteration_started", "iteration": 1, "timestamp": "2026-01-01T00:00:00Z"})
    await server.publish(CAMPAIGN, {"type": "candidates_proposed", "iteration": 1, "candidates": candidates})
    await server.publish(CAMPAIGN, {"type": "candidates_evaluated", "iteration": 1, "results": results})
    await wait_until(lambda: len(folder.seqs) == 3, timeout=100)
    seconds = time.perf_counter() - started
    grown = rss_bytes() - before
    await finish(server, folder, task)
    assert len(folder.state.candidates) == count and folder.state.evaluations == count
    assert folder.state.best["water_flux"].value == 976.0
    frame_mib = len(json.dumps(server.history(CAMPAIGN)[1])) / 2**20
    # Server history, its JSON and the client's state all live in this process.
    assert grown < 600 * 2**20, f"RSS grew by {grown / 2**20:.0f} MiB"
    print(f"\n50k candidates: frame {frame_mib:.1f} MiB, applied in {seconds:.2f}s, RSS +{grown / 2**20:.0f} MiB")
