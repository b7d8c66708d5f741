"""The monitor on a real terminal: start-up time, bytes written while streaming, idle cost.

``materia-tui watch`` runs in a pseudo-terminal this script owns (120x40,
``TERM=xterm-256color``), against a ``ScriptedServer`` (tests/support) in a
thread of this process. Every byte the monitor writes is read from the pty
master and timed:

- start to first data: from spawning the process to the first candidate id of
  the campaign's history appearing in the output (the server is already up);
- streaming: bytes/s while the server publishes 10 events/s (a realistic
  cycle: iteration started, surrogate trained, 5 candidates proposed and
  measured, convergence, iteration completed), every panel visible;
- idle: bytes/s and CPU (from /proc) once nothing arrives.

Baseline in the same run: a minimal Textual app (one ``Static``) in the same
pty, updated 10 times a second (streaming) and started the same way (start-up).
Correctness: the monitor's output must show the last published candidate.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BenchResult, Row, ensure_bytecode, ms, run_cli
from tests.support.fake_source import CampaignScript, campaign_metadata, event_dicts
from tests.support.scripted_server import DEFAULT_TOKEN, ScriptedServer, ServerThread

ROOT = Path(__file__).resolve().parent.parent
COLUMNS, LINES = 120, 40
CAMPAIGN = "camp-term"
EVENT_RATE = 10.0
BYTES_TARGET = 15 * 1024
ANALYSIS_KEYS = {"hypervolume": b"7", "slices": b"8", "parallel coordinates": b"9"}
START_TARGET = 0.500

MINIMAL_APP = """
import sys
from textual.app import App
from textual.widgets import Static

class Minimal(App):
    def compose(self):
        yield Static("READY-0", id="s")

    def on_mount(self):
        self.n = 0
        if sys.argv[1] == "tick":
            self.set_interval(0.1, self.tick)

    def tick(self):
        self.n += 1
        self.query_one("#s").update(f"READY-{self.n} " + "x" * (self.n % 50))

Minimal().run()
"""


@dataclass
class PtyProcess:
    """A child on a pty; a thread reads the master and notes (time, bytes) of every read."""

    process: subprocess.Popen[bytes]
    master: int
    started: float
    reads: list[tuple[float, int]] = field(default_factory=list)
    raw: bytearray = field(default_factory=bytearray)  # everything written, for inspection
    text: str = ""  # the decoded tail, searched by wait_for_text
    _stop: bool = False

    @classmethod
    def spawn(cls, argv: list[str], env: dict[str, str]) -> PtyProcess:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
        started = time.perf_counter()
        process = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, env=env, start_new_session=True
        )
        os.close(slave)
        child = cls(process, master, started)
        threading.Thread(target=child._read, daemon=True).start()
        return child

    def _read(self) -> None:
        while not self._stop:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.reads.append((time.perf_counter(), len(data)))
            self.raw += data
            self.text = (self.text + data.decode("utf-8", "replace"))[-200_000:]

    def wait_for_text(self, needle: str, timeout: float) -> float | None:
        """Seconds from spawn until ``needle`` was written, or None."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if needle in self.text:
                return (self.reads[-1][0] if self.reads else time.perf_counter()) - self.started
            time.sleep(0.005)
        return None

    def bytes_between(self, start: float, end: float) -> int:
        return sum(n for at, n in self.reads if start <= at < end)

    def raw_between(self, start: float, end: float) -> bytes:
        """The bytes of the reads made in ``[start, end)``."""
        offset, first, last = 0, None, None
        for at, n in self.reads:
            if first is None and at >= start:
                first = offset
            if at < end:
                last = offset + n
            offset += n
        if first is None or last is None or last <= first:
            return b""
        return bytes(self.raw[first:last])

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self.master, b"q")
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        self._stop = True
        with contextlib.suppress(OSError):
            os.close(self.master)


MOVE = re.compile(rb"\x1b\[(\d+);(\d+)H")


def region_of(row: int, column: int) -> str:
    """The monitor's panels at 120x40 (wide layout): status line, footer, the left
    column (progress over the plot), the right one (table over a 10-line log)."""
    if row == 0:
        return "status bar"
    if row == LINES - 1:
        return "footer"
    if column < 40:
        return "progress" if row <= 13 else "scatter"
    return "table" if row <= 27 else "event log"


def bytes_by_region(data: bytes) -> dict[str, int]:
    """Attribute output to screen regions by its cursor moves (Textual positions
    every run of cells with an absolute ``CSI row;col H``); a diagnostic."""
    counts: dict[str, int] = {}
    where, since = "other", 0
    for move in MOVE.finditer(data):
        counts[where] = counts.get(where, 0) + move.start() - since
        where, since = region_of(int(move[1]) - 1, int(move[2]) - 1), move.start()
    counts[where] = counts.get(where, 0) + len(data) - since
    return counts


