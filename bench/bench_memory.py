"""Memory: resident set of the whole process, headless monitor holding 100k candidates.

Each case runs in a fresh child process (so nothing measured earlier stays
resident): the headless ``MonitorApp`` at 120x40 over a state of N measured
candidates, RSS read from ``/proc/self/status`` once every panel has drawn
the state. Baseline in the same run: the same app with an empty state.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BenchResult, Row, run_cli

TARGET_MB = 150.0
ROOT = Path(__file__).resolve().parent.parent


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size in MB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


class IdleSource:
    """A source that never yields: the state is handed to the app ready-made."""

    def __aiter__(self) -> IdleSource:
        return self

    async def __anext__(self) -> Any:
        await asyncio.Event().wait()

    async def aclose(self) -> None:
        return None


def child(candidates: int) -> dict[str, float]:
    from bench.common import big_state
    from materia_tui.ui.app import MonitorApp

    # Batches of 5, as a campaign sends them: the event log keeps the last 1,000 events,
    # so batches of thousands would keep every candidate's event alive too.
    state = big_state(candidates, batch=5) if candidates else None
    after_state = rss_mb()[0]
    out: dict[str, float] = {"state": after_state}

    async def main() -> None:
        app = MonitorApp(IdleSource(), "camp-123", state=state)
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(100):  # the scatter catches up in steps; wait for it, by name
                await pilot.pause(0.02)
                if app.view.pareto.up_to_date or not candidates:
                    break
            out["app"], out["peak"] = rss_mb()

    asyncio.run(main())
    return out


def run_child(candidates: int) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, "-m", "bench.bench_memory", "--child", str(candidates)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return result


def bench(quick: bool) -> BenchResult:
    result = BenchResult("Memory: headless monitor process, resident set")
    empty = run_child(0)
    for count in (30_000,) if quick else (10_000, 100_000):
        full = run_child(count)
        per_candidate = (full["app"] - empty["app"]) * 1024 * 1024 / count
        result.rows.append(
            Row(
                f"{count:,} measured candidates: RSS (peak)",
                f"<= {TARGET_MB:.0f} MB" if count == 100_000 else "",
                f"{full['app']:.0f} MB ({full['peak']:.0f} MB)",
                f"same app, empty state: {empty['app']:.0f} MB",
                f"{per_candidate:,.0f} B per candidate",
                meets_target=full["app"] <= TARGET_MB if count == 100_000 else None,
            )
        )
    result.notes.append("Each candidate: 2 parameters, 2 predicted +- sigma, 2 measured objectives.")
    return result


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(child(int(sys.argv[2]))))
    else:
        run_cli(bench)
