"""Late join at scale (issue 17): a big campaign's whole history from a real ``serve``.

    .venv/bin/python bench/bench_latejoin.py [--quick] [--no-redis] [--sizes 100000,1000000]

For each bus (memory; Redis too when ``redis-server`` is on the PATH, a server of its
own on a free port) and each size (200 iterations x 500 and x 5,000 candidates, the
campaign of ``bench/big_campaign.py``), against one ``serve`` process:

- bare (baseline): a plain httpx client pages ``/campaigns/ID/events`` (its default
  headers: gzip, JSON) and ``json.loads`` each page;
- source: ``materia_tui.source.WebSocketSource`` backfills into a ``CampaignState``
  until the campaign's end;
- plain: ``materia-tui watch ID --plain`` until it prints ``Done!``;
- json: ``materia-tui watch ID --json`` until it exits (one line per event, checked);

each in a fresh child process: wall time, ratio to bare, and the child's peak RSS
(``ru_maxrss`` from ``wait4``). Then the wire: the history paged once without and
once with gzip (JSON lines, as the source asks): pages, bytes on the wire, and
``serve``'s CPU time per page (from /proc; Redis's own CPU beside it).

Correctness fails the run: the bare client sees seqs 1..K in order, the state holds
every candidate and evaluation, and ``--plain`` ends with the campaign's totals.
``--quick`` (CI) runs the memory bus and Redis at 10 x 2,000 candidates (several
pages) and checks only that.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.big_campaign import Shape, events, post_http, publish_redis  # noqa: E402
from bench.common import BenchResult, Row, ensure_bytecode, render_table  # noqa: E402

CAMPAIGN = "big"
PLAIN_TARGET_RATIO = 1.5
RSS_TARGET_MB = {100_000: 100, 1_000_000: 250}
SCREEN_RSS_TARGET_MB = {100_000: 100, 1_000_000: 400}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
ROUNDS = 3  # of each client, interleaved, at sizes up to ROUNDS_UP_TO candidates (1 above)
ROUNDS_UP_TO = 200_000
# The code under test (``--tree``, e.g. an older checkout to compare with): serve, the
# clients and watch run from there; the campaign generator is this tree's.
TREE = Path(os.environ.get("BENCH_LATEJOIN_TREE", ROOT))
CLIENTS = ("bare", "identity", "source", "plain", "json", "screen", "wire")
OPTIONS = argparse.Namespace(url=None, only=list(CLIENTS), rounds=None)  # set by main()


# ----- children: each measurement in a fresh interpreter -------------------------


def child_bare(base_url: str, *, identity: bool = False) -> dict[str, Any]:
    import httpx

    start = time.perf_counter()
    cursor, candidates, in_order = 0, 0, True
    headers = {"Accept-Encoding": "identity"} if identity else None
    with httpx.Client(timeout=600.0, headers=headers) as client:
        while True:
            response = client.get(f"{base_url}/campaigns/{CAMPAIGN}/events", params={"after_seq": cursor})
            page = json.loads(response.content)
            for event in page["events"]:
                in_order = in_order and event["seq"] == cursor + 1
                cursor = event["seq"]
                candidates += len(event.get("candidates", ()))
            if not page["events"] or cursor >= page["last_seq"]:
                break
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "events": cursor, "candidates": candidates, "in_order": in_order}


def child_source(base_url: str) -> dict[str, Any]:
    from materia_tui.source.settings import ConnectionSettings
    from materia_tui.source.websocket import WebSocketSource
    from materia_tui.state import CampaignState
    from materia_tui.state.intake import apply_item

    async def fold() -> CampaignState:
        state = CampaignState(CAMPAIGN)
        source = WebSocketSource(CAMPAIGN, ConnectionSettings(base_url=base_url, max_retries=0))
        try:
            async for item in source:
                apply_item(state, item)
        finally:
            await source.aclose()
        return state

    gc.set_threshold(100_000, 50, 1000)  # as materia_tui.cli.main sets it for the monitor
    start = time.perf_counter()
    state = asyncio.run(fold())
    seconds = time.perf_counter() - start
    gc.collect()
    return {
        "seconds": seconds,
        "events": state.last_seq,
        "candidates": _candidate_count(state),
        "evaluations": state.evaluations,
        "rss_after_mb": _rss_now_mb(),
    }


def _candidate_count(state: Any) -> int:
    # The store is being reworked (issue 17): ask it the way it answers.
    count = getattr(state, "candidate_count", None)
    if isinstance(count, int):
        return count
    return len(state.candidates)


def _rss_now_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_child(*argv: str) -> tuple[Any, float]:
    """(the child's JSON result, its peak RSS in MB)."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", *argv], stdout=subprocess.PIPE, cwd=TREE, text=True
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"child {argv[0]} exited with {process.returncode}")
    return json.loads(output), usage.ru_maxrss / 1024


