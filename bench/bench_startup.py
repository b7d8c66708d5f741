"""Start-up: ``materia-tui watch ID`` from exec to the first data on screen.

    .venv/bin/python bench/bench_startup.py [--quick] [--runs N] [--compare DIR]

``materia-tui watch`` runs in a pseudo-terminal (120x40, ``TERM=xterm-256color``)
against a ``ScriptedServer`` (tests/support) already running in a thread of this
process, exactly as bench_terminal.py starts it; "first data on screen" is the
first candidate id of the campaign's history appearing in what the monitor
wrote to the pty (bench_terminal.py's definition).

Baselines, interleaved with the monitor in every round (the machine is shared
and noisy, so only same-run medians and ratios mean anything):

- the bare interpreter: ``python -c pass`` to exit;
- a minimal Textual app (one ``Static``) to its first frame in the same pty
  (Python start + Textual import + first paint): the floor for any Textual
  monitor;
- the same app importing first the stack the monitor needs before it can show
  data (the protocol's pydantic models, httpx with httpcore and anyio,
  websockets' client): the floor of a monitor that loads them all before its
  first frame, as ``watch`` did until it fetched the first page over asyncio;
- the same app importing first only the protocol's pydantic models: what the
  first data still needs (every event shown is validated by them);
- ``materia-tui --help`` and ``--version`` to exit.

``--compare DIR``: also start the monitor from another checkout (e.g.
``git archive HEAD | tar -x -C /tmp/before``) in every round, for a
before/after ratio measured under the same load.

The package's bytecode is compiled first (``bench.common.ensure_bytecode``): a
user's second start never compiles it again, while this machine's
PYTHONDONTWRITEBYTECODE would make every timed start do so.

After the rounds: an import-time breakdown of what ``watch`` imports before its
first frame (``python -X importtime``, median of 3): self time per top-level
package and the cumulative time of the modules that matter, plus a check that
this path imports none of the server, demo or heavy optional packages, nor the
live source's httpx and websockets.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_terminal import MINIMAL_APP, PtyProcess, child_env
from bench.common import BenchResult, Row, ensure_bytecode, median, ms, render_table
from tests.support.fake_source import CampaignScript, campaign_metadata, event_dicts
from tests.support.import_hygiene import AFTER_FIRST_FRAME, FIRST_FRAME_PATH, FORBIDDEN
from tests.support.scripted_server import DEFAULT_TOKEN, ScriptedServer, ServerThread

ROOT = Path(__file__).resolve().parent.parent
CAMPAIGN = "camp-start"
START_TARGET = 0.500
HELP_TARGET = 0.300

# The floor for a monitor on this stack: the minimal app, importing first what any
# monitor that follows the brief needs before it can show data (the protocol's
# pydantic models, httpx with the HTTP stack it loads at the first request,
# websockets' client) and doing nothing with it.
STACK_FLOOR_APP = (
    "import materia_tui.protocol, httpx, httpcore, anyio, websockets.asyncio.client\n" + MINIMAL_APP
)
# The floor of what the first frame still needs since the first page comes over asyncio
# and the live source loads after that frame (source/first_page.py): the protocol's
# pydantic models, which validate every event shown.
MODELS_FLOOR_APP = "import materia_tui.protocol\n" + MINIMAL_APP
cpu_times: dict[str, list[float]] = defaultdict(list)
WATCHED_MODULES = (
    "materia_tui.ui.app",
    "textual.app",
    "materia_tui.protocol",
    "materia_tui.state",
    "materia_tui.ui.campaign_view",
    "materia_tui.ui.widgets.pareto_plot",
    "textual_plotext",
    "materia_tui.source.first_page",
    "materia_tui.source.http_get",
    "materia_tui.source.rest",
    "pydantic",
)
# What the first frame may not wait for: the server, the demo, heavy packages, and the
# live source's stack (httpx, websockets), which loads once the first frame is out.
FIRST_FRAME_FORBIDDEN = (*FORBIDDEN, *AFTER_FIRST_FRAME)


def first_data_seconds(
    label: str, argv: list[str], cwd: Path, env: dict[str, str], needle: str
) -> float | None:
    """Wall seconds from spawn to ``needle`` on the pty (None: never); notes the child's
    CPU seconds (user + system) at that moment in ``cpu_times[label]``, a figure the
    neighbours' load disturbs less than the wall time."""
    if cwd != ROOT:
        # PtyProcess.spawn runs in ROOT, which ``python -m`` would put first on
        # sys.path: ``-P`` leaves it out and PYTHONPATH names the other checkout.
        argv = [argv[0], "-P", *argv[1:]]
        env = env | {"PYTHONPATH": str(cwd)}
    child = PtyProcess.spawn(argv, env)
    try:
        seconds = child.wait_for_text(needle, 30)
        if seconds is not None:
            cpu_times[label].append(child.cpu_seconds())
        return seconds
    finally:
        child.stop()


