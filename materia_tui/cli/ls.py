"""``materia-tui ls``: the campaigns the backend knows, with status, iteration and best value.

Status comes from each campaign's metadata; the iteration and best value from
the newest ``iteration_completed`` in the tail of its history (two small REST
requests per campaign, all campaigns at once), so listing stays fast however
long the campaigns are. A campaign whose history cannot be read is still listed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from materia_tui.cli.common import add_connection_arguments, add_optuna_arguments, settings_from_args
from materia_tui.cli.main import Subparsers, add_command

if TYPE_CHECKING:
    import httpx

    from materia_tui.protocol import Campaign, IterationCompleted
    from materia_tui.source.settings import ConnectionSettings

# How many of the newest events to look through for the last iteration_completed:
# one iteration is a handful of events, so this covers several.
TAIL_EVENTS = 50
MAX_CONCURRENT_REQUESTS = 8


@dataclass(frozen=True, slots=True)
class CampaignListing:
    id: str
    name: str | None
    status: str | None
    iteration: int | None
    max_iterations: int | None
    best_value: float | None
    primary_objective: str | None
    unit: str | None
    last_seq: int | None


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers, "ls", "List the backend's campaigns (REST) as a table, or as JSON with --json.", run
    )
    parser.add_argument("--json", action="store_true", help="one JSON document, for jq")
    add_optuna_arguments(parser, "list the studies of an Optuna storage (RDB URL or journal file) instead")
    add_connection_arguments(parser)


def run(args: argparse.Namespace) -> int:
    if args.optuna is not None:
        from materia_tui.cli.ls_optuna import run_optuna

        return run_optuna(args)
    listings = asyncio.run(fetch_listings(settings_from_args(args)))
    print_listing(
        args.json, "campaigns", [listing_json(item) for item in listings], lambda: table_lines(listings)
    )
    return 0


def print_listing(
    as_json: bool, key: str, documents: list[dict[str, Any]], lines: Callable[[], list[str]]
) -> None:
    """The listing as one JSON document (``{key: documents}``), or as the table's lines."""
    if as_json:
        print(json.dumps({key: documents}, indent=2, allow_nan=False))
    else:
        for line in lines():
            print(line)


# ----- fetching ------------------------------------------------------------------


async def fetch_listings(settings: ConnectionSettings) -> list[CampaignListing]:
    import httpx

    from materia_tui.source.rest import READ_TIMEOUT_SECONDS, RestClient, auth_headers, ssl_context

    async with RestClient(settings) as rest:
        campaigns = await rest.list_campaigns()
    limiter = asyncio.Semaphore(MAX_CONCURRENT_REQUESTS)
    async with httpx.AsyncClient(
        headers=auth_headers(settings),
        verify=ssl_context(settings),
        timeout=httpx.Timeout(READ_TIMEOUT_SECONDS, connect=settings.open_timeout),
        follow_redirects=False,
    ) as http:
        tails = await asyncio.gather(
            *(_last_completed(http, limiter, settings.base_url, c.id) for c in campaigns)
        )
    return [_listing(campaign, tail) for campaign, tail in zip(campaigns, tails, strict=True)]


async def _last_completed(
    http: httpx.AsyncClient, limiter: asyncio.Semaphore, base_url: str, campaign_id: str
) -> tuple[IterationCompleted | None, int | None]:
    """The newest iteration_completed among the last TAIL_EVENTS events, and last_seq."""
    from urllib.parse import quote

    url = f"{base_url.rstrip('/')}/campaigns/{quote(campaign_id, safe='')}/events"
    async with limiter:
        first = await _history_page(http, url, 0)
        if first is None:
            return None, None
        events, last_seq = first
        if last_seq is None:
            return _newest_completed(events), None
        if last_seq > TAIL_EVENTS:
            events = await _tail(http, url, last_seq)
        elif _max_seq(events) < last_seq:  # the server capped the page below TAIL_EVENTS
            events += await _tail(http, url, last_seq, after_seq=_max_seq(events))
    return _newest_completed(events), last_seq


