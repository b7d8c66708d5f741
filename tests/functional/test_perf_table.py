"""The fast paths added for performance give the same answers as the plain ones."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from textual.app import App, ComposeResult

from materia_tui.state import CampaignState
from materia_tui.state.intake import apply_item
from materia_tui.state.pareto import ParetoFront, brute_force_front
from materia_tui.ui.widgets.candidate_table import CandidateTable
from materia_tui.ui.widgets.table_columns import SEPARATOR, fit
from tests.support.fake_source import campaign_items


class TableApp(App[None]):
    CSS = """
    CandidateTable > .candidate-table--front { color: cyan; }
    CandidateTable > .candidate-table--proposed { color: gray; }
    CandidateTable > .candidate-table--failed { color: red; }
    CandidateTable > .candidate-table--infeasible { color: yellow; }
    """

    def __init__(self, state: CampaignState) -> None:
        super().__init__()
        self.state = state

    def compose(self) -> ComposeResult:
        yield CandidateTable(self.state)


async def test_row_strips_are_every_cell_in_column_order_with_styled_marks() -> None:
    state = CampaignState("camp-123")
    for item in campaign_items(8):  # evaluated, front, failed, infeasible and proposed rows
        apply_item(state, item)
    async with TableApp(state).run_test(size=(200, 30)) as pilot:
        table = pilot.app.query_one(CandidateTable)
        table.apply_changes(state, state.take_changes(), 0.0)
        keys = [c.key for c in table.columns]
        assert keys[:4] == ["id", "iteration", "status", "pareto"]
        assert keys[4:8] == ["obj:water_flux", "obj:salt_rejection", "pred:water_flux", "pred:salt_rejection"]
        assert keys[8:10] == ["param:pore_size_nm", "param:polymer"] and keys[-1] == "acquisition"
        statuses = set()
        for cand in state.candidate_list:
            strip = table._row_strip(cand)
            expected = SEPARATOR.join(fit(c.cell(cand), c.width, c.right) for c in table.columns)
            assert strip.text == expected
            assert strip.cell_length == cell_len(expected) == table._row_width
            styled = {seg.text for seg in strip if seg.style != table._base_style()}
            if cand.on_front:
                assert "★" in styled
            if cand.status != "evaluated":
                assert fit(cand.status, 10) in styled
            statuses.add(cand.status)
        assert {"evaluated", "failed", "infeasible"} <= statuses


points_2d = st.lists(
    st.tuples(st.integers(0, 6).map(float), st.integers(0, 6).map(float)), min_size=1, max_size=40
)
points_3d = st.lists(
    st.tuples(*(st.integers(0, 4).map(float) for _ in range(3))), min_size=1, max_size=30
)


@settings(max_examples=150, deadline=None)
@given(st.one_of(points_2d, points_3d))
def test_incremental_front_matches_the_brute_force_definition(points: list[tuple[float, ...]]) -> None:
    front = ParetoFront()
    for index, point in enumerate(points):
        front.add(str(index), point)
    assert set(front.ids()) == brute_force_front((str(i), p) for i, p in enumerate(points))