def exit_seconds(argv: list[str], env: dict[str, str], cwd: Path = ROOT) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def import_breakdown(env: dict[str, str]) -> tuple[dict[str, float], dict[str, float], float, list[str]]:
    """Self time per top-level package and cumulative time of WATCHED_MODULES (seconds,
    median of 3), the total, and the forbidden modules the watch path imported."""
    code = (
        # As `watch` runs its monitor's start (cli/main.py pause_collector): with the
        # default thresholds a full collection lands in whichever module is importing.
        "import gc, sys\n"
        "gc.disable()\n"
        "from materia_tui.cli.watch import skip_httpx_command_line\n"
        "skip_httpx_command_line()\n"  # as `watch` does before its source's imports
        + "".join(f"import {name}\n" for name in FIRST_FRAME_PATH)
        # A name set to None (httpx._main, by skip_httpx_command_line) was refused, not imported.
        + f"print(' '.join(m for m, module in sys.modules.items() if module is not None and "
        f"any(m == f or m.startswith(f + '.') for f in {FIRST_FRAME_FORBIDDEN!r})))\n"
    )
    packages: dict[str, list[float]] = defaultdict(list)
    cumulative: dict[str, list[float]] = defaultdict(list)
    totals: list[float] = []
    forbidden: list[str] = []
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        forbidden = done.stdout.split()
        own: dict[str, float] = defaultdict(float)
        total = 0.0
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or "|" not in line or "self [us]" in line:
                continue
            self_us, cumulative_us, name = (part.strip() for part in line[len("import time:") :].split("|"))
            top = name.split(".")[0]
            own["materia_tui" if top == "materia_tui" else top] += int(self_us) / 1e6
            total += int(self_us) / 1e6
            if name in WATCHED_MODULES:
                cumulative[name].append(int(cumulative_us) / 1e6)
        for name, seconds in own.items():
            packages[name].append(seconds)
        totals.append(total)
    return (
        {k: statistics.median(v) for k, v in packages.items()},
        {k: statistics.median(v) for k, v in cumulative.items()},
        statistics.median(totals),
        forbidden,
    )


