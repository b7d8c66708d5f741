"""``materia-tui watch`` on a real terminal: tmux runs it against a real server.

The server is ``ScriptedServer`` on 127.0.0.1 (its own loop in a thread); the
monitor is the installed console script in a detached tmux session with
``TERM=tmux-256color``; the test reads the screen with ``capture-pane -p``,
waits for named text (polling with a deadline, never a fixed sleep), publishes
more events, presses ``q`` and checks the exit code the shell wrote.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_binary
from tests.support.fake_source import CampaignScript, campaign_metadata, event_dicts
from tests.support.scripted_server import DEFAULT_TOKEN, ScriptedServer, ServerThread

pytestmark = pytest.mark.tmux

CONSOLE_SCRIPT = Path(sys.executable).with_name("materia-tui")
_sessions = count()
SGR_RE = re.compile(r"\x1b\[([0-9;:]*)m")
# The 16-colour SGR codes that set a hue (black, white and the greys do not).
HUE_CODES = (
    frozenset(range(31, 37))
    | frozenset(range(41, 47))
    | frozenset(range(91, 97))
    | frozenset(range(101, 107))
)




class TmuxSession:
    """One detached tmux server + session running ``command``; the exit code lands in a file."""

    def __init__(self, tmp_path: Path, width: int, height: int) -> None:
        self.tmux = require_binary("tmux")
        self.socket = f"materia-e2e-{os.getpid()}-{next(_sessions)}"
        self.width, self.height = width, height
        self.rc_file = tmp_path / f"{self.socket}.rc"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        # The tmux server inherits this environment; COLUMNS/LINES (set for the snapshot
        # tests) would override the pane's real size in the app.
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        return subprocess.run(
            [self.tmux, "-f", "/dev/null", "-L", self.socket, *args],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=10,
        )

    def start(self, argv: list[str], env: dict[str, str]) -> None:
        # Textual draws on stderr, so stderr stays on the pane; the shell then keeps the
        # pane open so the last screen (and any error sentence) can still be captured.
        shell = (
            f"{shlex.join(argv)}; "
            f"echo $? > {shlex.quote(str(self.rc_file))}; sleep 30"  # keeps the pane for a last capture
        )
        env_args = [arg for name, value in env.items() for arg in ("-e", f"{name}={value}")]
        self._run("new-session", "-d", "-x", str(self.width), "-y", str(self.height), *env_args, shell)

    def capture(self, escapes: bool = False) -> str:
        return self._run("capture-pane", "-p", *(["-e"] if escapes else [])).stdout

    def wait_for(self, predicate: Callable[[str], bool], what: str, timeout: float = 20.0) -> str:
        """Poll the screen until ``predicate(screen)`` holds (the named condition), or fail."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.capture()
            if predicate(screen):
                return screen
            if self.exit_code() is not None or time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; screen:\n{screen}")
            time.sleep(0.05)  # poll interval of the wait for the named condition

    def wait_for_text(self, *texts: str, timeout: float = 20.0) -> str:
        return self.wait_for(lambda screen: all(t in screen for t in texts), " and ".join(texts), timeout)

    def send_keys(self, *keys: str) -> None:
        self._run("send-keys", *keys)

    def exit_code(self) -> int | None:
        text = self.rc_file.read_text().strip() if self.rc_file.exists() else ""
        return int(text) if text else None

    def wait_for_exit(self, timeout: float = 15.0) -> int:
        deadline = time.monotonic() + timeout
        while (code := self.exit_code()) is None:
            assert time.monotonic() < deadline, f"the monitor did not exit; screen:\n{self.capture()}"
            time.sleep(0.05)  # poll interval of the wait for the named condition "exit code written"
        return code

    def kill(self) -> None:
        subprocess.run(
            [self.tmux, "-L", self.socket, "kill-server"], check=False, capture_output=True, timeout=10
        )


@pytest.fixture
def served() -> Iterator[tuple[ServerThread, CampaignScript]]:
    script = CampaignScript()
    server = ScriptedServer()
    meta = campaign_metadata().model_dump(mode="json", exclude_none=True)
    server.add_campaign("camp-123", meta=meta, events=event_dicts(script.iteration(1)))
    with ServerThread(server) as thread:
        yield thread, script


def start_watch(tmp_path: Path, thread: ServerThread, size: tuple[int, int], **extra_env: str) -> TmuxSession:
    session = TmuxSession(tmp_path, *size)
    env = {"TERM": "tmux-256color", "MATERIA_TOKEN": DEFAULT_TOKEN, **extra_env}
    argv = [str(CONSOLE_SCRIPT), "watch", "camp-123", "--url", thread.server.base_url]
    session.start(argv, env)
    return session


def publish(thread: ServerThread, events: list[dict[str, Any]]) -> None:
    for event in events:
        thread.call(thread.server.publish("camp-123", event))


