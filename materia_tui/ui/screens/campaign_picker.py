"""``o`` (or ``watch`` without an id): pick campaigns to watch from the REST listing.

``space`` marks campaigns, ``enter`` opens the marked ones (or the highlighted
one when none is marked), ``escape`` closes without opening anything. The
screen dismisses with the chosen ids (maybe empty).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection

from materia_tui.errors import MateriaError
from materia_tui.protocol import Campaign, is_valid_campaign_id
from materia_tui.sanitize import clean
from materia_tui.ui import format as fmt
from materia_tui.ui.screens.dialog import Dialog

CampaignLister = Callable[[], Awaitable[list[Campaign]]]


def campaign_prompt(campaign: Campaign, already_open: bool) -> Text:
    text = Text(clean(campaign.id, 40), "bold")
    if campaign.name:
        text.append("  " + clean(campaign.name, 40))
    details = [clean(campaign.status, 16)] if campaign.status else []
    if campaign.max_iterations:
        details.append(f"{fmt.count(campaign.max_iterations)} iterations")
    if already_open:
        details.append("open")
    if details:
        text.append("  (" + ", ".join(details) + ")", "dim")
    return text


class CampaignPicker(Dialog[list[str]]):
    DEFAULT_CSS: ClassVar[str] = """
    #picker-body {
        width: 90;
    }
    #picker-list {
        height: auto;
        max-height: 20;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open", priority=True),
        Binding("escape", "close", "Close"),
    ]

    def __init__(self, list_campaigns: CampaignLister, already_open: Collection[str] = ()) -> None:
        super().__init__()
        self._list_campaigns = list_campaigns
        self._already_open = set(already_open)
        self.campaigns: list[Campaign] = []
        self.loaded = False

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-body", classes="dialog-body") as body:
            body.border_title = "open campaigns"
            yield Static(Text("Loading the campaign list…"), id="picker-status")
            yield SelectionList[str](id="picker-list")

    def on_mount(self) -> None:
        self.load()

    @work(exclusive=True, group="picker")
    async def load(self) -> None:
        status = self.query_one("#picker-status", Static)
        try:
            campaigns = await self._list_campaigns()
        except MateriaError as exc:
            status.update(Text(clean(exc.message, 300), "bold red"))
            self.loaded = True
            return
        self.campaigns = [c for c in campaigns if is_valid_campaign_id(c.id)]
        options = self.query_one(SelectionList)
        options.add_options(
            [Selection(campaign_prompt(c, c.id in self._already_open), c.id) for c in self.campaigns]
        )
        if self.campaigns:
            status.update(Text("space: mark · enter: open · escape: close", "dim"))
            options.highlighted = 0
            options.focus()
        else:
            status.update(Text("The server lists no campaigns.", "dim"))
        self.loaded = True

    def action_open(self) -> None:
        options = self.query_one(SelectionList)
        chosen: list[str] = list(options.selected)
        if not chosen and options.highlighted is not None and self.campaigns:
            chosen = [options.get_option_at_index(options.highlighted).value]
        self.dismiss(chosen)

    def action_close(self) -> None:
        self.dismiss([])
