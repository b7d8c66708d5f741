"""The candidate table with 100k rows, in a headless 120x40 app: time to a painted frame.

Each figure is the wall time from the change (mounting the table, syncing it
after new or changed rows, a key press) to the last frame it caused, as the
compositor hands it to the driver (layout and the rendering of every changed
line included; writing escape codes to a terminal is measured by
bench_terminal). Baselines
in the same run: the same frame with an empty ``Static`` instead of the table
(Textual's own floor for one frame) and Textual's ``DataTable`` loading a
small fraction of the rows (it needs seconds for 100k).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from bench.common import BenchResult, Row, big_state, median, more_candidates, ms, run_cli
from materia_tui.protocol import CandidatesEvaluated, EvaluationResult
from materia_tui.state import CampaignState
from materia_tui.state.changes import ChangeSet
from materia_tui.ui.widgets.candidate_table import CandidateTable

SIZE = (120, 40)
FRAME_TARGET = 0.050
FIRST_FRAME_TARGET = 0.300


class Host(App[None]):
    """An empty screen to mount the measured widget in; notes when each frame is ready."""

    painted_at = 0.0

    def compose(self) -> ComposeResult:
        yield Vertical(id="host")

    def _display(self, screen: Any, renderable: Any) -> None:
        super()._display(screen, renderable)
        if renderable is not None:
            self.painted_at = time.perf_counter()  # the compositor has rendered the update


async def timed(pilot: Pilot[Any], change: Any) -> float:
    """From ``change()`` to the last frame it caused (waiting for Textual to go idle)."""
    app = pilot.app
    assert isinstance(app, Host)
    await pilot.pause()
    started = time.perf_counter()
    result = change()
    if asyncio.iscoroutine(result):
        await result
    await pilot.pause()
    return app.painted_at - started if app.painted_at > started else float("nan")


async def measure_table(state: CampaignState, repeat: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"first": [], "append": [], "update": [], "page": [], "floor": []}
    async with Host().run_test(size=SIZE) as pilot:
        host = pilot.app.query_one("#host")
        for _ in range(repeat):
            table = CandidateTable(state)

            async def mount(table: CandidateTable = table) -> None:
                await host.mount(table)
                table.apply_changes(state, ChangeSet.everything(0), 0.0)

            times["first"].append(await timed(pilot, mount))
            await table.remove()
        table = CandidateTable(state)
        await host.mount(table)
        table.apply_changes(state, state.take_changes(), 0.0)
        await pilot.pause()
        def follow() -> None:
            table.apply_changes(state, state.take_changes(), 0.0)

        for index in range(repeat):
            more_candidates(state, 1000, first_id=20_000_000 + index * 1000)
            times["append"].append(await timed(pilot, follow))
            # In place: measure the newest visible rows (following, they are on screen).
            shown = [r.id for r in table.visible_records()[-5:]]
            results = [
                EvaluationResult(candidate_id=cid, objectives={"water_flux": 55.0 + index}) for cid in shown
            ]
            state.apply(CandidatesEvaluated(results=results, iteration=state.current_iteration), time.time())
            times["update"].append(await timed(pilot, follow))
        table.focus()
        await pilot.press("home")
        for _ in range(repeat):
            times["page"].append(await timed(pilot, lambda: pilot.press("pagedown")))
        await table.remove()
        static = Static("x" * 100)
        await host.mount(static)
        for index in range(repeat):
            times["floor"].append(await timed(pilot, lambda i=index: static.update(f"{i} " * 30)))
    return times


async def measure_datatable(rows: Sequence[Sequence[str]]) -> float:
    async with Host().run_test(size=SIZE) as pilot:
        host = pilot.app.query_one("#host")
        table: DataTable[str] = DataTable()

        async def load() -> None:
            await host.mount(table)
            table.add_columns("id", "it", "status", "water_flux", "salt_rejection", "pore_size_nm", "polymer")
            table.add_rows(rows)

        return await timed(pilot, load)


def bench(quick: bool) -> BenchResult:
    result = BenchResult("Candidate table, 100k rows, 120x40 (headless)")
    rows = 100_000
    repeat = 3 if quick else 7
    state = big_state(rows)
    times = asyncio.run(measure_table(state, repeat))
    result.check(len(state.candidate_list) == rows + repeat * 1000, "appended rows missing from the state")
    sample = [
        (
            c.id,
            str(c.iteration),
            c.status,
            str(c.objectives.get("water_flux")),
            str(c.objectives.get("salt_rejection")),
            str(c.parameters.get("pore_size_nm")),
            str(c.parameters.get("polymer")),
        )
        for c in state.candidate_list[: 2000 if quick else 5000]
    ]
    datatable = asyncio.run(measure_datatable(sample))
    floor = median(times["floor"])
    cases = (
        (
            "first frame (mount + sync + paint)",
            "first",
            FIRST_FRAME_TARGET,
            f"DataTable, {len(sample):,} rows: {ms(datatable)}",
        ),
        ("append 1,000 rows -> frame", "append", FRAME_TARGET, f"empty-Static frame {ms(floor)}"),
        (
            "in-place update of 5 visible rows -> frame",
            "update",
            FRAME_TARGET,
            f"empty-Static frame {ms(floor)}",
        ),
        ("page down", "page", FRAME_TARGET, f"empty-Static frame {ms(floor)}"),
    )
    for what, key, target, baseline in cases:
        value = median(times[key])
        result.rows.append(
            Row(
                what,
                f"<= {ms(target)}",
                f"{ms(value)} (worst {ms(max(times[key]))})",
                baseline,
                f"{value / floor:.1f}x floor",
                meets_target=value <= target,
            )
        )
    result.notes.append(
        f"median of {repeat} runs each; the table follows the newest row (as in the monitor)."
    )
    return result


if __name__ == "__main__":
    run_cli(bench)