def run_plain(base_url: str) -> tuple[float, float, str]:
    """(seconds to the Done! line, peak RSS in MB, that line)."""
    command = [sys.executable, "-m", "materia_tui", "watch", CAMPAIGN, "--plain", "--url", base_url]
    start = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=TREE, text=True
    )
    assert process.stdout is not None
    done_line, seconds = "", float("nan")
    for line in process.stdout:
        if line.startswith("Done!"):
            seconds, done_line = time.perf_counter() - start, line.strip()
    _, _, usage = os.wait4(process.pid, 0)
    return seconds, usage.ru_maxrss / 1024, done_line


def run_json(base_url: str) -> tuple[float, float, tuple[int, int | None]]:
    """(seconds until it exits, peak RSS in MB, (lines, seq of the last line))."""
    command = [sys.executable, "-m", "materia_tui", "watch", CAMPAIGN, "--json", "--url", base_url]
    start = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=TREE, text=True
    )
    assert process.stdout is not None
    lines, last = 0, ""
    for line in process.stdout:
        lines, last = lines + 1, line
    _, _, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    return seconds, usage.ru_maxrss / 1024, (lines, json.loads(last).get("seq") if last else None)


def run_fullscreen(base_url: str, shape: Shape) -> tuple[float, float] | None:
    """(seconds until the final screen is on it, peak RSS in MB) of the full-screen
    ``watch`` in a 120x40 tmux pane of a private tmux server; None without tmux."""
    tmux = shutil.which("tmux")
    if tmux is None:
        return None
    socket_name = f"bench-latejoin-{os.getpid()}"
    python, url = shlex.quote(sys.executable), shlex.quote(base_url)
    command = f"exec {python} -m materia_tui watch {CAMPAIGN} --url {url}"
    base = [tmux, "-L", socket_name]
    env = {**os.environ, "TERM": "xterm-256color"}
    wanted = final_screen(shape)
    start = time.perf_counter()
    subprocess.run([*base, "new-session", "-d", "-x", "120", "-y", "40", "-c", str(TREE), command],
                   check=True, env=env)
    seconds, peak, screen = float("nan"), float("nan"), ""
    try:
        pid = int(subprocess.check_output([*base, "list-panes", "-F", "#{pane_pid}"], text=True).split()[0])
        deadline = start + 1800
        while time.perf_counter() < deadline:
            screen = subprocess.check_output([*base, "capture-pane", "-p"], text=True)
            if all(text in screen for text in wanted):
                seconds = time.perf_counter() - start
                break
            time.sleep(0.1)
        peak = _peak_rss_mb(pid)
    finally:
        subprocess.run([*base, "kill-server"], check=False, stderr=subprocess.DEVNULL)
    if seconds != seconds:
        missing = [text for text in wanted if text not in screen]
        print(f"full screen: never showed {missing}; last screen:\n{screen}", file=sys.stderr)
    return seconds, peak


_FINAL_SCREENS: dict[Shape, list[str]] = {}


