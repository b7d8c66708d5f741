"""A filter expression (``/`` in the monitor, ``export --where``) over a campaign's candidates.

The language is ``materia_tui.insight.filter``'s; the columns are
``candidate_columns(state)``'s, so the monitor, the export and the tests read
the same fields: every parameter, every objective (its measured value), and
``it``/``iteration``, ``status``, ``front``, ``feasible``, ``id``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from materia_tui.errors import UsageError
from materia_tui.insight.filter import Filter, FilterError, compile_filter
from materia_tui.state import CampaignState
from materia_tui.state.columns import CandidateColumns, candidate_columns


def compile_for(columns: CandidateColumns, text: str) -> Filter:
    """``text`` compiled against the campaign's fields; raises ``FilterError``."""
    return compile_filter(text, columns.field_kinds())


def mask_of(columns: CandidateColumns, compiled: Filter) -> NDArray[np.bool_]:
    return compiled.mask(columns.filter_columns(), len(columns))


def explain(text: str, error: FilterError) -> str:
    """The expression, a caret under the error's column, and the sentence: three lines."""
    return f"{text}\n{' ' * error.position}^\n{error.message}"


def where_mask(state: CampaignState, text: str) -> NDArray[np.bool_]:
    """Which candidates (rows of ``state.candidate_list``) match ``text``; a bad
    expression is a ``UsageError`` naming the column and the reason."""
    columns = candidate_columns(state)
    try:
        compiled = compile_for(columns, text)
    except FilterError as exc:
        raise UsageError(f"--where: column {exc.column}: {exc.message}") from None
    return mask_of(columns, compiled)
