"""`materia-tui run` end to end: the console script in a subprocess, real evaluator processes,
the embedded server, the journal; lines in MatCraft's format, events, exit codes, signals."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

EXE = str(Path(sys.executable).with_name("materia-tui"))

# The evaluator: a parabola with a minimum at x = 0.3, failing where x > 0.9; it appends its
# candidate id to calls.txt when it has its result, just before printing it.
EVALUATOR = """\
import json, os, sys, time
p = json.load(sys.stdin)
time.sleep(float(os.environ.get("EVAL_SLEEP", "0")))
with open("calls.txt", "a") as f:
    f.write(os.environ["MATERIA_CANDIDATE_ID"] + "\\n")
if p["x"] > 0.9:
    print("the solver diverged", file=sys.stderr)
    sys.exit(2)
print(json.dumps({"loss": round((p["x"] - 0.3) ** 2 + (0.1 if p["mode"] == "b" else 0.0), 6)}))
"""


def write_campaign(folder: Path, *, iterations: int = 3, batch: int = 2, command: str | None = None,
                   script: str | None = None, extra: str = "") -> Path:
    script = script or f"ev_{uuid.uuid4().hex[:8]}.py"
    (folder / script).write_text(EVALUATOR)
    command_line = command or f"[python3, {script}]"
    config = folder / "campaign.yaml"
    config.write_text(
        f"""\
name: parabola
iterations: {iterations}
batch_size: {batch}
initial_samples: 4
parameters:
  x: {{type: continuous, low: 0, high: 1}}
  mode: {{type: categorical, choices: [a, b]}}
objectives:
  loss: {{direction: minimize}}
