"""One evaluation: the candidate's parameters in, objective values (or a reason for failing) out.

``evaluate`` is synchronous and never raises: it runs in a thread of the local
executor or in a Celery worker. The evaluator runs under ``child.py``, the
leader of a process group of its own, so a timeout or a cancel kills the
evaluator and everything it started, and the runner's death (even ``kill -9``)
takes them down too (PR_SET_PDEATHSIG on Linux).

The protocol with the evaluator: the parameters as one JSON object on stdin;
MATERIA_CAMPAIGN_ID, MATERIA_CANDIDATE_ID, MATERIA_ITERATION in the environment;
cwd = the config's folder; one JSON object on stdout: objective values, and
optionally ``"feasible": false`` or ``"error": "..."``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Final

from materia_tui.backend.run.child import PARENT_PID_ENV
from materia_tui.sanitize import clean

ERROR_LENGTH: Final = 300  # characters of a failure reason
STDERR_LINES: Final = 3  # last lines of stderr quoted in a failure reason
KILL_GRACE_SECONDS: Final = 5.0
CANCELLED: Final = "cancelled"  # the error of an evaluation stopped by cancel (not a real failure)

ParameterValue = str | int | float | bool
CHILD_SCRIPT: Final = os.path.join(os.path.dirname(os.path.abspath(__file__)), "child.py")


@dataclass(frozen=True, slots=True)
class EvaluatorSpec:
    """From the config's ``evaluator:`` section."""

    command: tuple[str, ...] | str | None  # argv list, or a string run by the shell
    python: str | None  # "module:function", module found next to the config
    timeout: float  # seconds per evaluation
    workdir: str  # the config's folder (absolute)


@dataclass(frozen=True, slots=True)
class EvaluationTask:
    campaign_id: str
    candidate_id: str
    iteration: int
    parameters: dict[str, ParameterValue]
    evaluator: EvaluatorSpec


@dataclass(frozen=True, slots=True)
class EvaluationOutcome:
    candidate_id: str
    objectives: dict[str, float]  # empty when failed
    feasible: bool
    error: str | None  # one cleaned sentence
    duration: float  # seconds
    worker: str | None = None  # host/worker name when known

    @property
    def failed(self) -> bool:
        return self.error is not None