def final_screen(shape: Shape) -> list[str]:
    """Texts the monitor's final screen of ``shape``'s campaign shows, worked out from the
    generated events without materia-tui's state: the last iteration and 100%, every
    evaluation counted in the progress panel, the table and the Pareto plot (which is
    drawn last), the best value of each objective and its candidate, the size of the
    front, the newest candidate in the (following) table, and the convergence.

    Worked out in a child process: at a million candidates it holds ~300 MB, which this
    process must not (children forked from it would report it as their peak RSS)."""
    if shape not in _FINAL_SCREENS:
        spec = f"{shape.iterations},{shape.candidates},{shape.seed}"
        texts, _ = run_child("final-screen", spec)
        _FINAL_SCREENS[shape] = texts
    return _FINAL_SCREENS[shape]


def child_final_screen(spec: str) -> list[str]:
    """``final_screen``'s texts, in the child (``spec``: iterations,candidates,seed)."""
    from materia_tui.output.numbers import format_value

    iterations, candidates, seed = (int(part) for part in spec.split(","))
    shape = Shape(iterations, candidates, seed)

    best: dict[str, tuple[float, str]] = {}
    points: list[tuple[float, float]] = []
    for text in events(shape):
        if not text.startswith('{"type":"candidates_evaluated"'):
            continue
        for result in json.loads(text)["results"]:
            objectives = result["objectives"]
            for name, value in objectives.items():
                if name not in best or value > best[name][0]:  # both maximized; the first of equals
                    best[name] = (value, result["candidate_id"])
            points.append((objectives["water_flux"], objectives["salt_rejection"]))
    points.sort(key=lambda point: (-point[0], -point[1]))
    front, highest = 0, float("-inf")
    for _, rejection in points:  # by flux descending: on the front if it beats every higher flux's rejection
        if rejection > highest:
            front, highest = front + 1, rejection
    total, last = shape.total_candidates, shape.iterations
    wanted = [
        f"iteration {last}/{last}", "100%", f"evaluations {total:,}", f"candidates {total:,}",
        f"{total:,} measured · {front} on front", f"c{last}-{shape.candidates - 1} ", "CONVERGED",
    ]
    for name, (value, candidate_id) in best.items():
        wanted += [f"best {name} {format_value(value)}", f"({candidate_id})"]
    return wanted


def _peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# ----- the servers ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def redis_server() -> Iterator[tuple[str, int]]:
    """(url, pid) of a redis-server of this bench's own, on a free port."""
    binary = shutil.which("redis-server")
    assert binary is not None
    workdir = tempfile.mkdtemp(prefix="bench-latejoin-redis-")
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", workdir],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", process.pid
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def serve(*args: str) -> Iterator[tuple[str, int]]:
    """(REST base URL, pid) of a ``materia-tui serve --no-auth`` child."""
    process = subprocess.Popen(
        [sys.executable, "-m", "materia_tui", "serve", "--port", "0", "--no-auth", *args],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=TREE, text=True,
    )
    assert process.stdout is not None
    try:
        line = process.stdout.readline().strip()
        if not line.startswith("serving "):
            raise RuntimeError(f"serve did not start: {line!r}")
        yield line.removeprefix("serving "), process.pid
    finally:
        process.terminate()
        process.wait(10)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def wire_pass(base_url: str, pids: list[int], *, gzip: bool) -> dict[str, float]:
    """Page the whole history once as the source does (JSON lines); bytes and server CPU."""
    import httpx

    headers = {"Accept": "application/x-ndjson", "Accept-Encoding": "gzip" if gzip else "identity"}
    cpu_before = [cpu_seconds(pid) for pid in pids]
    pages, wire, body, cursor = 0, 0, 0, 0
    start = time.perf_counter()
    with httpx.Client(timeout=600.0, headers=headers) as client:
        while True:
            response = client.get(
                f"{base_url}/campaigns/{CAMPAIGN}/events", params={"after_seq": cursor, "limit": 1000}
            )
            pages += 1
            wire += response.num_bytes_downloaded
            body += len(response.content)
            if response.headers.get("content-type", "").startswith("application/x-ndjson"):
                count = response.content.count(b"\n") + 1 if response.content else 0
                last_seq = int(response.headers["X-Last-Seq"])
            else:  # a server without JSON lines (an older serve, for --tree)
                page = json.loads(response.content)
                count, last_seq = len(page["events"]), page["last_seq"]
            cursor += count
            if not count or cursor >= last_seq:
                break
    seconds = time.perf_counter() - start
    cpu = [cpu_seconds(pid) - before for pid, before in zip(pids, cpu_before, strict=True)]
    cpu = cpu or [float("nan")]  # a serve of someone else's (--url): its CPU unknown
    return {"pages": pages, "wire": wire, "body": body, "seconds": seconds, "serve_cpu": cpu[0],
            "redis_cpu": cpu[1] if len(cpu) > 1 else 0.0}


