"""The evaluator's process-group leader: ``python .../backend/run/child.py MODE ...``.

Started by ``evaluation.evaluate`` in a process group of its own. It asks Linux
to send it SIGTERM when its parent dies (PR_SET_PDEATHSIG), and on SIGTERM kills
its whole group, so an evaluator, and every process the evaluator started, never
outlives the runner, even after ``kill -9`` of the runner.

Two modes:
  child exec ARGV...           run ARGV in this group; exit with its exit code
  child call module:function   import module (cwd on sys.path), call it with the
                               JSON object read from stdin, print the JSON result
Kept free of heavy imports: it starts once per evaluation.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

PARENT_PID_ENV = "MATERIA_EVALUATOR_PARENT"
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """SIGTERM on the parent's death; the handler takes the whole group down."""
    signal.signal(signal.SIGTERM, _kill_group)
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    expected = os.environ.get(PARENT_PID_ENV)
    # The parent may have died before prctl: then nobody will ever signal us.
    if expected is not None and str(os.getppid()) != expected:
        _kill_group(signal.SIGTERM, None)


def _kill_group(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        os.killpg(os.getpgrp(), signal.SIGKILL)
    finally:
        os._exit(128 + signum)


def _exec(argv: list[str]) -> int:
    """fork + exec + wait: no subprocess module to import (this runs once per evaluation)."""
    try:
        pid = os.posix_spawnp(argv[0], argv, os.environ)
    except OSError as exc:
        print(f"cannot start {argv[0]}: {exc.strerror or exc}", file=sys.stderr)
        return 127
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)  # the shell's convention
    return os.WEXITSTATUS(status)


def _call(target: str) -> int:
    import importlib
    import json
    import traceback

    module_name, _, function_name = target.partition(":")
    try:
        parameters = json.load(sys.stdin)
        function = getattr(importlib.import_module(module_name), function_name)
        result: Any = function(parameters)
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return 0
    try:
        text = json.dumps(result, allow_nan=True, default=_plain)
    except (TypeError, ValueError) as exc:
        print(json.dumps({"error": f"{target} returned something that is not JSON: {exc}"}))
        return 0
    print(text)
    return 0


def _plain(value: Any) -> Any:
    """numpy scalars and the like: anything with ``item()``."""
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def main(argv: list[str]) -> int:
    # Run as a script, sys.path[0] is this folder (config.py, space.py, ...): a user's module
    # of the same name must win, so the evaluator's folder takes its place.
    sys.path[0] = os.getcwd()
    _die_with_parent()
    if len(argv) >= 2 and argv[0] == "exec":
        return _exec(argv[1:])
    if len(argv) == 2 and argv[0] == "call":
        return _call(argv[1])
    print("usage: child exec ARGV... | child call module:function", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