class _RunningGroups:
    """Process groups of the evaluations running in this process, so cancel can kill them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: set[int] = set()
        self.cancelled: set[int] = set()

    def add(self, pgid: int) -> None:
        with self._lock:
            self._groups.add(pgid)

    def discard(self, pgid: int) -> bool:
        """Forget ``pgid``; whether it was killed by ``kill_all``."""
        with self._lock:
            self._groups.discard(pgid)
            was_cancelled = pgid in self.cancelled
            self.cancelled.discard(pgid)
            return was_cancelled

    def kill_all(self) -> int:
        with self._lock:
            groups = list(self._groups)
            self.cancelled.update(groups)
        for pgid in groups:
            _kill_group(pgid)
        return len(groups)


RUNNING: Final = _RunningGroups()


def kill_running_evaluations() -> int:
    """Kill the process group of every evaluation running in this process; how many."""
    return RUNNING.kill_all()


def evaluate(task: EvaluationTask) -> EvaluationOutcome:
    started = time.monotonic()
    try:
        objectives, feasible, error = _run(task)
    except Exception as exc:  # never raise: one failed candidate, not a dead campaign
        objectives, feasible, error = {}, False, f"evaluator could not run: {type(exc).__name__}: {exc}"
    if error is not None:
        objectives, feasible, error = {}, False, clean(error, ERROR_LENGTH)
    return EvaluationOutcome(
        candidate_id=task.candidate_id,
        objectives=objectives,
        feasible=feasible,
        error=error,
        duration=round(time.monotonic() - started, 3),
        worker=socket.gethostname(),
    )


def child_argv(spec: EvaluatorSpec) -> list[str]:
    # child.py runs as a script: it imports nothing of this package, so the evaluator's
    # environment needs no PYTHONPATH of ours.
    leader = [sys.executable, CHILD_SCRIPT]
    if spec.python is not None:
        return [*leader, "call", spec.python]
    leader.insert(1, "-S")  # a leader that only execs needs no site-packages
    if isinstance(spec.command, str):
        return [*leader, "exec", "/bin/sh", "-c", spec.command]
    if spec.command:
        return [*leader, "exec", *spec.command]
    raise ValueError("the evaluator has neither a command nor a python function")


def _run(task: EvaluationTask) -> tuple[dict[str, float], bool, str | None]:
    spec = task.evaluator
    env = {
        **os.environ,
        "MATERIA_CAMPAIGN_ID": task.campaign_id,
        "MATERIA_CANDIDATE_ID": task.candidate_id,
        "MATERIA_ITERATION": str(task.iteration),
        PARENT_PID_ENV: str(os.getpid()),
    }
    process = subprocess.Popen(
        child_argv(spec),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=spec.workdir,
        env=env,
        start_new_session=True,
    )
    RUNNING.add(process.pid)
    try:
        payload = json.dumps(task.parameters).encode()
        try:
            stdout, stderr = process.communicate(payload, timeout=spec.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            _reap(process)
            return {}, False, f"timed out after {_seconds(spec.timeout)}"
        finally:
            _kill_group(process.pid)  # whatever the evaluator left behind in its group
    finally:
        cancelled = RUNNING.discard(process.pid)
    if cancelled:
        return {}, False, CANCELLED
    return _interpret(process.returncode, stdout, stderr)


def _interpret(returncode: int, stdout: bytes, stderr: bytes) -> tuple[dict[str, float], bool, str | None]:
    if returncode != 0:
        reason = f"exited with status {returncode}" if returncode > 0 else _signal_reason(returncode)
        tail = _last_lines(stderr)
        return {}, False, f"{reason}: {tail}" if tail else reason
    result = _parse_output(stdout)
    if isinstance(result, str):
        tail = _last_lines(stderr)
        return {}, False, f"{result} (stderr: {tail})" if tail else result
    return _objectives(result)


def _parse_output(stdout: bytes) -> dict[str, Any] | str:
    text = stdout.decode("utf-8", errors="replace").strip()
    if not text:
        return "printed nothing on stdout (expected one JSON object)"
    candidates = [text]
    last_line = text.splitlines()[-1].strip()
    if last_line != text:
        candidates.append(last_line)  # progress lines before the result are tolerated
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
        return f"printed {type(value).__name__} JSON, not a JSON object: {clean(candidate, 80)}"
    return f"output is not a JSON object: {clean(last_line, 80)}"


def _objectives(result: dict[str, Any]) -> tuple[dict[str, float], bool, str | None]:
    error = result.get("error")
    if error is not None and error is not False:
        return {}, False, str(error) or "the evaluator reported an error"
    feasible = result.get("feasible", True)
    if not isinstance(feasible, bool):
        return {}, False, f'"feasible" must be true or false, not {clean(repr(feasible), 40)}'
    objectives: dict[str, float] = {}
    for name, value in result.items():
        if name in ("feasible", "error"):
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue  # extra fields (notes, units) are allowed; only numbers are objectives
        if not math.isfinite(value):
            return {}, False, f"{clean(name, 60)} is {value}, not a finite number"
        objectives[name] = float(value)
    return objectives, feasible, None


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _reap(process: subprocess.Popen[bytes]) -> None:
    try:
        process.communicate(timeout=KILL_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _last_lines(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode("utf-8", errors="replace").splitlines() if line.strip()]
    return " | ".join(lines[-STDERR_LINES:])


def _signal_reason(returncode: int) -> str:
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = f"signal {-returncode}"
    return f"killed by {name}"


def _seconds(value: float) -> str:
    return f"{value:g} s"