# ----- one bus, one size --------------------------------------------------------------


def measure(result: BenchResult, bus: str, shape: Shape, quick: bool) -> None:
    label = f"{bus}, {shape.total_candidates:,} candidates"
    if bus.startswith("http"):  # a serve already holding the campaign (``--url``)
        _measure_on(result, label, bus, [], shape, quick)
    elif bus == "redis":
        with redis_server() as (redis_url, redis_pid):
            started = time.perf_counter()
            publish_redis(redis_url, CAMPAIGN, shape)  # before serve: no live fan-out of the load
            result.notes.append(f"{label}: published in {time.perf_counter() - started:.1f} s.")
            with serve("--redis", redis_url) as (base_url, serve_pid):
                _measure_on(result, label, base_url, [serve_pid, redis_pid], shape, quick)
    else:
        with serve() as (base_url, serve_pid):
            started = time.perf_counter()
            post_http(base_url, CAMPAIGN, shape)
            result.notes.append(f"{label}: posted in {time.perf_counter() - started:.1f} s.")
            _measure_on(result, label, base_url, [serve_pid], shape, quick)


def _measure_on(
    result: BenchResult, label: str, base_url: str, pids: list[int], shape: Shape, quick: bool
) -> None:
    only = set(OPTIONS.only)
    if "wire" in only or "bare" in only:
        wire_pass(base_url, pids, gzip=False)  # warm: the server's one-time checks of big frames
    rounds = OPTIONS.rounds or (1 if quick or shape.total_candidates > ROUNDS_UP_TO else ROUNDS)
    runs: dict[str, list[Any]] = {client: [] for client in CLIENTS}
    for _ in range(rounds):  # interleaved, best of each: the least noisy estimate on a shared box
        if "bare" in only or quick:
            runs["bare"].append(run_child("bare", base_url))
        if "identity" in only and not quick:
            runs["identity"].append(run_child("bare-identity", base_url))
        if "source" in only or quick:
            runs["source"].append(run_child("source", base_url))
        if "plain" in only or quick:
            runs["plain"].append(run_plain(base_url))
        if "json" in only or quick:
            runs["json"].append(run_json(base_url))
        if "screen" in only and not quick:
            screen = run_fullscreen(base_url, shape)
            if screen is not None:
                runs["screen"].append(screen)
    _check(result, label, shape, runs)
    if quick:
        return
    result.rows += _rows(label, shape, runs)
    if "wire" in only:
        for gzip in (False, True):
            result.rows.append(_wire_row(label, wire_pass(base_url, pids, gzip=gzip), len(pids) > 1, gzip))


def _check(result: BenchResult, label: str, shape: Shape, runs: dict[str, list[Any]]) -> None:
    for bare, _ in runs["bare"] + runs["identity"]:
        complete = bare["in_order"] and bare["events"] == shape.total_events
        complete = complete and bare["candidates"] == shape.total_candidates
        result.check(complete, f"{label}: the bare client saw {bare}")
    for source, _ in runs["source"]:
        result.check(
            source["candidates"] == shape.total_candidates and source["evaluations"] == shape.total_candidates
            and source["events"] == shape.total_events,
            f"{label}: the state holds {source}",
        )
    expected = f"Done! {shape.iterations} iterations, {shape.total_candidates} evaluations"
    for _, _, done in runs["plain"]:
        result.check(done == expected, f"{label}: --plain ended with {done!r}, not {expected!r}")
    for _, _, (lines, last_seq) in runs["json"]:
        result.check(
            lines == shape.total_events and last_seq == shape.total_events,
            f"{label}: --json printed {lines} lines (last seq {last_seq}), not {shape.total_events}",
        )
    for seconds, _ in runs["screen"]:
        result.check(seconds == seconds, f"{label}: the full screen never showed the final state")