def test_watch_in_tmux_80x24_shows_live_numbers_and_quits_with_q(
    served: tuple[ServerThread, CampaignScript], tmp_path: Path
) -> None:
    thread, script = served
    session = start_watch(tmp_path, thread, (80, 24))
    try:
        # c-0005: the newest candidates fill the compact overview's spare rows
        screen = session.wait_for_text("LIVE", "iteration 1/12", "events 5", "c-0005")
        lines = screen.splitlines()
        assert len(lines[0]) <= 80 and "camp-123" in lines[0]  # the status bar holds on one line
        assert "Overview" in screen and "Candidates" in screen
        publish(thread, event_dicts(script.iteration(2)))  # 6 events: started .. completed
        screen = session.wait_for_text("iteration 2/12", "events 11", "c-0010")
        assert "best water_flux" in screen and "L/m2/h" in screen
        session.send_keys("2")  # the candidate table
        session.wait_for_text("c-0001", "candidates 10", "water_flux")
        session.send_keys("q")
        assert session.wait_for_exit() == 0
        assert DEFAULT_TOKEN not in session.capture()
    finally:
        session.kill()


def test_watch_in_tmux_200x50_shows_every_panel_side_by_side(
    served: tuple[ServerThread, CampaignScript], tmp_path: Path
) -> None:
    thread, script = served
    session = start_watch(tmp_path, thread, (200, 50))
    try:
        # The table and event log repaint at their own (slower) cadence than the progress panel, so
        # the wait names their text too rather than asserting on whichever frame came first.
        screen = session.wait_for_text(
            "LIVE", "iteration 1/12", "Pareto front", "c-0001", "candidates 5", "iteration 1 completed"
        )
        assert "Overview" not in screen  # no tabs when everything fits
        publish(thread, event_dicts(script.iteration(2)))
        session.wait_for_text("iteration 2/12", "c-0010", "iteration 2 completed")
        session.send_keys("q")
        assert session.wait_for_exit() == 0
    finally:
        session.kill()


def test_watch_in_tmux_with_no_color_draws_without_colours(
    served: tuple[ServerThread, CampaignScript], tmp_path: Path
) -> None:
    thread, script = served
    session = start_watch(tmp_path, thread, (80, 24), NO_COLOR="1")
    try:
        session.wait_for_text("LIVE", "iteration 1/12", "events 5")
        publish(thread, event_dicts(script.iteration(2)))
        session.wait_for_text("iteration 2/12", "events 11")
        coloured = coloured_sgr(session.capture(escapes=True))
        assert not coloured, f"colour codes under NO_COLOR: {sorted(coloured)[:5]}"
        session.send_keys("q")
        assert session.wait_for_exit() == 0
    finally:
        session.kill()


def coloured_sgr(screen: str) -> set[str]:
    """SGR parameter lists that set a hue (a grey, default or plain attribute is no colour)."""
    found: set[str] = set()
    for match in SGR_RE.finditer(screen):
        params = [p for p in re.split("[;:]", match.group(1)) if p]
        index = 0
        while index < len(params):
            code = params[index]
            if code in ("38", "48") and index + 1 < len(params):
                if params[index + 1] == "2" and index + 4 < len(params):
                    red, green, blue = params[index + 2 : index + 5]
                    if not red == green == blue:
                        found.add(match.group(1))
                    index += 5
                    continue
                if params[index + 1] == "5" and index + 2 < len(params):
                    if not _grey_256(int(params[index + 2])):
                        found.add(match.group(1))
                    index += 3
                    continue
            if code.isdigit() and int(code) in HUE_CODES:
                found.add(match.group(1))
            index += 1
    return found


def _grey_256(index: int) -> bool:
    if index in (0, 7, 8, 15) or index >= 232:
        return True
    if 16 <= index <= 231:
        value = index - 16
        red, green, blue = value // 36, (value // 6) % 6, value % 6
        return red == green == blue
    return False


def test_watch_several_campaigns_in_tmux_shows_tabs_and_the_overview(
    served: tuple[ServerThread, CampaignScript], tmp_path: Path
) -> None:
    thread, _ = served
    other = CampaignScript("camp-456", seed=11)
    meta = campaign_metadata("camp-456", "Second screen").model_dump(mode="json", exclude_none=True)
    thread.server.add_campaign(
        "camp-456", meta=meta, events=event_dicts(other.iteration(1) + other.iteration(2))
    )
    session = TmuxSession(tmp_path, 80, 24)
    env = {"TERM": "tmux-256color", "MATERIA_TOKEN": DEFAULT_TOKEN}
    session.start(
        [str(CONSOLE_SCRIPT), "watch", "camp-123", "camp-456", "--url", thread.server.base_url], env
    )
    try:
        session.wait_for_text("● camp-123", "● camp-456", "iteration 1/12")
        session.send_keys("0")  # the "All" overview
        screen = session.wait_for_text("camp-456 · Second", "2/12")
        assert "1/12" in screen and "live" in screen
        session.send_keys("]", "]")  # to camp-456's tab
        session.wait_for_text("iteration 2/12", "events 11")
        session.send_keys("q")
        assert session.wait_for_exit() == 0
    finally:
        session.kill()
