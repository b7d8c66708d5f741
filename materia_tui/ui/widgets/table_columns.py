"""The candidate table's columns: what each shows and how a cell is fitted, and
the header and row strips drawn from them (the table caches these).

Not ``materia_tui.state.columns`` (the state's column readers for analysis): this is
the table's presentation of a candidate, one ``Column`` per cell.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from materia_tui.protocol import ParameterValue
from materia_tui.sanitize import clean
from materia_tui.state import CandidateLike
from materia_tui.ui import format as fmt

SEPARATOR = " "
MAX_PARAMETER_COLUMNS = 8
SortValue = tuple[int, float, str]


def value_key(value: ParameterValue | None) -> SortValue:
    """A total order over mixed cell values: numbers, then strings, then blanks."""
    if value is None:
        return (2, 0.0, "")
    if isinstance(value, str):
        return (1, 0.0, value)
    return (0, float(value), "")


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    title: str
    width: int
    cell: Callable[[CandidateLike], str]
    sort_key: Callable[[CandidateLike], Any]  # per candidate; the table sorts by columns (ordering.py)
    right: bool = False


def fit(text: str, width: int, right: bool = False) -> str:
    """``text`` in exactly ``width`` cells (wide characters included), cut with an ellipsis."""
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else "…"[:width]
    pad = " " * (width - length)
    return pad + text if right else text + pad


def _parameter_column(name: str) -> Column:
    return _fitted_column(
        f"param:{name}", clean(name), (7, 14), lambda c: clean(fmt.parameter(c.parameters.get(name))),
        lambda c: value_key(c.parameters.get(name)), right=False,
    )  # fmt: skip


def _fitted_column(
    key: str,
    title: str,
    widths: tuple[int, int],
    cell: Callable[[CandidateLike], str],
    sort_key: Callable[[CandidateLike], Any],
    right: bool = True,
) -> Column:
    """A column as wide as its title, kept within ``widths`` (the narrowest, the widest)."""
    low, high = widths
    return Column(key, title, max(low, min(high, cell_len(title))), cell, sort_key, right)


def _measured_column(name: str) -> Column:
    return _fitted_column(
        f"obj:{name}", clean(name), (8, 16),
        lambda c: fmt.number(c.objectives.get(name)) if name in c.objectives else "-",
        lambda c: value_key(c.objectives.get(name)),
    )  # fmt: skip


def _predicted_cell(cand: CandidateLike, name: str) -> str:
    mean = cand.predicted.get(name)
    if mean is None:
        return "-"
    sigma = cand.uncertainty.get(name)
    return fmt.number(mean) + (f"±{fmt.number(sigma)}" if sigma is not None else "")


def _predicted_column(name: str) -> Column:
    return _fitted_column(
        f"pred:{name}", "~" + clean(name), (12, 18), lambda c: _predicted_cell(c, name),
        lambda c: value_key(c.predicted.get(name)),
    )  # fmt: skip


def build_columns(id_width: int, parameters: list[str], objectives: list[str]) -> list[Column]:
    """What a narrow panel should show first comes first: who, when, what happened
    (status, front, measured values), then what was expected, then the inputs."""
    columns = [
        Column("id", "id", id_width, lambda c: clean(c.id), lambda c: c.id),
        Column("iteration", "it", 3, lambda c: str(c.iteration or ""), lambda c: c.iteration or 0, True),
        Column("status", "status", 10, lambda c: c.status, lambda c: c.status),
        Column("pareto", "P", 1, lambda c: "★" if c.on_front else "", lambda c: c.on_front),
    ]
    columns += [_measured_column(name) for name in objectives]
    columns += [_predicted_column(name) for name in objectives]
    columns += [_parameter_column(name) for name in parameters[:MAX_PARAMETER_COLUMNS]]
    columns.append(
        Column(
            "acquisition",
            "acq",
            7,
            lambda c: fmt.number(c.acquisition_value),
            lambda c: value_key(c.acquisition_value),
            right=True,
        )
    )
    return columns


def header_strip(columns: list[Column], sort_index: int | None, sort_reverse: bool, style: Style) -> Strip:
    """The header line: each column's title, the sort column's marked with its direction."""
    titles = []
    for index, column in enumerate(columns):
        title = column.title
        if index == sort_index:
            title = title[: max(0, column.width - 1)] + ("↓" if sort_reverse else "↑")
        titles.append(fit(title, column.width, column.right))
    return Strip([Segment(SEPARATOR.join(titles), style)])


def row_strip(
    cand: CandidateLike, columns: list[Column], base: Style, style_of: Callable[[str], Style], row_width: int
) -> Strip:
    """One candidate's line, ``row_width`` cells; cells not in ``base`` are styled by ``style_of``."""
    # Cells in the base style are joined into one segment as we go (rather than
    # one segment per cell, simplified afterwards): a row is then 1-5 segments,
    # and its width is known, so the Strip need not measure it.
    segments: list[Segment] = []
    run: list[str] = []
    for column in columns:
        text = fit(column.cell(cand), column.width, column.right)
        style = base
        if column.key == "pareto" and cand.on_front:
            style = style_of("front")
        elif column.key == "status" and cand.status != "evaluated":
            style = style_of(cand.status)
        if style is base:
            run.append(text)
            continue
        if run:
            segments.append(Segment(SEPARATOR.join(run) + SEPARATOR, base))
            run = []
        segments.append(Segment(text, style))
        run.append("")  # the separator after this cell leads the next run
    if run:
        segments.append(Segment(SEPARATOR.join(run), base))
    return Strip(segments, row_width)