evaluator:
  command: {command_line}
  timeout: 30
{extra}"""
    )
    return config


def run_cli(*args: str, cwd: Path, timeout: float = 60, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    full_env = {**os.environ, "MATERIA_CONFIG": "/nonexistent/materia-tui.toml", **(env or {})}
    proc = subprocess.run([EXE, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=full_env)
    return proc.returncode, proc.stdout, proc.stderr


def journal_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def processes_running(marker: str) -> list[int]:
    """Pids whose command line mentions ``marker`` (the evaluator's unique file name)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def wait_for_no_processes(marker: str, seconds: float = 5.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := processes_running(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def test_plain_prints_matcrafts_lines_failures_inform_and_the_journal_replays(tmp_path: Path) -> None:
    # Every x above 0.9 fails: those candidates fail with stderr's reason, the campaign goes on.
    config = write_campaign(tmp_path, iterations=3, batch=3)
    config.write_text(config.read_text().replace("high: 1}", "high: 1.5}"))
    code, out, err = run_cli("run", str(config), "--plain", cwd=tmp_path)
    assert code == 0, err
    lines = out.splitlines()
    assert re.fullmatch(r"\[Iter  1/3\] Optimizing acquisition\.\.\. done \(\d+\.\ds, 3 candidates\)", lines[0])
    assert re.fullmatch(r"\[Iter  1/3\] Evaluating candidates\.\.\. done \(\d+\.\ds(, \d failed)?\)", lines[1])
    assert re.fullmatch(r"\[Iter  1/3\] Best: loss=\d\.\d+(e-\d+)?", lines[2])
    trained = [line for line in lines if "Training surrogate" in line]
    assert trained and all(
        re.fullmatch(r"\[Iter  [23]/3\] Training surrogate\.\.\. done \(\d+\.\ds, val_loss=\S+\)", line)
        for line in trained
    )
    assert lines[-1] == "Done! 3 iterations, 9 evaluations"
    assert "materia-tui watch parabola --url http://127.0.0.1:" in err and "--token-file" in err
    journal = tmp_path / ".materia" / "parabola.jsonl"
    assert journal.exists() and (journal.stat().st_mode & 0o777) == 0o600
    calls = sorted((tmp_path / "calls.txt").read_text().split())

    # A second run never appends to that journal...
    code, _, err = run_cli("run", str(config), "--plain", cwd=tmp_path)
    assert code == 2 and "exists" in err and "--resume" in err
    # ...and --resume of a finished campaign republishes it, evaluates nothing, exits 0.
    code, out, err = run_cli("run", str(config), "--json", "--resume", cwd=tmp_path)
    assert code == 0, err
    assert sorted((tmp_path / "calls.txt").read_text().split()) == calls
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    kinds = [e["type"] for e in events]
    assert kinds[:5] == ["iteration_started", "candidates_proposed", "candidates_evaluated",
                         "iteration_completed", "convergence_update"]
    assert "surrogate_trained" in kinds and kinds[-1] == "campaign_completed"
    assert events[-1]["total_evaluations"] == 9 and events[-1]["total_iterations"] == 3
    recorded = [e for e in journal_lines(journal) if "type" in e]
    assert [{k: v for k, v in e.items() if k != "received_at"} for e in recorded] == events
    results = [r for e in events if e["type"] == "candidates_evaluated" for r in e["results"]]
    failed = [r for r in results if r.get("error")]
    assert all(r["error"] == "exited with status 2: the solver diverged" for r in failed)
    # The journal is a recording `replay` plays to the same end.
    code, out, err = run_cli("replay", str(journal), "--plain", cwd=tmp_path)
    assert code == 0, err
    assert out.splitlines()[-1] == "Done! 3 iterations, 9 evaluations"
    # A resume with another campaign's config is refused.
    config.write_text(config.read_text().replace("mode:", "style:").replace('p["mode"]', 'p["style"]'))
    code, _, err = run_cli("run", str(config), "--plain", "--resume", cwd=tmp_path)
    assert code == 2 and "holds a campaign with other parameters than campaign.yaml" in err


def test_init_writes_an_example_and_never_overwrites(tmp_path: Path) -> None:
    code, _, err = run_cli("init", cwd=tmp_path)
    assert code == 0 and "wrote campaign.yaml and simulate.py" in err
    assert "evaluator:" in (tmp_path / "campaign.yaml").read_text()
    before = (tmp_path / "campaign.yaml").read_text()
    code, _, err = run_cli("init", "campaign.yaml", cwd=tmp_path)
    assert code == 2 and err == "materia-tui: campaign.yaml exists; init never overwrites a file (name another FILE).\n"
    assert (tmp_path / "campaign.yaml").read_text() == before
    # The example's own simulate.py answers a candidate of its own config.
    proc = subprocess.run([sys.executable, "simulate.py"], cwd=tmp_path, capture_output=True, text=True,
                          input='{"pore_size_nm": 0.8, "thickness_um": 0.2, "temperature_c": 40, "polymer": "PA"}')
    assert set(json.loads(proc.stdout)) == {"water_flux", "salt_rejection"}


def test_three_iterations_of_nothing_but_failures_end_the_campaign_with_exit_1(tmp_path: Path) -> None:
    config = write_campaign(tmp_path, iterations=6, batch=2, command='"echo broken >&2; exit 4"')
    code, out, err = run_cli("run", str(config), "--json", cwd=tmp_path)
    assert code == 1, err
    events = [json.loads(line) for line in out.splitlines()]
    assert events[-1]["type"] == "campaign_error" and events[-1]["fatal"] is True
    assert events[-1]["iteration"] == 3
    assert "every evaluation failed in 3 iterations in a row" in events[-1]["error"]
    assert "exited with status 4: broken" in events[-1]["error"]
    assert "failed: every evaluation failed" in err


def test_bad_config_and_usage_exit_2_with_one_sentence(tmp_path: Path) -> None:
    config = write_campaign(tmp_path)
    config.write_text(config.read_text().replace("batch_size", "batch_sise"))
    code, out, err = run_cli("run", str(config), "--plain", cwd=tmp_path)
    assert (code, out) == (2, "")
    assert err == "materia-tui: campaign.yaml:3: batch_sise: unknown key (did you mean batch_size?)\n"
    code, _, err = run_cli("run", str(tmp_path / "missing.yaml"), cwd=tmp_path)
    assert code == 2 and err.startswith("materia-tui: Cannot read the config") and "Traceback" not in err
    config = write_campaign(tmp_path)
    code, _, err = run_cli("run", str(config), "--resume", "--plain", cwd=tmp_path)
    assert code == 2 and "Nothing to resume: no journal at" in err
    code, _, err = run_cli("run", str(config), "--campaign-id", "../x", cwd=tmp_path)
    assert code == 2 and "is not a campaign id" in err


def start_runner(config: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [EXE, "run", str(config), "--json", *args],
        cwd=config.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "MATERIA_CONFIG": "/nonexistent/materia-tui.toml", **(env or {})},
    )