SLOW_LINK_REFRESH = 5


def spawn_watch(campaign_id: str, base_url: str, *options: str) -> PtyProcess:
    """``materia-tui watch`` in a fresh pty, with the test servers' token."""
    env = child_env() | {"MATERIA_TOKEN": DEFAULT_TOKEN}
    argv = [sys.executable, "-m", "materia_tui", "watch", campaign_id, "--url", base_url, *options]
    return PtyProcess.spawn(argv, env)


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATERIA_")}
    env.update(TERM="xterm-256color", COLORTERM="", LANG="C.UTF-8", COLUMNS=str(COLUMNS), LINES=str(LINES))
    env.pop("NO_COLOR", None)
    env.pop("TEXTUAL", None)
    return env


def paced(events: list[dict[str, Any]], publish: Callable[[dict[str, Any]], object], rate: float) -> float:
    """Publish ``events`` at ``rate`` per second; returns when the last one was sent."""
    start = time.perf_counter()
    for index, event in enumerate(events):
        time.sleep(max(0.0, start + index / rate - time.perf_counter()))
        publish(event)
    return time.perf_counter()


@dataclass
class Figures:
    start: float | None = None
    stream_rate: float = float("nan")
    idle_rate: float = float("nan")
    idle_cpu: float = float("nan")
    stream_regions: dict[str, float] = field(default_factory=dict)  # bytes/s per screen region
    idle_regions: dict[str, float] = field(default_factory=dict)


def measure_monitor(
    stream_seconds: float, idle_seconds: float, result: BenchResult, *options: str, keys: bytes = b""
) -> Figures:
    script = CampaignScript(CAMPAIGN)
    history = event_dicts(script.iteration(1))
    per_iteration = len(event_dicts(CampaignScript(CAMPAIGN).iteration(2)))
    iterations = int(stream_seconds * EVENT_RATE / per_iteration) + 1
    live = [e for n in range(2, 2 + iterations) for e in event_dicts(script.iteration(n))]
    meta = campaign_metadata(CAMPAIGN, "terminal bench", max_iterations=10_000).model_dump(
        mode="json", exclude_none=True
    )
    server = ScriptedServer()
    server.add_campaign(CAMPAIGN, meta=meta, events=history)
    figures = Figures()
    with ServerThread(server) as thread:
        child = spawn_watch(CAMPAIGN, server.base_url, *options)
        try:
            first_id = next(e for e in history if "candidates" in e)["candidates"][0]["id"]
            figures.start = child.wait_for_text(first_id, 30)
            result.check(figures.start is not None, "the monitor never showed the campaign's history")
            if keys:  # e.g. b"7": an analysis view in the plot slot
                os.write(child.master, keys)
            time.sleep(1.0)  # let the first layout settle: this is not the steady state
            began = time.perf_counter()
            ended = paced(live, lambda e: thread.call(server.publish(CAMPAIGN, e)), EVENT_RATE)
            streamed = max(1e-9, ended - began - 1)
            figures.stream_rate = child.bytes_between(began + 1, ended) / streamed
            regions = bytes_by_region(child.raw_between(began + 1, ended))
            figures.stream_regions = {k: v / streamed for k, v in regions.items()}
            last_id = [e for e in live if "candidates" in e][-1]["candidates"][-1]["id"]
            shown = child.wait_for_text(last_id, 10) is not None
            result.check(shown, f"the monitor never showed the last candidate {last_id}")
            time.sleep(2.0)  # the last throttled redraws (plot at 4 Hz, toasts) settle
            cpu = child.cpu_seconds()
            idle_from = time.perf_counter()
            time.sleep(idle_seconds)
            idle_to = time.perf_counter()
            figures.idle_cpu = (child.cpu_seconds() - cpu) / (idle_to - idle_from)
            figures.idle_rate = child.bytes_between(idle_from, idle_to) / (idle_to - idle_from)
            regions = bytes_by_region(child.raw_between(idle_from, idle_to))
            figures.idle_regions = {k: v / (idle_to - idle_from) for k, v in regions.items()}
        finally:
            child.stop()
    return figures


