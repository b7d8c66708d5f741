"""``materia-tui publish --from-optuna STORAGE --study NAME (--redis URL | --url URL)``.

Follows the study (read only, as ``watch --optuna`` does) and republishes it
continuously as campaign events, so one process bridges a study to any number
of watchers on the WebSocket path. Ends once ``--n-trials`` trials have
finished (if given) and everything is published, else on Ctrl-C. A failing
server or storage is retried; nothing is lost or reordered meanwhile.

A restarted bridge republishes the study from its first trial under new
seqs; watchers' candidates (keyed by trial number), best values, front and
progress stay the same, only per-iteration counts double.
"""

from __future__ import annotations

import argparse
import sys
import time

from materia_tui.errors import MateriaError, UsageError
from materia_tui.sanitize import clean

RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0)


def run_from_optuna(args: argparse.Namespace) -> int:
    from materia_tui.integrations.optuna import ItemDelivery, Unavailable, make_publisher
    from materia_tui.protocol import is_valid_campaign_id
    from materia_tui.source.optuna import POLL_SECONDS, StudyFollower
    from materia_tui.source.optuna_storage import StorageTrouble

    _check(args)
    if args.campaign_id is not None and not is_valid_campaign_id(args.campaign_id):
        raise UsageError(f"{clean(args.campaign_id, 80)!r} is not a valid campaign id.")
    token, verify = _credentials(args)
    follower = StudyFollower(
        args.from_optuna, args.study, campaign_id=args.campaign_id, batch=args.batch, n_trials=args.n_trials
    )
    items = follower.poll()  # the first read: an unreadable storage or unknown study ends here
    publisher = make_publisher(args.url, args.redis, token, verify)
    delivery = ItemDelivery(publisher, follower.campaign_id)
    target = args.url or "Redis"
    _say(f"following study {clean(args.study, 80)!r}, publishing it as {follower.campaign_id} to {target}")
    failures = 0
    storage_note = ""
    try:
        while True:
            delivery.add(items)
            try:
                delivery.flush()
                failures = 0
            except Unavailable as exc:
                failures += 1
                if failures == 1:
                    _say(f"publishing paused, retrying: {clean(str(exc), 200)}")
                time.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS)) - 1])
            except ValueError as exc:  # an event the server refused: a bug, not worth retrying
                raise MateriaError(f"An event was refused: {clean(str(exc), 200)}") from None
            if follower.completed and delivery.settled:
                break
            time.sleep(POLL_SECONDS)
            try:
                items = follower.poll()
                storage_note = ""
            except StorageTrouble as exc:
                if str(exc) != storage_note:
                    storage_note = str(exc)
                    _say(f"storage: {clean(storage_note, 200)} Retrying.")
                items = []
    finally:
        follower.close()
        publisher.close()
        _say(f"published {delivery.published_events} events to {follower.campaign_id}")
    return 0


def _check(args: argparse.Namespace) -> None:
    if not args.study:
        raise UsageError("--from-optuna needs --study NAME.")
    if (args.redis is None) == (args.url is None):
        raise UsageError(
            "--from-optuna publishes to --redis URL or to --url URL (a materia-tui serve): give one."
        )
    for flag, value in (("--meta", args.meta), ("--status", args.status), ("EVENTS", args.events)):
        if value is not None:
            raise UsageError(f"{flag} does not go with --from-optuna (the study is the source).")


def _credentials(args: argparse.Namespace) -> tuple[str | None, bool | str]:
    """The token and TLS verification for --url (flags > environment > config file)."""
    if args.url is None:
        return None, True
    from materia_tui.cli.config import ConnectionFlags, resolve_settings

    settings = resolve_settings(ConnectionFlags(url=args.url, token_file=args.token_file))
    verify: bool | str = settings.ca_bundle or not settings.insecure
    return settings.token, verify


def _say(line: str) -> None:
    print(f"materia-tui: {line}", file=sys.stderr, flush=True)
