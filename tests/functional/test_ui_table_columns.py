"""Issue 19.5: a candidate table wider than its panel says so, and how to scroll it."""

from __future__ import annotations

import re

from materia_tui.ui.app import MonitorApp
from materia_tui.ui.widgets.candidate_table import CandidateTable
from tests.support.fake_source import T0, FakeSource, campaign_items
from tests.support.waiting import wait_for


def header(table: CandidateTable) -> str:
    return table.render_line(0).text


def footer_offers_columns(app: MonitorApp) -> bool:
    active = app.screen.active_bindings.get("right")
    return active is not None and active.binding.show and active.binding.key_display == "←→"


async def test_hidden_columns_are_counted_in_the_title_and_arrows_scroll_to_them() -> None:
    source = FakeSource(campaign_items(3))
    app = MonitorApp(source, "camp-123", now=lambda: T0 + 200)
    async with app.run_test(size=(80, 24)) as pilot:
        source.release_all()
        table = app.query_one(CandidateTable)
        await pilot.press("2")  # the compact layout's Candidates section
        await wait_for(pilot, lambda: table.row_count == 15 and table.size.width > 0, what="the table")
        titles = [column.title for column in table.columns]
        assert titles[-1] == "acq" and "acq" not in header(table)  # cut off at 80 columns
        await wait_for(pilot, lambda: "cols →" in str(table.border_title), what="the marker")
        hidden = int(re.findall(r"\+(\d+) cols →", str(table.border_title))[0])
        # Every column whose title is not wholly in the header line is counted.
        shown_whole = [t for t in titles if re.search(rf"(^| ){re.escape(t)}( |$)", header(table))]
        assert hidden == len(titles) - len(shown_whole) >= 3
        assert not footer_offers_columns(app)  # a full footer at 80 columns: → works all the same
        await pilot.press("right")  # a column at a time
        assert round(table.scroll_x) == table.columns[0].width + 1
        assert header(table).split()[0] == titles[1]
        for _ in range(hidden):  # as many presses as hidden columns reach the last one
            await pilot.press("right")
        await wait_for(pilot, lambda: header(table).rstrip().endswith("acq"), what="the last column")
        assert "cols →" not in str(table.border_title)
        assert re.search(r"· ← \+\d+ cols$", str(table.border_title))
        await pilot.press("left")
        assert re.search(r"← \+\d+ · \+1 col →$", str(table.border_title))
        await pilot.resize_terminal(120, 40)  # the footer has room: it offers the keys
        await wait_for(pilot, lambda: not app.view.compact, what="the wide layout")
        await wait_for(pilot, lambda: footer_offers_columns(app), what="the footer's keys")
        await pilot.press("home", "right")  # the footer's binding runs the same action
        assert round(table.scroll_x) == table.columns[0].width + 1 and "← +1 · " in str(table.border_title)
        await pilot.press("left")
        assert round(table.scroll_x) == 0
        await pilot.resize_terminal(220, 50)  # wide enough for every column: no marker, no key
        await wait_for(pilot, lambda: "cols" not in str(table.border_title), what="no marker")
        await pilot.pause()
        assert not footer_offers_columns(app)
