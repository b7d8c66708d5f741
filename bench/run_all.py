"""Run every benchmark and write docs/PERFORMANCE.md.

    .venv/bin/python bench/run_all.py [--quick] [--no-write] [--only NAME ...]

Each benchmark runs in its own process (a fresh interpreter: no benchmark's
memory, imports or garbage collector state colours the next one) and prints
its table; this script collects the tables, adds the method and the machine,
and writes docs/PERFORMANCE.md unless ``--no-write``. It exits non-zero only
when a benchmark reports a correctness failure (an event not applied, a
delivery lost) or crashes, never because of a timing: the machine is shared
and noisy, so timings are reported beside same-run baselines instead.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import MET, MISSED  # noqa: E402 (needs ROOT on the path when run as a script)

BENCHES = (
    "reducer",
    "source",
    "table",
    "scatter",
    "memory",
    "terminal",
    "startup",
    "fanout",
    "insight",
    "insight_ui",
    "optimizer",
    "run",
    "executor",
    "latejoin",
    "scale",
    "optuna",
)
DOC = ROOT / "docs" / "PERFORMANCE.md"

METHOD = """\
## Method

Every figure is measured on the machine below in the run that wrote this page,
and printed beside a baseline measured in the same run (the ratio is
measured / baseline, or the reverse where said), because the machine is shared
and its timings vary by 2-3x from minute to minute. Each benchmark runs in a
fresh process; `bench/run_all.py` runs them all (`--quick` for CI, which
checks correctness but never fails on timings). The scripts, each runnable
alone (`.venv/bin/python bench/bench_NAME.py [--quick]`):

- `bench_reducer.py`: `protocol.parse` and `CampaignState.apply` on one core,
  against `json.loads` of the same frames.
- `bench_source.py`: frames/s from a loopback WebSocket into the state, from
  a near-free raw server in a child process (`frame_server.py`), for a bare
  `websockets` client (baseline), `WebSocketSource` + state, and the whole
  headless monitor; two ceilings, the bare client also decoding each frame
  (`json.loads`, `protocol.parse`), bound what any client here can reach.
- `bench_table.py`, `bench_scatter.py`: widget frames at 100k candidates in a
  headless 120x40 app, timed from the change to the frame the compositor
  hands to the driver.
- `bench_memory.py`: RSS of a fresh headless monitor process holding the state.
- `bench_terminal.py`: `materia-tui watch` in a pty this script owns (120x40,
  `TERM=xterm-256color`) against the test `ScriptedServer`: start-up time,
  bytes read from the pty master while 10 events/s stream, idle bytes and CPU;
  baseline: a one-`Static` Textual app in the same pty.
- `bench_startup.py`: `materia-tui watch` to the first data on screen in a
  pty (120x40), wall and CPU time, interleaved with a minimal Textual app and
  `python -c pass`, plus `--help`/`--version` and an import-time breakdown;
  two floors: the minimal app importing first the protocol's pydantic models
  (what the first data still needs), and the same with httpx and websockets
  (the stack the monitor loaded before its first frame until the first page
  came over asyncio, source/first_page.py).
- `bench_fanout.py`: `serve` processes with many raw-socket clients
  (`load_clients.py`, two load processes), and publish -> client state.
- `bench_insight.py`: the analysis computations (`materia_tui.insight`) on
  one core at 200 x 5,000 candidates: hypervolume against moocore, the
  per-iteration trace against recomputing every iteration, importance against
  one forest fit, a filter mask against the same predicate in numpy.
- `bench_insight_ui.py`: the headless monitor (160x48) holding 100k
  candidates while the last iterations stream in, with each analysis view
  shown and the `/` filter on: the event loop's lateness (a 10 ms ticker,
  worst and p99) against the same app idle and streaming with only the
  Pareto plot; and the UI thread's share of an analysis pass (the columns'
  byte copy, the filter's mask) against the whole `candidate_columns` copy.
- `bench_run.py`: `materia-tui run`'s own cost: one evaluation through its
  process-group leader against the same process started directly, and a
  campaign's time per iteration split into optimizer, evaluations and the
  runner (publish, journal, fsync).
- `bench_optimizer.py`: the optimizer of `materia-tui run` on ZDT1 (30-D) and
  Branin-Currin (two objectives, hypervolume) and Hartmann-6 (one, best
  value), median of 5 seeds at equal evaluation budgets, against Optuna's
  default sampler and random search; its time per iteration at 100 and 500
  evaluations (also on a mixed space with failures) against Optuna's sampler
  given the same history.
