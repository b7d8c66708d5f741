"""The run's journal (a recording plus an outcomes file) and its progress arithmetic."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from materia_tui.backend.run.evaluation import EvaluationOutcome
from materia_tui.backend.run.journal import Journal, outcomes_path, read_journal
from materia_tui.backend.run.progress import Measured, convergence, hypervolume, pareto_ids
from materia_tui.source import EventReceived, MetadataReceived
from materia_tui.source.recording import read_recording

META = {"id": "camp", "name": "c", "status": "running", "objectives": [{"name": "y", "direction": "maximize"}]}


def event(seq: int, iteration: int) -> dict:
    return {"type": "iteration_started", "iteration": iteration, "seq": seq, "campaign_id": "camp",
            "timestamp": "2026-01-01T00:00:00+00:00"}


def test_a_journal_is_a_recording_and_its_outcomes_survive(tmp_path: Path) -> None:
    path = tmp_path / ".materia" / "camp.jsonl"
    journal = Journal(path)
    journal.metadata(META)
    journal.event(event(1, 1))
    journal.outcome(EvaluationOutcome("c-0001", {"y": 2.0}, True, None, 0.5, "host"))
    journal.outcome(EvaluationOutcome("c-0002", {}, False, "timed out after 1 s", 1.0))
    journal.close()
    items = list(read_recording(path))
    assert isinstance(items[0], MetadataReceived) and isinstance(items[1], EventReceived)
    contents = read_journal(path)
    assert contents.metadata is not None and contents.metadata["id"] == "camp"
    assert contents.last_seq == 1
    assert contents.outcomes["c-0001"].objectives == {"y": 2.0}
    assert contents.outcomes["c-0002"].error == "timed out after 1 s"
    assert (path.stat().st_mode & 0o777) == 0o600 and (outcomes_path(path).stat().st_mode & 0o777) == 0o600


def test_a_line_torn_by_a_kill_is_skipped_then_cut_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "camp.jsonl"
    journal = Journal(path)
    journal.event(event(1, 1))
    journal.close()
    with path.open("a") as handle:
        handle.write('{"type": "iteration_sta')  # the kill came mid-write
    with outcomes_path(path).open("a") as handle:
        handle.write('{"candidate_id": "c-00')
    assert read_journal(path).last_seq == 1 and not read_journal(path).outcomes
    journal = Journal(path)  # reopening cuts the torn lines
    journal.event(event(2, 2))
    journal.close()
    lines = path.read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [1, 2]
    assert outcomes_path(path).read_text() == ""


def test_events_after_a_gap_in_seqs_are_not_taken(tmp_path: Path) -> None:
    path = tmp_path / "camp.jsonl"
    journal = Journal(path)
    for seq in (1, 2, 4):
        journal.event(event(seq, seq))
    journal.close()
    assert [e["seq"] for e in read_journal(path).events] == [1, 2]


def test_pareto_and_hypervolume() -> None:
    points = [Measured("a", 1, (1.0, 3.0)), Measured("b", 1, (2.0, 2.0)), Measured("c", 2, (1.5, 1.5)),
              Measured("d", 2, (3.0, 1.0))]
    assert pareto_ids(points) == ["a", "b", "d"]
    values = np.array([p.values for p in points])
    # Union of the boxes [0,1]x[0,3], [0,2]x[0,2], [0,3]x[0,1]: 3 + 1 + 1 = 6.
    assert hypervolume(values, np.zeros(2)) == 6.0
    assert hypervolume(np.array([[2.0], [5.0]]), np.array([1.0])) == 4.0
    three = np.array([[1.0, 1.0, 1.0]])
    assert abs(hypervolume(three, np.zeros(3)) - 1.0) < 1e-9


def test_convergence_needs_a_few_iterations_of_no_progress() -> None:
    improving = [Measured(f"c{i}", i, (float(i),)) for i in range(1, 6)]
    metric, converged = convergence(improving, 5, 0.01)
    assert metric > 0.1 and not converged
    stalled = [*improving, *(Measured(f"s{i}", i, (1.0,)) for i in range(6, 10))]
    metric, converged = convergence(stalled, 9, 0.01)
    assert metric == 0.0 and converged
    assert convergence([], 3, None) == (1.0, False)
