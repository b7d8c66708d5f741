"""Optuna studies: a 50,000-trial study opened and followed (``watch --optuna``).

    .venv/bin/python bench/bench_optuna.py [--quick]

The study (tests/support/optuna_studies.py: 50,000 finished trials, 2,000 with
``--quick``; two parameters, some pruned and failed) is written to a SQLite
file and to a journal file. Figures, each beside a baseline of the same run:

- full state: ``StudyFollower.poll()`` folded into ``CampaignState`` against
  ``optuna.load_study(...).trials`` on the same file, each in a fresh child
  process after its imports, alternated, median of the rounds (target <= 2x).
  The follower's child tunes the garbage collector as the CLI does; Optuna's
  runs with Python's defaults, as a user's script would;
- full screen: ``materia-tui watch --optuna FILE big`` in a pty (120x40) from
  exec until ``evaluations 50,000`` is on screen, against a child that imports
  Optuna and loads the study's trials, from exec to exit (target <= 2x);
- what a poll reads on the SQLite study: SQL statements and trials returned,
  idle and with one new trial (never the whole study);
- CPU of that monitor process while the study is idle, and while an
  optimizer in another process adds trials (target < 5% of a core); the
  optimizer's own CPU is the baseline column;
- latency from a trial's completion (its ``datetime_complete``) to its
  evaluation reaching an in-process follower (target < 1 s).

Correctness (fails the run): the follower's best value equals Optuna's
``best_value`` and every finished trial is evaluated.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_terminal import PtyProcess, child_env
from bench.common import BenchResult, Row, ms, run_cli

ROOT = Path(__file__).resolve().parent.parent
STUDY = "big"
OPEN_RATIO_TARGET = 2.0
CPU_TARGET = 0.05
LATENCY_TARGET = 1.0


def child(mode: str, spec: str) -> None:
    """In a fresh process: time one full read (``load``: Optuna's, ``follow``: ours)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if mode == "load":
        storage = journal_storage(spec) if "://" not in spec else spec
        started = time.perf_counter()
        trials = optuna.load_study(study_name=STUDY, storage=storage).trials
        seconds = time.perf_counter() - started
        best = optuna.load_study(study_name=STUDY, storage=storage).best_value
        print(json.dumps({"seconds": seconds, "trials": len(trials), "best": best}))
        return
    from materia_tui.cli.main import tune_garbage_collector
    from materia_tui.source.optuna import StudyFollower
    from materia_tui.state import CampaignState
    from materia_tui.state.intake import apply_item

    tune_garbage_collector()
    started = time.perf_counter()
    follower = StudyFollower(spec, STUDY)
    state = CampaignState(follower.campaign_id)
    for item in follower.poll():
        apply_item(state, item)
    seconds = time.perf_counter() - started
    follower.close()
    print(json.dumps({"seconds": seconds, "trials": state.evaluations, "best": state.best["value"].value}))


def journal_storage(path: str) -> object:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return JournalStorage(JournalFileBackend(path))


def run_child(mode: str, spec: str) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", mode, spec]
    out = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def full_state(result: BenchResult, label: str, spec: str, trials: int, rounds: int) -> None:
    ours, optunas = [], []
    for _ in range(rounds):
        base = run_child("load", spec)
        mine = run_child("follow", spec)
        optunas.append(base["seconds"])
        ours.append(mine["seconds"])
        result.check(mine["best"] == base["best"], f"{label}: best {mine['best']} != Optuna's {base['best']}")
        finished = base["trials"]
        result.check(mine["trials"] == finished, f"{label}: {mine['trials']} evaluated of {finished} trials")
    mine_s, base_s = statistics.median(ours), statistics.median(optunas)
    ratio = mine_s / base_s
    result.rows.append(
        Row(
            f"{label}: full state of {trials:,} trials",
            f"<= {OPEN_RATIO_TARGET:g}x Optuna",
            f"{mine_s:.2f} s",
            f"{base_s:.2f} s (load_study().trials)",
            f"{ratio:.2f}x",
            ratio <= OPEN_RATIO_TARGET,
        )
    )


def optuna_process_seconds(spec: str) -> float:
    code = (
        "import optuna,sys; optuna.logging.set_verbosity(optuna.logging.ERROR); "
        "from bench.bench_optuna import journal_storage as j; s=sys.argv[1]; "
        f"optuna.load_study(study_name={STUDY!r}, storage=s if '://' in s else j(s)).trials"
    )
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, spec], check=True, cwd=ROOT)
    return time.perf_counter() - started