def wait_for_calls(calls: Path, count: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if calls.exists() and len(calls.read_text().split()) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} evaluations within {seconds} s")


def test_sigint_and_sigterm_stop_evaluations_and_mark_the_campaign_cancelled(tmp_path: Path) -> None:
    script = f"ev_{uuid.uuid4().hex[:8]}.py"
    config = write_campaign(tmp_path, iterations=2, batch=2, script=script)
    journal = tmp_path / ".materia" / "parabola.jsonl"
    for signum, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        # Evaluations take 60 s: the signal lands while two of them run.
        proc = start_runner(config, "--workers", "2", *(["--resume"] if journal.exists() else []),
                            env={"EVAL_SLEEP": "60"})
        deadline = time.monotonic() + 30
        while len(processes_running(script)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(processes_running(script)) >= 2
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == code, err
        assert "cancelled (continue it with --resume)" in err and "Traceback" not in err
        assert wait_for_no_processes(script, 3.0) == []
        metadata = [line["metadata"] for line in journal_lines(journal) if "metadata" in line]
        assert metadata[-1]["status"] == "cancelled"
    assert not (tmp_path / "calls.txt").exists()  # nothing finished, nothing journaled as measured
    assert not (tmp_path / ".materia" / "parabola.outcomes.jsonl").read_text()


def test_kill_9_at_random_moments_and_resume_evaluates_each_candidate_once(tmp_path: Path) -> None:
    import random

    rng = random.Random(int(os.environ.get("KILL_SEED", time.time_ns() % 1000)))
    script = f"ev_{uuid.uuid4().hex[:8]}.py"
    # Long enough for three kills however fast the machine is (a round kills within 1 s of its first call).
    config = write_campaign(tmp_path, iterations=8, batch=3, script=script)
    journal = tmp_path / ".materia" / "parabola.jsonl"
    side = tmp_path / ".materia" / "parabola.outcomes.jsonl"
    calls = tmp_path / "calls.txt"
    cut_short: list[str] = []  # results an evaluator produced that a kill kept from the journal
    kills = 0
    for _round in range(3):
        before = len(calls.read_text().split()) if calls.exists() else 0
        proc = start_runner(config, "--workers", "2", *(["--resume"] if journal.exists() else []),
                            env={"EVAL_SLEEP": "0.15"})
        wait_for_calls(calls, before + 1)
        time.sleep(rng.uniform(0.0, 1.0))
        if proc.poll() is not None:
            break  # finished before the kill
        proc.kill()
        proc.communicate(timeout=10)
        kills += 1
        assert wait_for_no_processes(script, 5.0) == [], "an evaluator outlived kill -9 of the runner"
        done = {json.loads(line)["candidate_id"] for line in side.read_text().splitlines() if line.endswith("}")}
        called = calls.read_text().split()
        cut_short += [c for c in called[before:] if c not in done]
    assert kills >= 2
    proc = start_runner(config, "--resume", env={"EVAL_SLEEP": "0.15"})
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err

    events = [e for e in journal_lines(journal) if "type" in e]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))  # seqs continue
    proposed = [c["id"] for e in events if e["type"] == "candidates_proposed" for c in e["candidates"]]
    measured = [r["candidate_id"] for e in events if e["type"] == "candidates_evaluated" for r in e["results"]]
    assert len(proposed) == len(set(proposed)) == 24  # none proposed twice
    assert sorted(measured) == sorted(proposed)  # none lost, none measured twice
    counts: dict[str, int] = {}
    for candidate in calls.read_text().split():
        counts[candidate] = counts.get(candidate, 0) + 1
    assert set(counts) == set(proposed)
    for candidate, count in counts.items():
        # Once each; twice only for a result finished in the instant between the evaluator's
        # exit and the journal's fsync when a kill landed there.
        assert count == 1 + cut_short.count(candidate), (candidate, count, cut_short)
    code, replayed, err = run_cli("replay", str(journal), "--json", cwd=tmp_path)
    assert code == 0, err
    last = json.loads(replayed.splitlines()[-1])
    assert last["type"] == "campaign_completed" and last["total_evaluations"] == 24