def measure_minimal(stream_seconds: float) -> tuple[float | None, float]:
    child = PtyProcess.spawn([sys.executable, "-c", MINIMAL_APP, "start"], child_env())
    try:
        start = child.wait_for_text("READY-0", 30)
    finally:
        child.stop()
    child = PtyProcess.spawn([sys.executable, "-c", MINIMAL_APP, "tick"], child_env())
    try:
        child.wait_for_text("READY-0", 30)
        time.sleep(1.0)
        began = time.perf_counter()
        time.sleep(stream_seconds)
        rate = child.bytes_between(began, time.perf_counter()) / stream_seconds
    finally:
        child.stop()
    return start, rate


def kb(rate: float) -> str:
    return f"{rate / 1024:.1f} KB/s"


def describe_regions(rates: dict[str, float]) -> str:
    ordered = sorted(((rate, name) for name, rate in rates.items() if rate > 0), reverse=True)
    return ", ".join(
        f"{name} {rate / 1024:.1f} KB/s" if rate >= 1024 else f"{name} {rate:.0f} B/s"
        for rate, name in ordered
    )


def bench(quick: bool) -> BenchResult:
    result = BenchResult("The monitor on a real terminal (pty, 120x40, 256 colours)")
    ensure_bytecode(ROOT)
    stream_seconds, idle_seconds = (4.0, 3.0) if quick else (20.0, 10.0)
    figures = measure_monitor(stream_seconds, idle_seconds, result)
    slow_link = measure_monitor(stream_seconds, 0.5, result, "--refresh", str(SLOW_LINK_REFRESH))
    # The analysis views repaint at the plot cadence; the two that redraw a plotext picture
    # per computation (hypervolume: a line, slices: a scatter) in the plot slot.
    views = {
        name: measure_monitor(stream_seconds, 1.0, result, keys=key) for name, key in ANALYSIS_KEYS.items()
    }
    minimal_start, minimal_rate = measure_minimal(stream_seconds / 2)
    start_text = ms(figures.start) if figures.start is not None else "never"
    base_start = ms(minimal_start) if minimal_start is not None else "never"
    result.rows += [
        Row(
            "start to first data on screen (server already running)",
            f"<= {ms(START_TARGET)}",
            start_text,
            f"minimal Textual app, first frame: {base_start}",
            f"{figures.start / minimal_start:.1f}x" if figures.start and minimal_start else "",
            meets_target=figures.start is not None and figures.start <= START_TARGET,
        ),
        Row(
            f"bytes to the terminal, {EVENT_RATE:.0f} events/s, all panels",
            f"<= {BYTES_TARGET // 1024} KB/s",
            kb(figures.stream_rate),
            f"minimal app, one Static at 10 Hz: {kb(minimal_rate)}",
            f"{figures.stream_rate / minimal_rate:.1f}x" if minimal_rate else "",
            meets_target=figures.stream_rate <= BYTES_TARGET,
        ),
        Row(
            f"bytes, {EVENT_RATE:.0f} events/s, `--refresh {SLOW_LINK_REFRESH}` (for a slow link)",
            "",
            kb(slow_link.stream_rate),
            f"default refresh: {kb(figures.stream_rate)}",
            f"{slow_link.stream_rate / figures.stream_rate:.2f}x" if figures.stream_rate else "",
        ),
        *(
            Row(
                f"bytes, {EVENT_RATE:.0f} events/s, the {name} view in the plot slot",
                f"<= {BYTES_TARGET // 1024} KB/s",
                kb(view.stream_rate),
                f"Pareto plot in the slot: {kb(figures.stream_rate)}",
                f"{view.stream_rate / figures.stream_rate:.2f}x" if figures.stream_rate else "",
                meets_target=view.stream_rate <= BYTES_TARGET,
            )
            for name, view in views.items()
        ),
        *(
            Row(
                f"idle with the {name} view: bytes to the terminal",
                "0 B/s",
                f"{view.idle_rate:.0f} B/s",
                meets_target=view.idle_rate == 0,
            )
            for name, view in views.items()
        ),
        Row(
            "idle: bytes to the terminal",
            "0 B/s",
            f"{figures.idle_rate:.0f} B/s",
            meets_target=figures.idle_rate == 0,
        ),
        Row("idle: CPU", "~0%", f"{figures.idle_cpu * 100:.1f}%", meets_target=figures.idle_cpu < 0.01),
    ]
    result.notes.append(
        f"{stream_seconds:.0f} s of streaming (the first second not counted), {idle_seconds:.0f} s idle; "
        "bytes are everything read from the pty master."
    )
    result.notes.append(
        "By screen region (diagnostic, from the cursor moves): streaming "
        + describe_regions(figures.stream_regions)
        + "; idle "
        + (describe_regions(figures.idle_regions) or "nothing")
        + "."
    )
    return result


if __name__ == "__main__":
    run_cli(bench)