def spawn_monitor(spec: str, *options: str) -> PtyProcess:
    argv = [sys.executable, "-m", "materia_tui", "watch", "--optuna", spec, STUDY, *options]
    return PtyProcess.spawn(argv, child_env())


def full_screen(result: BenchResult, label: str, spec: str, finished: int) -> None:
    """Exec to the full state on screen: with ``--n-trials`` (every trial there is) and
    ``--exit-on-complete`` the monitor leaves by itself right after drawing it."""
    base = optuna_process_seconds(spec)
    monitor = spawn_monitor(spec, "--n-trials", str(finished), "--exit-on-complete")
    try:
        code = monitor.process.wait(900)
        shown = time.perf_counter() - monitor.started
    finally:
        monitor.stop()
    result.check(code == 0, f"{label}: the monitor exited {code}")
    ratio = shown / base
    result.rows.append(
        Row(
            f"{label}: `watch --optuna` exec to full screen (and exit)",
            f"<= {OPEN_RATIO_TARGET:g}x Optuna",
            f"{shown:.2f} s",
            f"{base:.2f} s (python: import optuna, load trials)",
            f"{ratio:.2f}x",
            ratio <= OPEN_RATIO_TARGET,
        )
    )


def settle(monitor: PtyProcess, timeout: float = 900.0) -> None:
    """Until the monitor has read the study: a second in which it used < 20% of a core."""
    deadline = time.perf_counter() + timeout
    last = monitor.cpu_seconds()
    while time.perf_counter() < deadline:
        time.sleep(1.0)
        now = monitor.cpu_seconds()
        if now - last < 0.2 and monitor.reads:
            return
        last = now
    raise RuntimeError("the monitor never settled")


def following_cpu(result: BenchResult, label: str, spec: str, quick: bool) -> None:
    monitor = spawn_monitor(spec)
    try:
        settle(monitor)
        span = 3.0 if quick else 10.0
        cpu, started = monitor.cpu_seconds(), time.perf_counter()
        time.sleep(span)
        idle = (monitor.cpu_seconds() - cpu) / (time.perf_counter() - started)
        result.rows.append(
            Row(f"{label}: monitor CPU, study idle", f"< {CPU_TARGET:.0%} of a core", f"{idle:.1%}", "", "",
                idle < CPU_TARGET)
        )
        adding_trials(result, label, spec, monitor, 10 if quick else 40)
    finally:
        monitor.stop()


def adding_trials(result: BenchResult, label: str, spec: str, monitor: PtyProcess, new: int) -> None:
    """An optimizer adds ``new`` trials (~10/s) while the monitor follows."""
    cpu, started = monitor.cpu_seconds(), time.perf_counter()
    children_before = _children_cpu()
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.support.optuna_worker", spec, STUDY, "big", "--n-trials", str(new),
         "--sampler", "random", "--sleep", "0.1"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    writer.wait(600)
    writer_cpu = _children_cpu() - children_before
    time.sleep(1.0)  # the last trial's poll and refresh
    wall = time.perf_counter() - started
    share = (monitor.cpu_seconds() - cpu) / wall
    result.rows.append(
        Row(
            f"{label}: monitor CPU while {new} trials are added ({new / wall:.1f}/s)",
            f"< {CPU_TARGET:.0%} of a core",
            f"{share:.1%}",
            f"optimizer {writer_cpu / wall:.0%}",
            "",
            share < CPU_TARGET,
        )
    )


