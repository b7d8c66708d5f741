"""Options shared by the subcommands that talk to a backend or watch a campaign."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from materia_tui.cli.config import ENV_TOKEN, ENV_URL, ConnectionFlags, resolve_settings
from materia_tui.errors import UsageError
from materia_tui.source.settings import ConnectionSettings


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection (flags > environment > config file)")
    url_help = f"REST base URL, e.g. https://api.matcraft.ai/api/v1 (env {ENV_URL})"
    add_server_arguments(group, url_help, "read the JWT from this file")
    group.add_argument(
        "--token",
        help=f"JWT (visible in the process list: prefer env {ENV_TOKEN} or --token-file)",
    )
    group.add_argument("--ca-bundle", metavar="PATH", help="verify TLS against this CA bundle")
    group.add_argument("--insecure", action="store_true", help="do NOT verify TLS certificates (dangerous)")
    group.add_argument(
        "--max-retries",
        type=_non_negative_int,
        metavar="N",
        help="give up (exit 5) after N failed reconnects in a row (default: retry forever)",
    )


def add_server_arguments(group: argparse._ArgumentGroup, url_help: str, token_file_help: str) -> None:
    """``--url`` and ``--token-file``: the server a command talks to and the file of its token,
    completed from the environment and the config file by ``cli.config.resolve_settings``."""
    group.add_argument("--url", metavar="URL", help=url_help)
    group.add_argument("--token-file", metavar="PATH", help=token_file_help)


MIN_REFRESH_SECONDS, MAX_REFRESH_SECONDS = 0.1, 60.0


def refresh_seconds(text: str) -> float:
    """``--refresh``'s value: a number of seconds within the bounds (argparse reports the error)."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not MIN_REFRESH_SECONDS <= seconds <= MAX_REFRESH_SECONDS:  # also rejects nan
        raise argparse.ArgumentTypeError(
            f"{text} s is outside {MIN_REFRESH_SECONDS:g}-{MAX_REFRESH_SECONDS:g} s"
        )
    return seconds


def speed_factor(text: str) -> float:
    """``--speed``'s value for replay and demo: a finite number >= 0, where 0 means
    "as fast as possible" (no pacing); argparse reports the error."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < float("inf"):  # also rejects nan
        raise argparse.ArgumentTypeError("must be 0 (as fast as possible) or a positive number")
    return value


def add_display_arguments(parser: argparse.ArgumentParser, *, what: str = "the campaign") -> None:
    """The output choice shared by watch, replay and demo: monitor, --plain or --json."""
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--plain", action="store_true", help="progress lines, like MatCraft's CLI")
    output.add_argument("--json", action="store_true", help="one JSON object per event, for jq")
    parser.add_argument(
        "--exit-on-complete",
        action="store_true",
        help=f"leave the full-screen monitor by itself when {what} ends",
    )
    parser.add_argument(
        "--refresh",
        type=refresh_seconds,
        default=None,
        metavar="SECONDS",
        help="redraw the table and log at most every SECONDS while data streams, the plots every "
        "2 x SECONDS and the small panels up to 20 times per SECONDS (default 1; raise it over "
        f"a slow link; {MIN_REFRESH_SECONDS:g}-{MAX_REFRESH_SECONDS:g})",
    )
    parser.add_argument(
        "--notify",
        action="store_true",
        help="also send desktop notifications through the terminal (OSC 9 / OSC 777) on completion, "
        "errors and convergence (the bell and toasts are always on)",
    )


def add_campaign_id_argument(parser: argparse.ArgumentParser, help: str, *, optional: bool = False) -> None:
    """The CAMPAIGN_ID positional (``args.campaign_id``; check it with ``check_campaign_id``)."""
    parser.add_argument("campaign_id", metavar="CAMPAIGN_ID", nargs="?" if optional else None, help=help)


def add_port_argument(parser: argparse.ArgumentParser, default: int) -> None:
    """``--port``: where the command's server listens (0: any free port)."""
    shown = "any free port" if default == 0 else default
    parser.add_argument(
        "--port", type=int, default=default, help=f"port to serve on (0: any free one; default {shown})"
    )


def add_history_arguments(parser: argparse.ArgumentParser, campaign_help: str, recording_help: str) -> None:
    """What a command that reads a campaign's whole state from a server or from a recording
    takes: CAMPAIGN_ID (its REST history: the connection options) or ``--from-recording FILE``."""
    add_campaign_id_argument(parser, campaign_help, optional=True)
    parser.add_argument("--from-recording", metavar="FILE", help=recording_help)
    add_connection_arguments(parser)


def add_optuna_arguments(parser: argparse.ArgumentParser, storage_help: str) -> argparse._ArgumentGroup:
    """``--optuna STORAGE`` (an RDB URL or a journal file, only ever read) in the group of a
    command's Optuna options, which it returns for the command's other study options."""
    group = parser.add_argument_group("Optuna studies (pip install 'materia-tui[optuna]')")
    group.add_argument("--optuna", metavar="STORAGE", help=storage_help)
    return group


def add_trial_grouping_arguments(
    group: argparse._ArgumentGroup, *, needs: str = "", n_trials_help: str | None = None
) -> None:
    """``--batch N`` and (given its help) ``--n-trials N``: how a study's trials become
    iterations, the same in every command that reads a study; ``needs`` names the
    option they go with."""
    prefix = f"with {needs}: " if needs else ""
    group.add_argument(
        "--batch",
        type=positive_int,
        metavar="N",
        help=f"{prefix}trials per iteration, grouped by completion (default: the number of trials "
        "that ran at once)",
    )
    if n_trials_help is not None:
        group.add_argument("--n-trials", type=positive_int, metavar="N", help=prefix + n_trials_help)


def settings_from_args(args: argparse.Namespace) -> ConnectionSettings:
    # The flags' destinations are ConnectionFlags' field names (add_connection_arguments).
    flags = ConnectionFlags(**{name: getattr(args, name) for name in ConnectionFlags.__dataclass_fields__})
    settings = resolve_settings(flags)
    if args.token:
        print(
            "warning: --token is visible to other users in the process list; "
            "prefer MATERIA_TOKEN or --token-file.",
            file=sys.stderr,
        )
    if settings.insecure:
        print(
            "WARNING: TLS certificate verification is OFF (--insecure): "
            "anyone on the network path can read your token and data.",
            file=sys.stderr,
        )
    return settings


def check_campaign_id(campaign_id: str) -> str:
    from materia_tui.protocol import is_valid_campaign_id  # pydantic schemas: slow import, keep --help fast

    if not is_valid_campaign_id(campaign_id):
        shown = campaign_id.encode("unicode_escape").decode("ascii")[:140]
        raise UsageError(
            f"{shown!r} is not a campaign id (1-128 characters from A-Z a-z 0-9 . _ -, "
            "starting with a letter or digit)."
        )
    return campaign_id


def _whole_number_at_least(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be {low} or more")
        return value

    return parse


_non_negative_int = _whole_number_at_least(0)
positive_int = _whole_number_at_least(1)
