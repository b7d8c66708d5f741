"""``materia-tui publish``: publish JSON-lines events (and metadata) into Redis
(docs/PROTOCOL.md section 6)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import IO, Any

from materia_tui.cli.common import (
    add_campaign_id_argument,
    add_server_arguments,
    add_trial_grouping_arguments,
)
from materia_tui.cli.main import Subparsers, add_command
from materia_tui.errors import ExitCode, MateriaError, UsageError
from materia_tui.sanitize import clean

BATCH_SIZE = 500


class _IntermixedParser(argparse.ArgumentParser):
    """Lets the optional EVENTS positional come after options (``ID --redis URL events.jsonl``).

    Python 3.11's argparse binds an optional positional to nothing as soon as
    the first positional is seen, then rejects the file name that follows the
    options; intermixed parsing does not.
    """

    _parsing = False

    def parse_known_args(  # type: ignore[override]
        self, args: list[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if self._parsing:  # parse_known_intermixed_args calls back into parse_known_args
            return super().parse_known_args(args, namespace)
        self._parsing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._parsing = False


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "publish",
        (
            "Publish one event per line (JSON objects) to a campaign in Redis; seq, campaign_id and "
            "(when missing) timestamp are assigned here. Bad lines are reported on stderr with their "
            "line number and skipped; the exit code is then 1. With --from-optuna STORAGE --study NAME, "
            "follow an Optuna study instead and republish it continuously, into Redis or to a "
            "materia-tui serve (--url)."
        ),
        run,
    )
    add_campaign_id_argument(parser, "the campaign (--from-optuna: the study's name)", optional=True)
    parser.add_argument(
        "events",
        nargs="?",
        default=None,
        metavar="EVENTS.jsonl | -",
        help="events file, or - (or nothing) for stdin",
    )
    parser.add_argument("--redis", metavar="URL", help="Redis URL, e.g. redis://localhost:6379/0")
    parser.add_argument("--meta", metavar="campaign.json", help="campaign metadata to set first")
    parser.add_argument(
        "--status",
        choices=["pending", "running", "completed", "failed", "cancelled"],
        help="set the campaign status after publishing",
    )
    optuna = parser.add_argument_group("from an Optuna study (pip install 'materia-tui[optuna]')")
    optuna.add_argument("--from-optuna", metavar="STORAGE", help="follow a study of this storage (read only)")
    optuna.add_argument("--study", metavar="NAME", help="the study to follow")
    add_server_arguments(
        optuna,
        "publish to a materia-tui serve at this REST base URL instead of Redis (token: "
        "MATERIA_TOKEN, MATERIA_TOKEN_FILE or --token-file, minted with --publish)",
        "with --url: read the token from this file",
    )
    add_trial_grouping_arguments(optuna, n_trials_help="complete the campaign once N trials have finished")
    parser.__class__ = _IntermixedParser


def _read_meta(path: str, campaign_id: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            meta = json.load(handle)
    except OSError as exc:
        raise UsageError(f"Cannot read {path!r}: {exc.strerror}.") from None
    except ValueError as exc:
        raise UsageError(f"{path!r} is not JSON: {exc}.") from None
    if not isinstance(meta, dict):
        raise UsageError(f"{path!r} does not hold a JSON object.")
    if meta.setdefault("id", campaign_id) != campaign_id:
        raise UsageError(f"{path!r} describes campaign {clean(meta['id'], 80)!r}, not {campaign_id!r}.")
    return meta


def _lines(source: IO[str]) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(source, start=1):
        if line.strip():
            yield number, line


def run(args: argparse.Namespace) -> int:
    from materia_tui.protocol import is_valid_campaign_id

    if args.from_optuna is not None:
        from materia_tui.cli.publish_optuna import run_from_optuna

        return run_from_optuna(args)
    extra = [flag for flag, value in (("--study", args.study), ("--url", args.url), ("--batch", args.batch),
                                      ("--n-trials", args.n_trials)) if value is not None]
    if extra:
        raise UsageError(f"{extra[0]} goes with --from-optuna STORAGE.")
    if args.campaign_id is None or args.redis is None:
        raise UsageError("publish needs a CAMPAIGN_ID and --redis URL (or --from-optuna STORAGE).")
    if not is_valid_campaign_id(args.campaign_id):
        raise UsageError(f"{clean(args.campaign_id, 80)!r} is not a valid campaign id.")
    meta = _read_meta(args.meta, args.campaign_id) if args.meta else None
    if args.events in (None, "-"):
        return _publish(args, meta, sys.stdin)
    try:
        with open(args.events, encoding="utf-8") as handle:
            return _publish(args, meta, handle)
    except OSError as exc:
        raise UsageError(f"Cannot read {args.events!r}: {exc.strerror}.") from None


def _publish(args: argparse.Namespace, meta: dict[str, Any] | None, source: IO[str]) -> int:
    from redis.exceptions import RedisError

    from materia_tui.backend.publish import InvalidCampaign, InvalidEvent, Publisher

    campaign_id: str = args.campaign_id
    bad = 0
    published: list[int] = []
    try:
        publisher = Publisher(args.redis)
        with publisher:
            if meta is not None:
                try:
                    publisher.set_metadata(meta)
                except InvalidCampaign as exc:
                    raise UsageError(f"--meta: {exc}") from None
            batch: list[dict[str, Any]] = []
            for number, line in _lines(source):
                event = _event_of_line(number, line, campaign_id)
                if event is None:
                    bad += 1
                    continue
                batch.append(event)
                if len(batch) >= BATCH_SIZE:
                    published += publisher.publish_many(campaign_id, batch)
                    batch = []
            if batch:
                published += publisher.publish_many(campaign_id, batch)
            if args.status:
                publisher.set_status(campaign_id, args.status)
    except InvalidEvent as exc:  # _event_of_line validated already; kept for safety
        raise MateriaError(f"an event was refused: {exc}") from None
    except RedisError as exc:
        # The URL may carry a password: name only the failure.
        raise MateriaError(f"Redis failed: {type(exc).__name__}.") from None
    span = f" (seq {published[0]}..{published[-1]})" if published else ""
    print(f"published {len(published)} events to {campaign_id}{span}", file=sys.stderr)
    if bad:
        print(f"skipped {bad} bad line(s)", file=sys.stderr)
        return int(ExitCode.CAMPAIGN_FAILED)
    return int(ExitCode.OK)


def _event_of_line(number: int, line: str, campaign_id: str) -> dict[str, Any] | None:
    from materia_tui.backend.server.layout import InvalidEvent, event_body

    try:
        event = json.loads(line)
    except ValueError as exc:
        print(f"line {number}: not JSON ({clean(exc, 120)})", file=sys.stderr)
        return None
    if not isinstance(event, dict):
        print(f"line {number}: not a JSON object", file=sys.stderr)
        return None
    try:
        event_body(campaign_id, event)
    except InvalidEvent as exc:
        print(f"line {number}: {clean(exc, 200)}", file=sys.stderr)
        return None
    return event