def _rows(label: str, shape: Shape, runs: dict[str, list[Any]]) -> list[Row]:
    """The table's rows: the best of each client's rounds, each beside the best bare run."""
    if not runs["bare"]:
        return []
    rows: list[Row] = []
    bare, bare_rss = min(runs["bare"], key=lambda run: run[0]["seconds"])
    base = bare["seconds"]
    all_bare = ", ".join(f"{run['seconds']:.2f}" for run, _ in runs["bare"])
    rows.append(Row(f"{label}: bare httpx + json.loads (peak RSS {bare_rss:.0f} MB; rounds: {all_bare} s)",
                    "baseline", f"{base:.2f} s", f"{base:.2f} s", "1.00"))
    if runs["identity"]:
        identity = min(run[0]["seconds"] for run in runs["identity"])
        rows.append(Row(
            f"{label}: bare httpx + json.loads, Accept-Encoding: identity (as the source asks on loopback)",
            "", f"{identity:.2f} s", f"{base:.2f} s", f"{identity / base:.2f}"))
    if runs["source"]:
        source, source_rss = min(runs["source"], key=lambda run: run[0]["seconds"])
        rows += [
            Row(f"{label}: source backfill into CampaignState", "", f"{source['seconds']:.2f} s",
                f"{base:.2f} s", f"{source['seconds'] / base:.2f}"),
            Row(f"{label}: source peak RSS (after gc: {source['rss_after_mb']:.0f} MB)", "",
                f"{source_rss:.0f} MB"),
        ]
    rss_target = RSS_TARGET_MB.get(shape.total_candidates)
    if runs["plain"]:
        plain_seconds, _, _ = min(runs["plain"])
        plain_rss = max(run[1] for run in runs["plain"])
        rows += [
            Row(f"{label}: watch --plain to Done!{_rounds(runs['plain'])}", f"<= {PLAIN_TARGET_RATIO}x bare",
                f"{plain_seconds:.2f} s", f"{base:.2f} s", f"{plain_seconds / base:.2f}",
                plain_seconds <= PLAIN_TARGET_RATIO * base),
            Row(f"{label}: watch --plain peak RSS (the highest of the rounds{_rss_rounds(runs['plain'])})",
                f"<= {rss_target} MB" if rss_target else "",
                f"{plain_rss:.0f} MB", meets_target=plain_rss <= rss_target if rss_target else None),
        ]
    if runs["json"]:
        json_seconds = min(run[0] for run in runs["json"])
        json_rss = max(run[1] for run in runs["json"])
        rows.append(
            Row(f"{label}: watch --json to its last line and exit{_rounds(runs['json'])} (peak RSS "
                f"{json_rss:.0f} MB)", f"<= {PLAIN_TARGET_RATIO}x bare", f"{json_seconds:.2f} s",
                f"{base:.2f} s", f"{json_seconds / base:.2f}", json_seconds <= PLAIN_TARGET_RATIO * base),
        )  # fmt: skip
    if runs["screen"]:
        screen_seconds = min(run[0] for run in runs["screen"])
        screen_rss = max(run[1] for run in runs["screen"])
        screen_target = SCREEN_RSS_TARGET_MB.get(shape.total_candidates)
        rows += [
            Row(f"{label}: watch (full screen, 120x40) until the final screen is on it (last iteration, "
                f"100%, counts, best values, front, table){_rounds(runs['screen'])}",
                f"<= {PLAIN_TARGET_RATIO}x bare", f"{screen_seconds:.2f} s",
                f"{base:.2f} s", f"{screen_seconds / base:.2f}", screen_seconds <= PLAIN_TARGET_RATIO * base),
            Row(f"{label}: watch (full screen) peak RSS (the highest of the rounds"
                f"{_rss_rounds(runs['screen'])})",
                f"<= {screen_target} MB" if screen_target else "", f"{screen_rss:.0f} MB",
                meets_target=screen_rss <= screen_target if screen_target else None),
        ]
    return rows


