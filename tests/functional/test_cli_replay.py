"""``materia-tui replay FILE --plain|--json`` end to end, through the console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from materia_tui.protocol import Rejected, parse_campaign, parse_object
from materia_tui.source.recording import Recorder, read_recording
from materia_tui.state import CampaignState
from materia_tui.state.intake import apply_item
from tests.support.campaigns import campaign_events, campaign_meta
from tests.support.fingerprint import fingerprint
from tests.support.scripted_server import DEFAULT_TOKEN, ScriptedServer, ServerThread

CONSOLE_SCRIPT = Path(sys.executable).with_name("materia-tui")
# Until cli/main.py lists a subcommand, run the same entry point with it added.
_SHIM = (
    "import importlib, sys; m = importlib.import_module('materia_tui.cli.main'); "
    "m.SUBCOMMANDS = (*m.SUBCOMMANDS, *(n for n in ('ls', 'export', 'replay', 'completion') "
    "if n not in m.SUBCOMMANDS)); sys.exit(m.run(sys.argv[1:]))"
)
CAMPAIGN = "camp-replay"


def cli(*args: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    from materia_tui.cli.main import SUBCOMMANDS

    command = [str(CONSOLE_SCRIPT)] if args[0] in SUBCOMMANDS else [sys.executable, "-c", _SHIM]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATERIA_")}
    env["MATERIA_CONFIG"] = str(Path(cwd or "/nonexistent") / "no-config.toml")
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd, check=False
    )


def record(path: Path, events: list[dict[str, Any]], meta: dict[str, Any] | None) -> CampaignState:
    """Write a recording as ``watch --record`` does; returns the live state it came from."""
    campaign = parse_campaign(meta) if meta else None
    state = CampaignState(CAMPAIGN, campaign)
    with Recorder(path) as recorder:
        if campaign is not None:
            recorder.record_metadata(campaign, 1_000.0)
        for index, raw in enumerate(events):
            event = parse_object(raw)
            assert not isinstance(event, Rejected)
            if state.apply(event, 1_000.0 + index) == "applied":
                recorder.record(event, 1_000.0 + index)
    return state


@pytest.fixture
def recording(tmp_path: Path) -> tuple[Path, CampaignState]:
    path = tmp_path / "run.jsonl"
    events = campaign_events(5, iterations=5, batch=3, campaign_id=CAMPAIGN)
    return path, record(path, events, campaign_meta(CAMPAIGN, iterations=5, batch=3))


def test_replay_plain_prints_the_progress_lines(recording: tuple[Path, CampaignState]) -> None:
    path, live = recording
    result = cli("replay", str(path), "--plain")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "Done! 5 iterations, 15 evaluations"
    # The total comes from the recorded metadata line.
    assert lines[0].startswith("[Iter  1/5] Optimizing acquisition... done (")
    best_lines = [line for line in lines if " Best: " in line]
    assert [line.split("]")[0] for line in best_lines] == [f"[Iter  {n}/5" for n in range(1, 6)]
    final_best = live.best["water_flux"].value
    assert f"water_flux={final_best:.4g} L/m2/h" in best_lines[-1]
    assert result.stderr == ""


def test_replay_json_lines_are_a_replay_file_again(
    recording: tuple[Path, CampaignState], tmp_path: Path
) -> None:
    path, live = recording
    first = cli("replay", str(path), "--json", "--speed", "1000")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert len(lines) == live.counters.applied
    assert [json.loads(line)["seq"] for line in lines] == list(range(1, len(lines) + 1))
    capture = tmp_path / "capture.jsonl"
    capture.write_text(first.stdout, encoding="utf-8")
    second = cli("replay", str(capture), "--json")
    assert second.returncode == 0 and second.stdout == first.stdout
    # Folding the capture gives the live state (the metadata aside, which --json does not carry).
    bare_live = CampaignState(CAMPAIGN)
    for item in read_recording(path):
        if not hasattr(item, "campaign"):
            apply_item(bare_live, item)
    replayed = CampaignState(CAMPAIGN)
    for item in read_recording(capture):
        apply_item(replayed, item)
    assert fingerprint(replayed) == fingerprint(bare_live)


def test_replay_speed_0_is_as_fast_as_possible_and_says_so(recording: tuple[Path, CampaignState]) -> None:
    path, live = recording
    fast = cli("replay", str(path), "--json", "--speed", "0")
    assert fast.returncode == 0, fast.stderr
    assert fast.stdout == cli("replay", str(path), "--json").stdout  # the default: no pacing either
    assert len(fast.stdout.splitlines()) == live.counters.applied
    for command in ("replay", "demo"):
        help_text = " ".join(cli(command, "--help").stdout.split())
        assert "0 = as fast as possible" in help_text, command
        refused = cli(command, "x.jsonl" if command == "replay" else "--plain", "--speed", "-0.5")
        assert refused.returncode == 2 and "must be 0 (as fast as possible)" in refused.stderr, command


def test_replay_of_a_failed_campaign_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "failed.jsonl"
    events = campaign_events(2, iterations=3, fail_at=2, campaign_id=CAMPAIGN)
    record(path, events, campaign_meta(CAMPAIGN, iterations=3))
    result = cli("replay", str(path), "--plain")
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[-1] == "[Iter  2/3] Failed: worker lost"


def test_replay_survives_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "messy.jsonl"
    events = campaign_events(1, iterations=1, campaign_id=CAMPAIGN)
    lines = [json.dumps(e) for e in events]
    lines.insert(2, "{broken")
    lines.insert(3, json.dumps({"type": "iteration_completed", "iteration": "two", "seq": 99}))
    lines.insert(4, "\x1b]52;c;ZXZpbA==\x07")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli("replay", str(path), "--plain")
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] == "Done! 1 iterations, 3 evaluations"
    assert result.stderr.count("warning: skipped a frame") == 3
    assert "\x1b" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("replay", "missing.jsonl", "--plain"), "does not exist"),
        (("replay", "x.jsonl", "--speed", "-1"), "must be 0 (as fast as possible) or a positive number"),
        (("replay", "x.jsonl", "--speed", "nan"), "must be 0"),
        (("replay", "x.jsonl", "--speed", "fast"), "not a number"),
        (("replay", "x.jsonl", "--plain", "--json"), "not allowed with"),
    ],
)
def test_replay_usage_errors_exit_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr


def test_a_watch_json_capture_replays_to_the_same_lines(tmp_path: Path) -> None:
    """The coordination promise of issue 7: ``watch --json`` output is a replay file."""
    server = ScriptedServer()
    events = campaign_events(4, iterations=3, campaign_id=CAMPAIGN)
    server.add_campaign(CAMPAIGN, campaign_meta(CAMPAIGN, iterations=3, status="completed"), events)
    with ServerThread(server):
        watched = cli("watch", CAMPAIGN, "--json", "--url", server.base_url, "--token", DEFAULT_TOKEN)
    assert watched.returncode == 0, watched.stderr
    assert len(watched.stdout.splitlines()) == len(events)
    capture = tmp_path / "watch.jsonl"
    capture.write_text(watched.stdout, encoding="utf-8")
    replayed = cli("replay", str(capture), "--json")
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout == watched.stdout
    assert DEFAULT_TOKEN not in watched.stdout + watched.stderr + replayed.stdout + replayed.stderr


@pytest.mark.tmux
def test_replay_on_a_terminal_runs_the_monitor(recording: tuple[Path, CampaignState], tmp_path: Path) -> None:
    """Without --plain/--json on a real terminal (tmux), replay drives the full-screen monitor."""
    import shlex
    import time

    from tests.conftest import require_binary

    tmux = require_binary("tmux")
    path, _ = recording
    from materia_tui.cli.main import SUBCOMMANDS

    command = [str(CONSOLE_SCRIPT)] if "replay" in SUBCOMMANDS else [sys.executable, "-c", _SHIM]
    rc_file = tmp_path / "rc"
    shell = (
        f"{shlex.join([*command, 'replay', str(path), '--exit-on-complete'])} 2>/dev/null; "
        f"echo $? > {shlex.quote(str(rc_file))}"
    )
    socket = f"materia-replay-{os.getpid()}"
    subprocess.run(
        [tmux, "-L", socket, "new-session", "-d", "-x", "120", "-y", "40", shell], check=True, timeout=10
    )
    try:
        deadline = time.monotonic() + 30
        while not (rc_file.exists() and rc_file.read_text().strip()):
            assert time.monotonic() < deadline, "the monitor did not exit after the replay completed"
            time.sleep(0.05)  # polling for the named condition "exit code written"
    finally:
        subprocess.run([tmux, "-L", socket, "kill-server"], check=False, timeout=10)
    assert rc_file.read_text().strip() == "0"