async def _tail(http: httpx.AsyncClient, url: str, last_seq: int, after_seq: int | None = None) -> list[Any]:
    """The events after ``after_seq`` (default: the last TAIL_EVENTS), paging on while
    the server caps pages, until ``last_seq`` is held or the server stops making progress."""
    cursor = max(0, last_seq - TAIL_EVENTS) if after_seq is None else after_seq
    events: list[Any] = []
    while cursor < last_seq:
        page = await _history_page(http, url, cursor)
        if page is None or _max_seq(page[0]) <= cursor:
            break
        events += page[0]
        cursor = _max_seq(page[0])
    return events


def _max_seq(raw_events: list[Any]) -> int:
    seqs = [raw.get("seq") for raw in raw_events if isinstance(raw, dict)]
    return max((s for s in seqs if isinstance(s, int) and not isinstance(s, bool)), default=0)


async def _history_page(
    http: httpx.AsyncClient, url: str, after_seq: int
) -> tuple[list[Any], int | None] | None:
    import httpx

    try:
        response = await http.get(url, params={"after_seq": str(after_seq), "limit": str(TAIL_EVENTS)})
        body = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None  # the listing shows what the metadata says; history is a bonus
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        return None
    last_seq = body.get("last_seq")
    usable = last_seq if isinstance(last_seq, int) and not isinstance(last_seq, bool) else None
    return body["events"], usable


def _newest_completed(raw_events: list[Any]) -> IterationCompleted | None:
    from materia_tui.protocol import IterationCompleted, parse_object

    for raw in reversed(raw_events):
        if isinstance(raw, dict) and raw.get("type") == "iteration_completed":
            parsed = parse_object(raw)
            if isinstance(parsed, IterationCompleted):
                return parsed
    return None


def _listing(campaign: Campaign, tail: tuple[IterationCompleted | None, int | None]) -> CampaignListing:
    completed, last_seq = tail
    primary = campaign.objectives[0] if campaign.objectives else None
    return CampaignListing(
        id=campaign.id,
        name=campaign.name,
        status=campaign.status,
        iteration=completed.iteration if completed else None,
        max_iterations=campaign.max_iterations,
        best_value=completed.best_value if completed else None,
        primary_objective=primary.name if primary else None,
        unit=primary.unit if primary else None,
        last_seq=last_seq,
    )


# ----- output --------------------------------------------------------------------


def listing_json(item: CampaignListing) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "status": item.status,
        "iteration": item.iteration,
        "max_iterations": item.max_iterations,
        "best_value": item.best_value,
        "objective": item.primary_objective,
        "unit": item.unit,
        "last_seq": item.last_seq,
    }


HEADERS = ("ID", "NAME", "STATUS", "ITER", "BEST")


def table_lines(listings: list[CampaignListing]) -> list[str]:
    """An aligned table; every network string is cleaned and cut to fit."""
    return aligned_table(HEADERS, [_cells(item) for item in listings]) if listings else ["No campaigns."]


def aligned_table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """The header and the rows, each column as wide as its widest cell, two spaces apart."""
    lines = [headers, *rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    ]


def _cells(item: CampaignListing) -> tuple[str, str, str, str, str]:
    from materia_tui.output.numbers import format_value, with_unit
    from materia_tui.sanitize import clean

    total = str(item.max_iterations) if item.max_iterations else "?"
    iteration = f"{item.iteration}/{total}" if item.iteration is not None else f"-/{total}"
    best = "-"
    if item.best_value is not None and item.primary_objective:
        value = with_unit(item.best_value, clean(item.unit, 20) if item.unit else None)
        best = f"{clean(item.primary_objective, 30)}={value}"
    elif item.best_value is not None:
        best = format_value(item.best_value)
    return (clean(item.id, 40), clean(item.name or "-", 40), clean(item.status or "?", 12), iteration, best)