- `bench_scale.py`: issue 17's campaign shape (6 parameters, one categorical,
  2 objectives, 5,000 candidates a batch) at 100k and 1M: peak RSS of the
  state, `--plain` and the full-screen monitor (fresh processes, against the
  same process with one candidate), the table's sorts, filters and page down
  and the scatter's redraw at 1M (against an empty-Static frame), one batch
  of 5,000 into the front (against recomputing it), and intake (parse +
  fold against a bare `json.loads` of the same frames).
- `bench_executor.py`: `run`'s evaluation step on Celery (a redis-server of
  its own, one real `materia-tui worker` with 2 pool processes) against the
  local process pool of 2, on the same trivial evaluator: wall per task of a
  batch, and the latency of a lone task.
- `bench_latejoin.py`: a late join of issue 17's campaign (200 iterations x 500
  and x 5,000 candidates, `big_campaign.py`) from a real `serve` on the memory
  bus and on Redis: a bare httpx client paging and `json.loads`-ing the history
  (baseline) against the source's backfill into a `CampaignState` and
  `watch --plain` to `Done!`, each in a fresh process (time, peak RSS); bytes
  on the wire with and without gzip and `serve`'s CPU per page.
- `bench_optuna.py`: a 50,000-trial Optuna study (SQLite and journal):
  the follower's full state against `optuna.load_study(...).trials`, and
  `watch --optuna` to its full screen against a process loading the study,
  what a poll reads, the monitor's CPU while the study is idle and while an
  optimizer adds trials, and a trial's completion to the follower.
"""


def machine() -> str:
    cpu = "unknown"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = ", ".join(
        f"{name} {version(name)}" for name in ("textual", "websockets", "pydantic", "aiohttp")
    )
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"- {os.cpu_count()} CPUs (nproc), {cpu}\n"
        f"- {platform.system()} {platform.release()}, Python {platform.python_version()}, {versions}\n"
        f"- load average at the start: {load} (other work shares these cores)"
    )


def summary(sections: list[str]) -> str:
    """Every row that has a target, with its figure and whether it was met."""
    lines = ["| benchmark | what | target | measured | met |", "| --- | --- | --- | --- | --- |"]
    for section in sections:
        title = section.splitlines()[0].removeprefix("### ") if section else ""
        for line in section.splitlines():
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if len(cells) == 6 and cells[5] in (MET, MISSED):
                lines.append(f"| {title} | {cells[0]} | {cells[1]} | {cells[2]} | {cells[5]} |")
    return "\n".join(lines) if len(lines) > 2 else ""


def run_one(name: str, quick: bool) -> tuple[str, int, float]:
    started = time.perf_counter()
    command = [sys.executable, str(ROOT / "bench" / f"bench_{name}.py"), *(["--quick"] if quick else [])]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    elapsed = time.perf_counter() - started
    table = completed.stdout.strip()
    if completed.returncode != 0 and "CORRECTNESS FAILURE" not in table:
        table += f"\n\n**CRASHED** (exit {completed.returncode}):\n\n```\n{completed.stderr[-3000:]}\n```"
    return table, completed.returncode, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI sizes: a minute or two in all")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/PERFORMANCE.md alone")
    parser.add_argument("--only", nargs="*", choices=BENCHES, help="run just these benchmarks")
    args = parser.parse_args()
    header = machine()
    print(header, flush=True)
    sections: list[str] = []
    failed: list[str] = []
    for name in args.only or BENCHES:
        table, code, elapsed = run_one(name, args.quick)
        print(f"\n{table}\n({name}: {elapsed:.0f} s)", flush=True)
        sections.append(table)
        if code != 0:
            failed.append(name)
    if not args.no_write:
        today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
        size = "quick (CI) sizes" if args.quick else "full sizes"
        DOC.write_text(
            "# Performance\n\n"
            f"Measured {today}, {size}, by `bench/run_all.py`"
            f"{' --quick' if args.quick else ''}.\n\n## Summary\n\n{summary(sections)}\n\n"
            f"## Machine\n\n{header}\n\n{METHOD}\n## Results\n\n"
            + "\n\n".join(sections)
            + "\n\n"
            + (NOTES_FILE.read_text() if NOTES_FILE.exists() else "")
        )
        print(f"\nwrote {DOC.relative_to(ROOT)}")
    if failed:
        print(f"correctness failures or crashes in: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


NOTES_FILE = ROOT / "bench" / "FINDINGS.md"  # hand-written analysis appended to the generated page

if __name__ == "__main__":
    sys.exit(main())
