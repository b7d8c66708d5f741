"""``materia-tui watch --optuna STORAGE [STUDY ...]``: Optuna studies as campaigns.

Everything ``watch`` does works the same (monitor, ``--plain``, ``--json``,
``--record``, ``--exit-on-complete``, tabs, the picker); only the source
differs: ``OptunaSource`` reads the storage instead of a server.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING

from materia_tui.cli.display import report_app_exit, several_app, wants_lines, watch_one

if TYPE_CHECKING:
    from materia_tui.protocol import Campaign
    from materia_tui.source import EventSource
    from materia_tui.source.optuna import OptunaSource
    from materia_tui.ui.multi_app import MultiMonitorApp


def optuna_source(args: argparse.Namespace, study_name: str) -> OptunaSource:
    from materia_tui.source.optuna import OptunaSource

    return OptunaSource(args.optuna, study_name, batch=args.batch, n_trials=args.n_trials)


def run_optuna(args: argparse.Namespace) -> int:
    names = list(dict.fromkeys(args.campaign_ids))
    lines = wants_lines(args, len(names), several="study names", one="study")
    if len(names) != 1:
        app = several_studies_app(args, names)
        return report_app_exit(app, app.run())
    source = optuna_source(args, names[0])
    title = f"materia-tui {source.campaign_id}"
    return watch_one(args, source, source.campaign_id, lines=lines, title=title)


def several_studies_app(args: argparse.Namespace, study_names: list[str]) -> MultiMonitorApp:
    """One tab per study; with no names, the picker lists the storage's studies."""
    from materia_tui.source.optuna_listing import list_study_campaigns
    from materia_tui.source.optuna_study import campaign_id_for

    study_of = {campaign_id_for(name): name for name in study_names}
    first_listing: list[tuple[str, Campaign]] | None = None
    if not study_names:
        # Read the list now: an unreadable storage is exit 2 here, not an error in a picker.
        first_listing = list_study_campaigns(args.optuna)

    def open_source(campaign_id: str) -> EventSource:
        return optuna_source(args, study_of.get(campaign_id, campaign_id))

    async def list_campaigns() -> list[Campaign]:
        nonlocal first_listing
        listing, first_listing = first_listing, None
        if listing is None:
            listing = await asyncio.to_thread(list_study_campaigns, args.optuna)
        study_of.update({campaign.id: name for name, campaign in listing})
        return [campaign for _, campaign in listing]

    return several_app(
        args,
        [(campaign_id, open_source(campaign_id)) for campaign_id in study_of],
        open_source=open_source,
        list_campaigns=list_campaigns,
        title=f"materia-tui {args.optuna}" if not study_names else None,
    )
