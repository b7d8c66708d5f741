"""``materia-tui worker``: a Celery worker for ``run --executor celery`` (docs/celery.md).

A thin wrapper around ``celery worker`` (the app's ``worker_main``): the
materia-tui app and task, late acknowledgement, one task per pool slot, and a
pool whose processes (and their evaluators) die with the worker.
"""

from __future__ import annotations

import argparse
import os
import socket
from typing import Any

from materia_tui.cli.main import Subparsers, add_command
from materia_tui.errors import ExitCode, UsageError

DEFAULT_QUEUE = "materia"  # = celery_app.DEFAULT_QUEUE (not imported here: this module loads for --help)


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "worker",
        "Start a Celery worker that runs the evaluations of campaigns started with "
        "`materia-tui run CONFIG --executor celery --broker URL`. The evaluator's command or "
        "module must exist on this machine at the config folder's path (docs/celery.md).",
        run,
    )
    parser.add_argument("--broker", metavar="URL", required=True,
                        help="the Redis broker, e.g. redis://HOST:6379/1 (the runner's --broker)")
    parser.add_argument("--concurrency", metavar="N", type=int, default=None,
                        help="evaluations at once (default: the number of CPUs)")
    parser.add_argument("--queue", metavar="NAME", default=DEFAULT_QUEUE,
                        help=f"the queue to take evaluations from (default: {DEFAULT_QUEUE})")
    parser.add_argument("--name", metavar="NAME", default=None,
                        help="this worker's name (default: materia-PID@HOST)")
    parser.add_argument("--visibility-timeout", metavar="SECONDS", type=float, default=None,
                        help="requeue any task a worker took and never acknowledged after this long "
                             "(default 21600, 6 h; keep it above the longest evaluation's timeout; a runner "
                             "requeues its own campaign's sooner)")
    parser.add_argument("--loglevel", default="WARNING", help="Celery's log level (default: WARNING)")


def run(args: argparse.Namespace) -> int:
    concurrency = args.concurrency if args.concurrency is not None else (os.cpu_count() or 1)
    if concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if not str(args.broker).startswith(("redis://", "rediss://")):
        raise UsageError(f"--broker must be a redis:// or rediss:// URL, not {args.broker!r}")
    try:
        from celery.signals import worker_process_init

        from materia_tui.backend.run import celery_app
        from materia_tui.backend.run.celery_executor import display_url
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in ("celery", "kombu", "billiard", "redis"):
            raise UsageError("the worker needs the celery extra: pip install 'materia-tui[celery]'") from None
        raise
    visibility = args.visibility_timeout or celery_app.WORKER_VISIBILITY_TIMEOUT
    app = celery_app.make_app(args.broker, queue=args.queue, visibility_timeout=visibility)
    name = args.name or f"materia-{os.getpid()}@{socket.gethostname()}"
    os.environ[celery_app.WORKER_NAME_ENV] = name  # evaluators see which worker runs them
    worker_process_init.connect(_die_with_worker, weak=False)
    print(
        f"materia-tui worker {name}: taking evaluations from queue {args.queue!r} on "
        f"{display_url(args.broker)}, {concurrency} at a time (Ctrl-C stops it)",
        flush=True,
    )
    argv = [
        "worker", f"--concurrency={concurrency}", f"--queues={args.queue}", f"--hostname={name}",
        f"--loglevel={args.loglevel}", "--pool=prefork", "--without-gossip", "--without-mingle",
        "--without-heartbeat",
    ]
    try:
        app.worker_main(argv)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else int(ExitCode.OK)
    return int(ExitCode.OK)


def _die_with_worker(**_kwargs: Any) -> None:
    from materia_tui.backend.run.celery_app import die_with_worker

    die_with_worker()
