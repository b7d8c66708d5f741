"""One home for the keys: bindings, help, palette and the README's table agree with ui/keys.py."""

from __future__ import annotations

import re
from pathlib import Path

from materia_tui.ui.app import MonitorApp
from materia_tui.ui.campaign_view import CampaignView
from materia_tui.ui.keys import KEYS, help_rows, palette_entries
from materia_tui.ui.multi_app import MultiMonitorApp
from materia_tui.ui.screens.help_screen import help_text

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_keys() -> set[str]:
    """Every key in the README's "The monitor" table (`1`-`5` spans a range)."""
    section = README.read_text().split("### The monitor", 1)[1].split("\n\n", 2)[1]
    keys: set[str] = set()
    for line in section.splitlines()[2:]:
        first = line.split("|")[1]
        for low, high in re.findall(r"`(\d)`-`(\d)`", first):
            keys.update(str(n) for n in range(int(low), int(high) + 1))
        keys.update(re.findall(r"`([^`]+)`", re.sub(r"`\d`-`\d`", "", first)))
    return keys


def documented_keys() -> set[str]:
    return {key.display for key in KEYS if key.scope != "table"} | {"ctrl+p"}


def test_the_readme_table_lists_exactly_the_bound_keys() -> None:
    assert readme_keys() == documented_keys() - {"end"}  # `end` is G's alias, said in help


def test_each_scope_binds_its_keys_where_they_act() -> None:
    def bound(bindings: object) -> set[str]:
        return {b.action for b in bindings}  # type: ignore[attr-defined]

    assert bound(MonitorApp.BINDINGS) == {k.action for k in KEYS if k.scope == "app"}
    assert bound(CampaignView.BINDINGS) == {k.action for k in KEYS if k.scope in ("view", "replay")}
    assert bound(MultiMonitorApp.BINDINGS) == {k.action for k in KEYS if k.scope == "several"}


def test_help_and_palette_come_from_the_same_list() -> None:
    text = help_text().plain
    for shown, meaning in help_rows():
        assert shown in text and meaning in text
    names = [key.palette for key in palette_entries()]
    assert len(names) == len(set(names)) and "Pause / resume" in names