def bench(quick: bool, runs: int | None, compare: Path | None) -> BenchResult:
    result = BenchResult("Start-up: `materia-tui watch ID` to first data (pty, 120x40)")
    rounds = runs or (3 if quick else 9)
    ensure_bytecode(ROOT)
    if compare is not None:
        ensure_bytecode(compare)
    script = CampaignScript(CAMPAIGN)
    history = event_dicts(script.iteration(1))
    needle = next(e for e in history if "candidates" in e)["candidates"][0]["id"]
    meta = campaign_metadata(CAMPAIGN, "start-up bench").model_dump(mode="json", exclude_none=True)
    server = ScriptedServer()
    server.add_campaign(CAMPAIGN, meta=meta, events=history)
    env = child_env()
    python = sys.executable
    times: dict[str, list[float]] = defaultdict(list)
    with ServerThread(server):
        watch = [python, "-m", "materia_tui", "watch", CAMPAIGN, "--url", server.base_url]
        watch_env = env | {"MATERIA_TOKEN": DEFAULT_TOKEN}
        cases: list[tuple[str, list[str], dict[str, str], Path, str]] = [
            ("monitor", watch, watch_env, ROOT, needle),
            ("minimal", [python, "-c", MINIMAL_APP, "start"], env, ROOT, "READY-0"),
            ("floor", [python, "-c", STACK_FLOOR_APP, "start"], env, ROOT, "READY-0"),
            ("models", [python, "-c", MODELS_FLOOR_APP, "start"], env, ROOT, "READY-0"),
        ]
        if compare is not None:
            cases.append(("compare", watch, watch_env, compare, needle))
        for index in range(rounds):
            times["python"].append(exit_seconds([python, "-c", "pass"], env))
            times["help"].append(exit_seconds([python, "-m", "materia_tui", "--help"], env))
            times["version"].append(exit_seconds([python, "-m", "materia_tui", "--version"], env))
            for name, argv, case_env, cwd, text in cases[index % len(cases) :] + cases[: index % len(cases)]:
                seconds = first_data_seconds(name, argv, cwd, case_env, text)
                result.check(seconds is not None, f"{name}: never showed {text!r}")
                if seconds is not None:
                    times[name].append(seconds)
    start, minimal, python_start = median(times["monitor"]), median(times["minimal"]), median(times["python"])
    result.rows.append(
        Row(
            "start to first data on screen (server already running)",
            f"<= {ms(START_TARGET)}",
            f"{ms(start)} (min {ms(min(times['monitor'], default=float('nan')))})",
            f"minimal Textual app, first frame: {ms(minimal)}",
            f"{start / minimal:.2f}x" if minimal else "",
            meets_target=start <= START_TARGET,
        )
    )
    floor = median(times["floor"])
    result.rows.append(
        Row(
            "  floor: the minimal app, importing first the protocol's models, httpx and websockets",
            f"(floor under <= {ms(START_TARGET)})",
            ms(floor),
            f"minimal Textual app: {ms(minimal)}",
            f"{floor / minimal:.2f}x" if minimal else "",
        )
    )
    models = median(times["models"])
    result.rows.append(
        Row(
            "  floor: the minimal app, importing first the protocol's models (what first data needs)",
            "",
            ms(models),
            f"minimal Textual app: {ms(minimal)}",
            f"{models / minimal:.2f}x (CPU {ms(median(cpu_times['models']))})" if minimal else "",
        )
    )
    cpu, cpu_minimal = median(cpu_times["monitor"]), median(cpu_times["minimal"])
    result.rows.append(
        Row(
            "  CPU time of the process until then (user + system)",
            "",
            ms(cpu),
            f"minimal Textual app: {ms(cpu_minimal)}",
            f"{cpu / cpu_minimal:.2f}x" if cpu_minimal else "",
        )
    )
    if compare is not None:
        before = median(times["compare"])
        result.rows.append(
            Row(
                f"the same from {compare}",
                "",
                ms(before),
                f"minimal Textual app: {ms(minimal)}",
                f"{before / minimal:.2f}x (this tree: {start / before:.2f}x of it)",
            )
        )
        cpu_before = median(cpu_times["compare"])
        result.rows.append(
            Row(
                "  its CPU time until then",
                "",
                ms(cpu_before),
                f"minimal Textual app: {ms(cpu_minimal)}",
                f"{cpu_before / cpu_minimal:.2f}x (this tree: {cpu / cpu_before:.2f}x of it)",
            )
        )
    for name, what in (
        ("help", "`materia-tui --help` to exit"),
        ("version", "`materia-tui --version` to exit"),
    ):
        value = median(times[name])
        result.rows.append(
            Row(
                what,
                f"<= {ms(HELP_TARGET)}",
                ms(value),
                f"`python -c pass`: {ms(python_start)}",
                f"{value / python_start:.1f}x",
                meets_target=value <= HELP_TARGET,
            )
        )
    packages, cumulative, total, forbidden = import_breakdown(env)
    result.check(not forbidden, f"the watch path imports {', '.join(forbidden)}")
    biggest = sorted(packages.items(), key=lambda kv: -kv[1])[:10]
    result.notes.append(
        f"Median of {rounds} interleaved rounds. Imports before the first frame (`python -X importtime`, "
        f"median of 3, the flag adds overhead): {ms(total)} in all; self time by package: "
        + ", ".join(f"{name} {ms(seconds)}" for name, seconds in biggest)
        + ". Cumulative: "
        + ", ".join(f"{name} {ms(cumulative[name])}" for name in WATCHED_MODULES if name in cumulative)
        + ("" if forbidden else ". Before its first frame, `watch` imports none of: ")
        + ("" if forbidden else ", ".join(FIRST_FRAME_FORBIDDEN))
        + "."
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="3 rounds, for CI")
    parser.add_argument("--runs", type=int, help="rounds (default 9, or 3 with --quick)")
    parser.add_argument("--compare", type=Path, help="also time the monitor from this checkout")
    args = parser.parse_args()
    result = bench(args.quick, args.runs, args.compare.resolve() if args.compare else None)
    print(render_table(result))
    sys.exit(1 if result.failures else 0)


if __name__ == "__main__":
    os.environ.pop("PYTHONPATH", None)
    main()
