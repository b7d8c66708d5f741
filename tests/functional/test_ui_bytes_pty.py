"""Bytes ``materia-tui watch`` writes to a real terminal (a pty this test owns, 120x40).

The monitor runs against a ``ScriptedServer`` on 127.0.0.1; every byte it
writes is read from the pty master and attributed to a screen region by its
cursor moves (``bench/bench_terminal.py`` does the same for the benchmark).
The assertions count bytes, never durations: once nothing arrives, nothing
is written at all (times on screen are clock times, or "as of the
last event"); while events stream, each costs a bounded number of bytes (a full
repaint of the table alone is ~6 KB; before the bounded refresh an event cost
~18 KB).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bench.bench_terminal import COLUMNS, LINES, bytes_by_region, spawn_watch
from tests.support.fake_source import CampaignScript, campaign_metadata, event_dicts
from tests.support.scripted_server import ScriptedServer, ServerThread

CAMPAIGN = "camp-pty"
BYTES_PER_EVENT = 4096


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_idle_monitor_writes_nothing_and_an_event_costs_bounded_bytes() -> None:
    assert (COLUMNS, LINES) == (120, 40)  # the regions of bench_terminal are for this size
    script = CampaignScript(CAMPAIGN)
    history = event_dicts(script.iteration(1))
    live = [e for n in range(2, 7) for e in event_dicts(script.iteration(n))]
    meta = campaign_metadata(CAMPAIGN, "pty bytes", max_iterations=100).model_dump(
        mode="json", exclude_none=True
    )
    server = ScriptedServer()
    server.add_campaign(CAMPAIGN, meta=meta, events=history)
    with ServerThread(server) as thread:
        child = spawn_watch(CAMPAIGN, server.base_url)
        try:
            first_id = next(e for e in history if "candidates" in e)["candidates"][0]["id"]
            assert child.wait_for_text(first_id, 30) is not None, "history never shown"

            def quiet_for(seconds: float) -> bool:
                """Nothing but the status line written during the last ``seconds``."""
                now = time.perf_counter()
                regions = bytes_by_region(child.raw_between(now - seconds, now + 1))
                return not any(n for name, n in regions.items() if name != "status bar")

            # Start-up layout, toasts and throttled redraws settle first.
            wait_until(lambda: quiet_for(1.5), 20, "the first screen to settle")

            began = time.perf_counter()
            for event in live:  # ~10 events a second, like bench_terminal
                thread.call(server.publish(CAMPAIGN, event))
                time.sleep(0.1)
            last_id = [e for e in live if "candidates" in e][-1]["candidates"][-1]["id"]
            assert child.wait_for_text(last_id, 15) is not None, "the last candidate never shown"
            wait_until(lambda: quiet_for(2.5), 20, "the stream's last redraws")
            streamed = child.bytes_between(began, time.perf_counter())
            assert streamed <= BYTES_PER_EVENT * len(live), (streamed, len(live))

            idle_from = time.perf_counter()
            time.sleep(3.5)  # a window of idle time to count bytes in (no result is awaited)
            idle_to = time.perf_counter()
            # Not a byte: the times on screen are clock times and "as of the last
            # event", and the "quiet" marker's first step is a minute away.
            regions = bytes_by_region(child.raw_between(idle_from, idle_to))
            assert child.bytes_between(idle_from, idle_to) == 0, regions
        finally:
            child.stop()
