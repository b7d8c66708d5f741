"""``materia-tui screenshot`` end to end: a real server on 127.0.0.1 (or a
recording), the monitor run headless, an SVG on disk."""

from __future__ import annotations

import importlib
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from materia_tui.cli.config import ENV_TOKEN, ENV_TOKEN_FILE, ENV_URL
from materia_tui.cli.screenshot import recording_history
from materia_tui.protocol import Rejected, parse_campaign, parse_object
from materia_tui.source import ConnectionChanged
from materia_tui.source.recording import Recorder
from tests.conftest import require_binary
from tests.support.campaigns import campaign_events, campaign_meta
from tests.support.scripted_server import DEFAULT_TOKEN, ScriptedServer, ServerThread

CAMPAIGN = "camp-shot"
cli_main = importlib.import_module("materia_tui.cli.main")  # materia_tui.cli.main is also a function


def stored(campaign_id: str, **kwargs: Any) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in e.items() if k != "seq"} for e in campaign_events(campaign_id=campaign_id, **kwargs)
    ]


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()
    meta = campaign_meta(CAMPAIGN, iterations=4, batch=4, status="completed")
    scripted.add_campaign(CAMPAIGN, meta, stored(CAMPAIGN, seed=3, iterations=4, batch=4))
    scripted.page_cap = 10  # the history comes in several pages
    with ServerThread(scripted):
        yield scripted


@pytest.fixture(autouse=True)
def screenshot_registered(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Until cli/main.py lists it; and no configuration from the environment."""
    if "screenshot" not in cli_main.SUBCOMMANDS:
        monkeypatch.setattr(cli_main, "SUBCOMMANDS", (*cli_main.SUBCOMMANDS, "screenshot"))
    for name in (ENV_URL, ENV_TOKEN, ENV_TOKEN_FILE):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MATERIA_CONFIG", str(tmp_path / "no-config.toml"))


def screenshot(*args: str) -> int:
    return int(cli_main.run(["screenshot", *args]))


def connection(server: ScriptedServer, token: str = DEFAULT_TOKEN) -> tuple[str, ...]:
    return ("--url", server.base_url, "--token", token)


def test_renders_the_campaign_to_svg_without_the_token(
    server: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "shot.svg"
    assert screenshot(CAMPAIGN, str(out), "--size", "160x48", *connection(server)) == 0
    assert capsys.readouterr().out.strip() == str(out)
    svg = out.read_text()
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert CAMPAIGN in svg and "c-0001" in svg
    assert "c-0016" in svg  # the last candidate: the whole history was drawn, not a first page
    assert "COMPLETED" in svg
    assert DEFAULT_TOKEN not in svg
    assert server.rest_requests >= 3  # metadata and several history pages
    png = tmp_path / "shot.png"
    subprocess.run([require_binary("rsvg-convert"), str(out), "-o", str(png)], check=True, timeout=60)
    assert png.stat().st_size > 10_000


def view_box(svg: str) -> tuple[float, float]:
    match = re.search(r'viewBox="0 0 ([0-9.]+) ([0-9.]+)"', svg)
    assert match is not None
    return float(match.group(1)), float(match.group(2))


def test_size_sets_the_terminal_size(server: ScriptedServer, tmp_path: Path) -> None:
    small, large = tmp_path / "small.svg", tmp_path / "large.svg"
    assert screenshot(CAMPAIGN, str(small), "--size", "80x24", *connection(server)) == 0
    assert screenshot(CAMPAIGN, str(large), "--size", "120x40", *connection(server)) == 0
    (small_width, small_height), (large_width, large_height) = (
        view_box(small.read_text()),
        view_box(large.read_text()),
    )
    assert large_width / small_width == pytest.approx(120 / 80, rel=0.05)
    assert large_height > small_height * 1.4


def test_a_recording_instead_of_a_campaign(tmp_path: Path) -> None:
    meta = campaign_meta("camp-recorded", iterations=3, batch=3)
    recording = tmp_path / "run.jsonl"
    with Recorder(recording) as recorder:
        campaign = parse_campaign(meta)
        assert campaign is not None
        recorder.record_metadata(campaign, 1_000.0)
        for index, raw in enumerate(
            campaign_events(seed=4, iterations=3, batch=3, campaign_id="camp-recorded")
        ):
            event = parse_object(raw)
            assert not isinstance(event, Rejected)
            recorder.record(event, 1_000.0 + index)
    out = tmp_path / "replay.svg"
    assert screenshot("--from-recording", str(recording), str(out)) == 0
    svg = out.read_text()
    assert "camp-recorded" in svg and "c-0009" in svg
    # Folded as it is read: what is kept besides the state is the connection changes only.
    history, named, shown_at = recording_history(recording, None)
    assert named == "camp-recorded" and len(history.state.candidates) == 9
    assert all(isinstance(item, ConnectionChanged) for item in history.connection)
    assert shown_at == history.last_received == 1_000.0 + index


def test_a_bad_token_exits_3_and_is_not_shown(
    server: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "shot.svg"
    assert screenshot(CAMPAIGN, str(out), *connection(server, "wrong-token-9d2e")) == 3
    captured = capsys.readouterr()
    assert "wrong-token-9d2e" not in captured.out + captured.err
    assert not out.exists()


def test_an_unknown_campaign_exits_4(server: ScriptedServer, tmp_path: Path) -> None:
    assert screenshot("camp-nope", str(tmp_path / "x.svg"), *connection(server)) == 4


def test_usage_errors_exit_2(
    server: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert screenshot(str(tmp_path / "x.svg"), *connection(server)) == 2  # no campaign, no recording
    assert "Name a campaign" in capsys.readouterr().err
    assert screenshot("bad id!", str(tmp_path / "x.svg"), *connection(server)) == 2
    assert screenshot(CAMPAIGN, str(tmp_path / "missing" / "x.svg"), *connection(server)) == 2
    assert screenshot("--from-recording", str(tmp_path / "nope.jsonl"), str(tmp_path / "x.svg")) == 2
    with pytest.raises(SystemExit) as exited:
        screenshot(CAMPAIGN, str(tmp_path / "x.svg"), "--size", "12by3")
    assert exited.value.code == 2