def _rounds(runs: list[Any]) -> str:
    return f" (rounds: {', '.join(f'{run[0]:.2f}' for run in runs)} s)" if len(runs) > 1 else ""


def _rss_rounds(runs: list[Any]) -> str:
    return f": {', '.join(f'{run[1]:.0f}' for run in runs)} MB" if len(runs) > 1 else ""


def _wire_row(label: str, wire: dict[str, float], with_redis: bool, gzip: bool) -> Row:
    pages = wire["pages"]
    redis_cpu = f", Redis {wire['redis_cpu'] / pages * 1000:.1f} ms" if with_redis else ""
    return Row(
        f"{label}: history {'gzip' if gzip else 'identity'}, {pages:.0f} pages",
        "",
        f"{wire['wire'] / 2**20:.1f} MB on the wire ({wire['body'] / 2**20:.1f} MB of JSON); "
        f"serve CPU {wire['serve_cpu'] / pages * 1000:.1f} ms/page{redis_cpu}; "
        f"client {wire['seconds'] / pages * 1000:.1f} ms/page",
    )


def bench(quick: bool, use_redis: bool, sizes: list[int]) -> BenchResult:
    ensure_bytecode(TREE)
    result = BenchResult("Late join at scale (bench_latejoin.py)")
    shapes = [Shape(10, 2000)] if quick else [Shape(200, size // 200) for size in sizes]
    buses = [OPTIONS.url] if OPTIONS.url else ["memory", "redis"] if use_redis else ["memory"]
    for shape in shapes:
        for bus in buses:
            measure(result, bus, shape, quick)
    if not use_redis:
        result.notes.append("Redis skipped (no redis-server on the PATH, or --no-redis).")
    if not quick:
        result.notes.append(
            f"Each client in a fresh process against the same serve, best of {ROUNDS} interleaved rounds "
            f"up to "
            f"{ROUNDS_UP_TO:,} candidates (one above); peak RSS is the child's ru_maxrss. "
            "serve CPU per page is measured while paging the whole history once, warm."
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a small campaign, correctness only (CI)")
    parser.add_argument("--no-redis", action="store_true", help="the memory bus only")
    parser.add_argument("--sizes", default="100000,1000000", help="candidates, comma-separated")
    parser.add_argument("--tree", type=Path, help="run serve and the clients from this checkout")
    parser.add_argument("--url", help="measure against this running serve (campaign 'big' of one --sizes)")
    parser.add_argument("--only", default=",".join(CLIENTS), help=f"which clients, of {','.join(CLIENTS)}")
    parser.add_argument("--rounds", type=int, help="rounds of each client (default: 3 up to 200k, then 1)")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    OPTIONS.url, OPTIONS.only, OPTIONS.rounds = args.url, args.only.split(","), args.rounds
    if args.tree:
        global TREE
        TREE = args.tree.resolve()
        os.environ["BENCH_LATEJOIN_TREE"] = str(TREE)
    if args.child:
        sys.path.insert(0, str(TREE))
        mode, url = args.child
        outcome: object
        if mode == "final-screen":
            outcome = child_final_screen(url)
        elif mode == "source":
            outcome = child_source(url)
        else:
            outcome = child_bare(url, identity=mode == "bare-identity")
        print(json.dumps(outcome))
        return
    use_redis = not args.no_redis and shutil.which("redis-server") is not None
    sizes = [int(size) for size in args.sizes.split(",")]
    result = bench(args.quick, use_redis, sizes)
    print(render_table(result))
    sys.exit(1 if result.failures else 0)


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
