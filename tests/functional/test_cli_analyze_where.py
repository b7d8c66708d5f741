"""``export --where`` against a real server, and ``analyze --json`` on a recording."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from materia_tui.source import EventReceived, MetadataReceived
from materia_tui.source.recording import encode_event, encode_metadata
from tests.functional.test_cli_ls_export import connection, folded, stored
from tests.functional.test_cli_replay import cli
from tests.support.campaigns import campaign_meta
from tests.support.fake_source import campaign_items
from tests.support.scripted_server import ScriptedServer, ServerThread

CAMP = "camp-where"


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()
    scripted.add_campaign(
        CAMP, campaign_meta(CAMP, iterations=12, objectives=2), stored(CAMP, seed=3, iterations=12)
    )
    with ServerThread(scripted):
        yield scripted


def test_export_where_keeps_exactly_the_matching_candidates(server: ScriptedServer) -> None:
    state = folded(server, CAMP, campaign_meta(CAMP, iterations=12, objectives=2))
    expression = "(polymer=PA or front) and it>=3 and not status:failed"
    result = cli("export", CAMP, "--where", expression, *connection(server))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    expected = [
        c.id
        for c in state.candidate_list
        if (c.parameters.get("polymer") == "PA" or c.on_front)
        and (c.iteration or 0) >= 3
        and c.status != "failed"
    ]
    assert 0 < len(expected) < len(state.candidate_list)
    assert [row["id"] for row in rows] == expected


def test_export_where_with_a_bad_expression_is_one_sentence_and_exit_2(server: ScriptedServer) -> None:
    result = cli("export", CAMP, "--where", "it >= ", *connection(server))
    assert result.returncode == 2
    assert "materia-tui: --where: column 7: a value is missing" in result.stderr
    assert "Traceback" not in result.stderr


def write_recording(path: Path, iterations: int) -> None:
    lines = []
    for item in campaign_items(iterations, complete=True):
        if isinstance(item, MetadataReceived):
            lines.append(encode_metadata(item.campaign, 0.0))
        elif isinstance(item, EventReceived):
            lines.append(encode_event(item.event, item.received_at))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_analyze_json_on_a_recording(tmp_path: Path) -> None:
    recording = tmp_path / "run.jsonl"
    write_recording(recording, 12)
    result = cli("analyze", "--from-recording", str(recording), "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc) == {"campaign_id", "measured", "importance", "hypervolume", "reference_point", "advice"}
    assert doc["campaign_id"] == "camp-123"
    assert doc["measured"] == 12 * 5 - 3  # one failed evaluation every 4th iteration
    assert set(doc["importance"]) == {"water_flux", "salt_rejection"}
    for scores in doc["importance"].values():
        assert set(scores) == {"pore_size_nm", "polymer"}
        assert sum(scores.values()) == pytest.approx(1.0)
    # both objectives are driven by the pore size; the polymer is noise
    assert doc["importance"]["water_flux"]["pore_size_nm"] > 0.8
    iterations = [point["iteration"] for point in doc["hypervolume"]]
    assert iterations == list(range(1, 13))
    values = [point["value"] for point in doc["hypervolume"]]
    assert all(b >= a for a, b in itertools.pairwise(values)) and values[-1] > 0
    assert set(doc["reference_point"]) == {"water_flux", "salt_rejection"}
    assert isinstance(doc["advice"]["stop"], bool) and doc["advice"]["reasons"]


def test_analyze_text_and_errors(tmp_path: Path) -> None:
    recording = tmp_path / "run.jsonl"
    write_recording(recording, 8)
    result = cli("analyze", "--from-recording", str(recording), "--no-importance")
    assert result.returncode == 0, result.stderr
    assert "hypervolume (reference point water_flux=" in result.stdout
    assert "advice: continue" in result.stdout or "advice: stop" in result.stdout
    missing = cli("analyze", "--from-recording", str(tmp_path / "absent.jsonl"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    neither = cli("analyze")
    assert neither.returncode == 2 and "CAMPAIGN_ID" in neither.stderr
