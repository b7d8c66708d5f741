"""Real ``materia-tui worker`` processes (and, for restarts, a redis-server of a test's own) for the
Celery executor's tests. Each test uses a queue of its own on the session's redis-server, so tests
never take each other's tasks."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import require_binary
from tests.support.redis_server import _free_port, _ping

CONSOLE_SCRIPT = Path(sys.executable).with_name("materia-tui")


def unique_queue() -> str:
    return f"materia-test-{uuid.uuid4().hex[:8]}"


@dataclass
class Worker:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def pool_pids(self) -> list[int]:
        """The worker's pool processes (its children)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        with contextlib.suppress(OSError):
            return [int(pid) for pid in children.read_text().split()]
        return []

    def alive(self) -> bool:
        return self.process.poll() is None


@dataclass
class WorkerFleet:
    """Worker processes on one broker and queue; every one is stopped at the end."""

    broker: str
    queue: str
    workers: list[Worker] = field(default_factory=list)
    _logdir: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="materia-workers-"))

    def start(self, name: str, *, concurrency: int = 1, extra: tuple[str, ...] = ()) -> Worker:
        log = Path(self._logdir) / f"{name}.log"
        full_name = f"{name}-{uuid.uuid4().hex[:6]}@test"
        process = subprocess.Popen(
            [str(CONSOLE_SCRIPT), "worker", "--broker", self.broker, "--queue", self.queue,
             "--concurrency", str(concurrency), "--name", full_name, *extra],
            stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        worker = Worker(full_name, process, log)
        self.workers.append(worker)
        return worker

    def wait_ready(self, app: Any, timeout: float = 30.0) -> None:
        """Until every started worker answers a ping (it consumes from its queue by then)."""
        names = {w.name for w in self.workers if w.alive()}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            replies = app.control.ping(timeout=0.5) or []
            answered = {name for reply in replies for name in reply}
            if names <= answered:
                return
            for worker in self.workers:
                if not worker.alive():
                    raise AssertionError(f"worker {worker.name} exited: {worker.log.read_text()[-2000:]}")
        raise AssertionError(f"workers not ready after {timeout} s: {names}")

    def stop(self) -> None:
        for worker in self.workers:
            if worker.alive():
                worker.process.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(worker.process.pid, signal.SIGKILL)
                worker.process.wait()
            with contextlib.suppress(ProcessLookupError):  # pool processes left behind, if any
                os.killpg(worker.process.pid, signal.SIGKILL)
        shutil.rmtree(self._logdir, ignore_errors=True)


@contextlib.contextmanager
def worker_fleet(broker: str, queue: str | None = None) -> Iterator[WorkerFleet]:
    fleet = WorkerFleet(broker, queue or unique_queue())
    try:
        yield fleet
    finally:
        fleet.stop()


class OwnRedis:
    """A redis-server of one test's own, on a fixed port so it can be restarted."""

    def __init__(self) -> None:
        self.binary = require_binary("redis-server")
        self.port = _free_port()
        self.workdir = tempfile.mkdtemp(prefix="materia-own-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.workdir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if _ping(self.port):
                return
            time.sleep(0.02)
        raise AssertionError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
