"""Iteration progress, elapsed / ETA, evaluations, phase and the last surrogate losses."""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text

from materia_tui.output.numbers import format_duration
from materia_tui.sanitize import clean
from materia_tui.state import CampaignState
from materia_tui.state.changes import ChangeSet
from materia_tui.ui import format as fmt
from materia_tui.ui.panel import Cadence
from materia_tui.ui.widgets.text_panel import TextPanel

BAR_FULL = "━"
BAR_EMPTY = "─"


def progress_bar(done: int, total: int | None, width: int) -> Text:
    """A one-style-per-part bar: two spans, so an update changes few cells."""
    width = max(4, width)
    if not total:
        return Text(BAR_EMPTY * width, "dim")
    filled = min(width, round(width * done / total))
    bar = Text(BAR_FULL * filled, "bold")
    bar.append(BAR_EMPTY * (width - filled), "dim")
    return bar


class ProgressPanel(TextPanel):
    """Iteration, progress bar, phase, elapsed and ETA."""

    cadence: ClassVar[Cadence] = "small"
    shows_time: ClassVar[bool] = True

    _shown_for: tuple[CampaignState, float] | None = None

    def on_resize(self) -> None:
        if self._shown_for is not None:  # the bar spans the panel: redraw at the new width
            state, now = self._shown_for
            self.apply_changes(state, ChangeSet(), now)

    def apply_changes(self, state: CampaignState, changes: ChangeSet, now: float) -> None:
        self._shown_for = (state, now)
        total = state.max_iterations
        done = state.completed_iterations
        width = max(10, self.content_size.width or 40)
        head = f"iteration {state.current_iteration}/{total if total else '?'} "
        percent = f" {100 * done // total:3d}%" if total else ""
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(head, "bold")
        text.append_text(progress_bar(done, total, width - len(head) - len(percent)))
        text.append(percent)
        as_of = _as_of(state, now)
        text.append(f"\nelapsed {format_duration(state.elapsed(as_of))}")
        text.append(f"   ETA {_eta(state, as_of)}")
        text.append(f"\nevaluations {fmt.count(state.evaluations)}")
        text.append("\nphase ")
        text.append(state.phase, "bold")
        latest = _latest_losses(state)
        if latest is not None:
            text.append(f"\nsurrogate train {fmt.number(latest[0])}  val {fmt.number(latest[1])}")
        else:
            text.append("\nsurrogate -")
        for name in state.objectives[:3]:
            best = state.best.get(name)
            if best is None:
                continue
            shown_name, value = clean(name, 24), fmt.value_with_unit(best.value, state.units.get(name))
            candidate = f"({clean(best.candidate_id, 24)})"
            text.append("\nbest ")
            text.append(shown_name)
            text.append(" ")
            text.append(value, "bold")
            # The id on a line of its own where the line would not fit: Textual would wrap it
            # anyway, and lines that fit are repainted a changed run of cells at a time.
            fits = cell_len(f"best {shown_name} {value} {candidate}") <= width
            text.append(" " if fits else "\n")
            text.append(candidate)
        self.show(text)


def _as_of(state: CampaignState, now: float) -> float:
    """The time elapsed and ETA are computed at: the last event while running.

    Like tqdm, the times move when the campaign does, so an idle monitor writes
    nothing; the status line's "quiet" marker says when the stream went silent.
    """
    if state.is_finished or state.last_event_at is None:
        return now
    return min(now, state.last_event_at)


def _eta(state: CampaignState, now: float) -> str:
    if state.status == "completed":
        return "done"
    if state.is_finished:
        return "-"
    return format_duration(state.eta(now))


def _latest_losses(state: CampaignState) -> tuple[float, float] | None:
    # Iterations are recorded in the order they start, so the newest is last:
    # walking back from it keeps a refresh O(1) however long the campaign.
    for record in reversed(state.iterations.values()):
        if record.train_loss is not None and record.val_loss is not None:
            return record.train_loss, record.val_loss
    return None
