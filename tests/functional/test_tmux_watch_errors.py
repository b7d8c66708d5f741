"""The full-screen ``watch`` (its first page over a plain GET, source/first_page.py) in a
real terminal (tmux, server socket ``startup``): a rejected token, an unknown campaign
and a refused URL still end with one sentence and the documented exit code."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.test_tmux_e2e import CONSOLE_SCRIPT, TmuxSession
from tests.support.fake_source import CampaignScript, campaign_metadata, event_dicts
from tests.support.scripted_server import DEFAULT_TOKEN, ScriptedServer, ServerThread


class StartupSession(TmuxSession):
    """A TmuxSession on the ``startup`` tmux server."""

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path, 100, 30)
        self.socket = "startup"
        self.rc_file = tmp_path / "startup.rc"


@pytest.fixture
def server() -> Iterator[ServerThread]:
    scripted = ScriptedServer(forbidden_tokens={"other-user"})
    meta = campaign_metadata().model_dump(mode="json", exclude_none=True)
    scripted.add_campaign("camp-123", meta=meta, events=event_dicts(CampaignScript().iteration(1)))
    with ServerThread(scripted) as thread:
        yield thread


def watch_until_exit(tmp_path: Path, url: str, campaign: str, token: str, *options: str) -> tuple[int, str]:
    session = StartupSession(tmp_path)
    try:
        session.start(
            [str(CONSOLE_SCRIPT), "watch", campaign, "--url", url, *options], {"MATERIA_TOKEN": token}
        )
        code = session.wait_for_exit(timeout=30)
        return code, session.capture()
    finally:
        session.kill()


def one_sentence(screen: str) -> str:
    lines = [line for line in screen.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("materia-tui: ")]
    assert len(errors) == 1 and "Traceback" not in screen, screen
    return errors[0]


@pytest.mark.parametrize(
    ("campaign", "token", "code", "words"),
    [
        ("camp-123", "wrong-secret-token", 3, "rejected the credentials (HTTP 401)"),
        ("camp-123", "other-user", 3, "not allowed to see campaign 'camp-123' (HTTP 403)"),
        ("camp-zzz", DEFAULT_TOKEN, 4, "was not found"),
    ],
)
def test_rejections_exit_with_their_code_and_one_sentence(
    tmp_path: Path, server: ServerThread, campaign: str, token: str, code: int, words: str
) -> None:
    exit_code, screen = watch_until_exit(tmp_path, server.server.base_url, campaign, token)
    assert exit_code == code
    sentence = one_sentence(screen)
    assert words in sentence and token not in sentence


def test_a_refused_url_gives_up_with_a_retry_limit(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/api/v1"
    exit_code, screen = watch_until_exit(tmp_path, url, "camp-123", DEFAULT_TOKEN, "--max-retries", "1")
    assert exit_code == 5
    assert "Gave up connecting" in one_sentence(screen)