def _children_cpu() -> float:
    """CPU seconds of this process's children that have ended."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def finished_trials(spec: str) -> int:
    from materia_tui.source.optuna_listing import study_rows

    return next(row.finished for row in study_rows(spec) if row.name == STUDY)


def reads_per_poll(result: BenchResult, spec: str) -> None:
    """SQL statements and trials one poll reads on the big SQLite study (the study's
    details, reread every 5 s, are counted apart)."""
    from sqlalchemy import event

    from materia_tui.source.optuna import StudyFollower

    follower = StudyFollower(spec, STUDY, info_refresh_seconds=1e9)
    follower.poll()
    store = follower._store
    assert store is not None
    statements: list[str] = []
    engine = store.optuna_storage.engine
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    original = store.changes
    returned: list[int] = []

    def counted(study_id: int) -> list[object]:
        trials = original(study_id)
        returned.append(len(trials))
        return trials  # type: ignore[return-value]

    store.changes = counted  # type: ignore[method-assign]
    started = time.perf_counter()
    follower.poll()
    idle_seconds = time.perf_counter() - started
    idle = (len(statements), returned[-1])
    subprocess.run(
        [sys.executable, "-m", "tests.support.optuna_worker", spec, STUDY, "big", "--n-trials", "1",
         "--sampler", "random"],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
    )
    statements.clear()
    follower.poll()
    one = (len(statements), returned[-1])
    statements.clear()
    store.info(follower._study_id)
    details = len(statements)
    follower.close()
    shown = f"{idle[0]} statements, {idle[1]} trials, {ms(idle_seconds)}"
    result.rows.append(Row("SQLite: an idle poll reads", "not the whole study", shown, "", "", idle[1] == 0))
    result.rows.append(Row("SQLite: a poll after one new trial", "only what changed",
                           f"{one[0]} statements, {one[1]} trial", "", "", one[1] == 1))
    result.rows.append(Row("SQLite: the study's details (reread every 5 s)", "", f"{details} statements"))


def latency(result: BenchResult, spec: str, new: int) -> None:
    """Completion of a trial (in the storage) to its evaluation in an in-process follower."""
    import asyncio

    from materia_tui.source import ConnectionChanged, EventReceived
    from materia_tui.source.optuna import OptunaSource

    async def follow() -> list[float]:
        lags: list[float] = []
        source = OptunaSource(spec, STUDY)
        writer: subprocess.Popen[bytes] | None = None
        try:
            async for item in source:
                if isinstance(item, EventReceived) and item.event.type == "candidates_evaluated":
                    if writer is None:
                        continue  # the history
                    lags.append(time.time() - item.received_at)  # received_at: the trial's completion
                    if len(lags) == new:
                        break
                elif isinstance(item, ConnectionChanged) and item.status == "live" and writer is None:
                    writer = subprocess.Popen(  # the history is in: now trials finish live
                        [sys.executable, "-m", "tests.support.optuna_worker", spec, STUDY, "big",
                         "--n-trials", str(new), "--sampler", "random", "--sleep", "0.2"],
                        cwd=ROOT, stdout=subprocess.DEVNULL,
                    )
        finally:
            await source.aclose()
            if writer is not None:
                writer.wait(120)
        return lags

    lags = asyncio.run(follow())
    worst = max(lags)
    result.rows.append(
        Row(f"trial finished -> in the follower ({len(lags)} trials)", f"< {LATENCY_TARGET:g} s",
            f"median {statistics.median(lags):.2f} s, max {worst:.2f} s", "", "", worst < LATENCY_TARGET)
    )


def step(text: str) -> None:
    print(f"[bench_optuna {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def bench(quick: bool) -> BenchResult:
    from tests.support.optuna_studies import make_journal_study, make_sqlite_study

    trials = 2_000 if quick else 50_000
    rounds = 1 if quick else 3
    result = BenchResult(f"Optuna studies ({trials:,} trials)")
    with tempfile.TemporaryDirectory(prefix="bench-optuna-") as tmp:
        sqlite = make_sqlite_study(Path(tmp) / "big.db", trials, STUDY)
        journal = make_journal_study(Path(tmp) / "big.log", trials, STUDY)
        for label, spec in (("SQLite", sqlite), ("journal", journal)):
            step(f"{label}: full state")
            full_state(result, label, spec, trials, rounds)
        step("SQLite: reads per poll")
        reads_per_poll(result, sqlite)
        for label, spec in (("SQLite", sqlite), ("journal", journal)):
            step(f"{label}: full screen")
            full_screen(result, label, spec, finished_trials(spec))
            step(f"{label}: CPU while following")
            following_cpu(result, label, spec, quick)
        step("latency")
        latency(result, journal, 5 if quick else 20)
    result.notes.append(
        "The monitor's CPU is its whole process (Textual included), read from /proc. "
        "Optuna reads a study's trials with deep copies; the follower reads the same rows "
        "through Optuna's storage classes and then maps every trial to ~4 protocol events."
    )
    return result


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        run_cli(bench)
