"""A text panel whose line is wider than the panel: Textual wraps it, so a change in
it must reach every row it wraps onto (a partial repaint of its first row left a
new best value shown with the previous best's candidate id)."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult

from materia_tui.protocol import Rejected, parse_campaign, parse_object
from materia_tui.state import CampaignState
from materia_tui.ui.widgets.progress_panel import ProgressPanel
from materia_tui.ui.widgets.text_panel import TextPanel
from tests.support.campaigns import campaign_events, campaign_meta


class OnePanel(App[None]):
    CSS = "TextPanel { width: 20; height: auto; }"

    def compose(self) -> ComposeResult:
        yield TextPanel(id="panel")


def best_line(value: str, candidate: str) -> Text:
    return Text(f"iteration 3/9\nbest water_flux {value} L/m2/h ({candidate})\nphase done", no_wrap=True)


async def test_a_changed_wrapped_line_is_repainted_on_every_row() -> None:
    app = OnePanel()
    async with app.run_test(size=(40, 10)) as pilot:
        panel = app.query_one(TextPanel)
        panel.show(best_line("69.41", "c170-2875"))
        await pilot.pause()
        assert panel.size.height > 3  # the best line wraps
        panel.show(best_line("70.89", "c200-3817"))
        await pilot.pause()
        screen = app.export_screenshot()
        assert "70.89" in screen and "c200-3817" in screen
        assert "69.41" not in screen and "c170-2875" not in screen


async def test_lines_that_fit_still_repaint_only_their_changed_cells() -> None:
    app = OnePanel()
    async with app.run_test(size=(40, 10)) as pilot:
        panel = app.query_one(TextPanel)
        panel.show(Text("events 1098\nphase x"))
        await pilot.pause()
        cells = panel.repainted_cells
        panel.show(Text("events 1099\nphase x"))
        await pilot.pause()
        assert panel.repainted_cells - cells == 1
        screen = app.export_screenshot()
        assert "1099" in screen and "1098" not in screen


class ProgressOnly(App[None]):
    CSS = "ProgressPanel { width: 30; height: auto; }"

    def compose(self) -> ComposeResult:
        yield ProgressPanel(id="progress")


async def test_the_progress_panel_puts_the_best_candidate_on_its_own_line_when_narrow() -> None:
    state = CampaignState("camp-test", parse_campaign(campaign_meta()))
    app = ProgressOnly()
    async with app.run_test(size=(60, 20)) as pilot:
        panel = app.query_one(ProgressPanel)
        for raw in campaign_events(seed=2, iterations=5):
            event = parse_object(raw)
            assert not isinstance(event, Rejected)
            state.apply(event, 0.0)
            panel.apply_changes(state, state.take_changes(), 0.0)
            await pilot.pause()
            lines = panel.shown_plain.split("\n")
            best_lines = [line for line in lines if line.startswith(("best ", "("))]
            assert all(len(line) <= 30 for line in best_lines)  # nothing there for Textual to wrap
            screen = app.export_screenshot()
            for best in state.best.values():
                assert f"({best.candidate_id})" in lines and best.candidate_id in screen
