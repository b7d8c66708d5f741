"""``materia-tui ls``, ``export`` (against a real server on 127.0.0.1) and ``completion``."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from materia_tui.output.export import parquet_available, write_csv
from materia_tui.protocol import Rejected, parse_campaign, parse_object
from materia_tui.state import CampaignState
from tests.functional.test_cli_replay import cli
from tests.support.campaigns import campaign_events, campaign_meta
from tests.support.scripted_server import DEFAULT_TOKEN, ScriptedServer, ServerThread

LONG = "camp-long"  # more history than ls reads from its tail
DONE = "camp-done"
NEW = "camp-new"  # no events yet


def stored(campaign_id: str, **kwargs: Any) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in e.items() if k != "seq"}
        for e in campaign_events(campaign_id=campaign_id, **kwargs)
    ]


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()
    scripted.add_campaign(
        LONG, campaign_meta(LONG, iterations=30, objectives=3), stored(LONG, seed=1, iterations=30)
    )
    scripted.add_campaign(
        DONE, campaign_meta(DONE, iterations=4, status="completed"), stored(DONE, seed=2, iterations=4)
    )
    hostile = campaign_meta(NEW, iterations=10, status="pending")
    hostile["name"] = "evil\x1b]0;pwned\x07name"
    scripted.add_campaign(NEW, hostile)
    scripted.page_cap = 40  # export must page through the history
    with ServerThread(scripted):
        yield scripted


def connection(server: ScriptedServer, token: str = DEFAULT_TOKEN) -> tuple[str, ...]:
    return ("--url", server.base_url, "--token", token)


def folded(server: ScriptedServer, campaign_id: str, meta: dict[str, Any]) -> CampaignState:
    """What the monitor's reducer makes of the campaign's whole history."""
    state = CampaignState(campaign_id, parse_campaign(meta))
    for raw in server.history(campaign_id):
        event = parse_object(raw)
        assert not isinstance(event, Rejected)
        state.apply(event, 0.0)
    return state


def last_completed(server: ScriptedServer, campaign_id: str) -> dict[str, Any]:
    return [e for e in server.history(campaign_id) if e["type"] == "iteration_completed"][-1]


# ----- ls ----------------------------------------------------------------------------


def test_ls_json_has_status_iteration_and_best_value(server: ScriptedServer) -> None:
    result = cli("ls", "--json", *connection(server))
    assert result.returncode == 0, result.stderr
    by_id = {c["id"]: c for c in json.loads(result.stdout)["campaigns"]}
    assert list(by_id) == [LONG, DONE, NEW]
    assert len(server.history(LONG)) > 50  # so ls had to read the tail, not the whole history
    for campaign_id, status, total in ((LONG, "running", 30), (DONE, "completed", 4)):
        expected = last_completed(server, campaign_id)
        assert by_id[campaign_id]["status"] == status
        assert by_id[campaign_id]["iteration"] == expected["iteration"] == total
        assert by_id[campaign_id]["best_value"] == expected["best_value"]
        assert by_id[campaign_id]["max_iterations"] == total
        assert by_id[campaign_id]["objective"] == "water_flux"
        assert by_id[campaign_id]["last_seq"] == len(server.history(campaign_id))
    assert by_id[NEW]["iteration"] is None and by_id[NEW]["best_value"] is None
    assert by_id[NEW]["status"] == "pending"


def test_ls_table_is_aligned_and_clean(server: ScriptedServer) -> None:
    result = cli("ls", *connection(server))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "STATUS", "ITER", "BEST"]
    assert [line.split()[0] for line in lines[1:]] == [LONG, DONE, NEW]
    status_column = lines[0].index("STATUS")
    assert [line[status_column:].split()[0] for line in lines[1:]] == ["running", "completed", "pending"]
    best = last_completed(server, DONE)["best_value"]
    assert "4/4" in lines[2] and f"water_flux={best:.4g} L/m2/h" in lines[2]
    assert "-/10" in lines[3]
    assert "\x1b" not in result.stdout and "evil\\x1b]0;pwned\\x07name" in lines[3]


def test_ls_with_a_bad_token_exits_3_without_showing_it(server: ScriptedServer) -> None:
    result = cli("ls", *connection(server, "wrong-token-77c1"))
    assert result.returncode == 3
    assert "wrong-token-77c1" not in result.stdout + result.stderr
    assert "credentials" in result.stderr


# ----- export ------------------------------------------------------------------------


def test_export_csv_to_stdout_is_what_the_reducer_holds(server: ScriptedServer) -> None:
    meta = campaign_meta(LONG, iterations=30, objectives=3)
    result = cli("export", LONG, "--format", "csv", *connection(server))
    assert result.returncode == 0, result.stderr
    expected = io.StringIO()
    write_csv(folded(server, LONG, meta), expected)
    assert result.stdout == expected.getvalue()
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 90
    assert "measured.cost" in rows[0] and "param.polymer" in rows[0]


def test_export_front_only_json_to_a_file(server: ScriptedServer, tmp_path: Path) -> None:
    meta = campaign_meta(LONG, iterations=30, objectives=3)
    out = tmp_path / "front.json"
    result = cli("export", LONG, "--format", "json", "--front-only", "-o", str(out), *connection(server))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    doc = json.loads(out.read_text(encoding="utf-8"))
    state = folded(server, LONG, meta)
    assert sorted(c["id"] for c in doc["candidates"]) == sorted(state.front_ids())
    assert all(c["on_front"] for c in doc["candidates"])
    assert doc["objectives"][2] == {"name": "cost", "direction": "minimize", "unit": "$/m2"}
    assert f"Wrote {len(state.front_ids())} candidates to {out}." in result.stderr


def test_export_parquet(server: ScriptedServer, tmp_path: Path) -> None:
    out = tmp_path / "all.parquet"
    result = cli("export", DONE, "--format", "parquet", "-o", str(out), *connection(server))
    if parquet_available():
        assert result.returncode == 0, result.stderr
        assert out.read_bytes()[:4] == b"PAR1"
    else:
        assert result.returncode == 2
        assert "pip install 'materia-tui[parquet]'" in result.stderr and not out.exists()


@pytest.mark.parametrize(
    ("campaign_id", "code", "message"),
    [("camp-absent", 4, "not found"), ("bad id!", 2, "is not a campaign id")],
)
def test_export_errors(server: ScriptedServer, campaign_id: str, code: int, message: str) -> None:
    result = cli("export", campaign_id, *connection(server))
    assert result.returncode == code
    assert message in result.stderr


# ----- completion --------------------------------------------------------------------

OUR_SUBCOMMANDS = ("watch", "ls", "export", "replay", "completion")


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_lists_subcommands_and_options(shell: str) -> None:
    result = cli("completion", shell)
    assert result.returncode == 0, result.stderr
    script = result.stdout
    for name in OUR_SUBCOMMANDS:
        assert name in script
    for option in ("front-only", "speed", "token-file", "exit-on-complete"):
        assert option in script
    assert "csv json parquet" in script and "bash zsh fish" in script


def complete_in_bash(script: str, words: list[str]) -> list[str]:
    """Run the generated bash completion function for ``words`` (the last is being typed)."""
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    array = " ".join(f"'{w}'" for w in words)
    program = (
        f"{script}\nCOMP_WORDS=({array}); COMP_CWORD={len(words) - 1}; "
        '_materia_tui; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    done = subprocess.run(
        [bash, "--norc", "-c", program], capture_output=True, text=True, timeout=10, check=True
    )
    return [line for line in done.stdout.splitlines() if line]


def test_bash_completion_completes(tmp_path: Path) -> None:
    script = cli("completion", "bash").stdout
    assert set(OUR_SUBCOMMANDS) <= set(complete_in_bash(script, ["materia-tui", ""]))
    assert complete_in_bash(script, ["materia-tui", "re"]) == ["replay"]
    assert complete_in_bash(script, ["materia-tui", "export", "x", "--fo"]) == ["--format"]
    assert complete_in_bash(script, ["materia-tui", "export", "x", "--format", "p"]) == ["parquet"]
    assert complete_in_bash(script, ["materia-tui", "completion", "z"]) == ["zsh"]
    assert "--speed" in complete_in_bash(script, ["materia-tui", "replay", "--s"])
    (tmp_path / "run.jsonl").write_text("")
    assert complete_in_bash(script, ["materia-tui", "replay", str(tmp_path / "ru")]) == [
        str(tmp_path / "run.jsonl")
    ]
