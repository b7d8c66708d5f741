"""``e``: export the campaign's candidates (or its Pareto front) to a file.

``ExportScreen(state)`` is a modal: choose the format (CSV, JSON, and Parquet
when pyarrow is importable; otherwise a line names the extra that brings it),
all candidates, the Pareto front only, or (while the view's ``/`` filter or
brush is on, and then by default) the candidates it matches, and a path (by
default ``./{campaign_id}-candidates.csv``, ``-front`` or ``-filtered``,
following the choices until the user edits it). Export writes with
``materia_tui.output.export.export_steps``, a block of rows per step in a worker
on the UI's own loop (a million candidates take seconds: the monitor goes on
folding events and painting between two steps, and the screen counts the rows
written), into ``.NAME.part`` beside the target,
renamed to it once complete, so a file under the chosen name is never a partial
one. It then dismisses with an ``ExportResult``. Escape dismisses with None, and
during an export stops it and removes the partial file. A failure (unwritable
path, a directory, a missing pyarrow) is shown in the screen, which stays open.
The rows are those the campaign had when the export began.

The app side::

    def action_export(self) -> None:
        self.push_screen(ExportScreen(self.state), self._exported)

    def _exported(self, result: ExportResult | None) -> None:
        if result is not None:
            self.notify(result.describe(), title="export", markup=False)
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from materia_tui.errors import MateriaError
from materia_tui.output.export import PARQUET_INSTALL, ExportFormat, export_steps, parquet_available
from materia_tui.sanitize import clean
from materia_tui.state import CampaignState

if TYPE_CHECKING:
    from materia_tui.ui.active_filter import ActiveFilter

EXTENSIONS: dict[ExportFormat, str] = {"csv": ".csv", "json": ".json", "parquet": ".parquet"}
_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True, slots=True)
class ExportResult:
    path: Path  # as written (relative paths are relative to the working directory)
    rows: int
    format: ExportFormat
    front_only: bool
    where: str | None = None  # the filter expression the rows matched (None: no filter)

    def describe(self) -> str:
        """One plain sentence for a toast."""
        noun = "candidate" if self.rows == 1 else "candidates"
        scope = " on the Pareto front" if self.front_only else ""
        if self.where is not None:
            scope = f" matching {clean(self.where, 80)}"
        return f"Wrote {self.rows:,} {noun}{scope} to {clean(str(self.path))} ({self.format})."


@dataclass(frozen=True, slots=True)
class ExportFilter:
    """The view's filter when ``e`` was pressed: its expression and its mask (a bool per
    candidate row), so the export writes the rows the view shows without matching again."""

    text: str
    mask: Any

    @classmethod
    def of(cls, selection: ActiveFilter, state: CampaignState) -> ExportFilter | None:
        """The view's filter now (None: none is on). Its mask is copied: the rows written are
        those the campaign had when ``e`` was pressed."""
        mask = selection.mask(state)
        if selection.compiled is None or mask is None:
            return None
        return cls(selection.compiled.text, mask.copy())

    @property
    def matches(self) -> int:
        return int(self.mask.sum())


def available_formats() -> tuple[ExportFormat, ...]:
    return ("csv", "json", "parquet") if parquet_available() else ("csv", "json")


Scope = Literal["all", "front", "filtered"]
SCOPES: tuple[Scope, ...] = ("all", "front", "filtered")  # the scope radio buttons' order
_SCOPE_NAMES: dict[Scope, str] = {"all": "candidates", "front": "front", "filtered": "filtered"}


def default_path(campaign_id: str, fmt: ExportFormat, scope: Scope) -> str:
    """``./{campaign_id}-candidates.csv`` (``-front``, ``-filtered``), the id made safe for a
    file name."""
    stem = _UNSAFE_IN_NAME.sub("_", campaign_id).lstrip(".") or "campaign"
    return f"./{stem}-{_SCOPE_NAMES[scope]}{EXTENSIONS[fmt]}"


class ExportScreen(ModalScreen[ExportResult | None]):
    """Format, scope and path; ``Export`` (or enter in the path) writes the file."""

    DEFAULT_CSS: ClassVar[str] = """
    ExportScreen {
        align: center middle;
    }
    ExportScreen > #export-body {
        width: 72;
        max-width: 100%;
        height: auto;
        border: round $accent;
        background: $surface;
        padding: 0 1;
    }
    ExportScreen .export-choices {
        height: auto;
    }
    ExportScreen RadioSet {
        width: 1fr;
    }
    ExportScreen #export-scope {
        width: 2fr;  /* "All candidates (1,000,000)": the formats' names are short */
    }
    ExportScreen #export-path {
        margin-top: 1;
    }
    ExportScreen #export-parquet-hint {
        color: $text-muted;
        height: auto;
    }
    ExportScreen #export-error {
        color: $error;
        height: auto;
    }
    ExportScreen #export-progress {
        color: $text-muted;
        height: auto;
    }
    ExportScreen #export-buttons {
        height: auto;
        align-horizontal: right;
    }
    ExportScreen #export-buttons Button {
        margin-left: 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, state: CampaignState, matching: ExportFilter | None = None) -> None:
        super().__init__()
        self.state = state
        self.matching = matching
        self.formats = available_formats()
        self.error: str | None = None  # the last failure, plain text
        self._default_path = default_path(state.campaign_id, "csv", "all" if matching is None else "filtered")
        self._path_edited = False  # once the user typed a path, choices stop rewriting it
        self.writing: Path | None = None  # the partial file while an export runs
        self.written = 0  # rows written so far by the running export

    def compose(self) -> ComposeResult:
        with Vertical(id="export-body") as body:
            body.border_title = f"export {clean(self.state.campaign_id, 60)}"
            with Horizontal(classes="export-choices"):
                with RadioSet(id="export-format"):
                    for index, fmt in enumerate(self.formats):
                        yield RadioButton(fmt.upper(), value=index == 0, id=f"format-{fmt}")
                with RadioSet(id="export-scope"):
                    filtered = self.matching is not None
                    yield RadioButton(
                        f"All candidates ({len(self.state.candidate_list):,})",
                        value=not filtered,
                        id="scope-all",
                    )
                    yield RadioButton(f"Pareto front only ({self.state.pareto_size:,})", id="scope-front")
                    if self.matching is not None:
                        yield RadioButton(
                            Text(f"Matching the filter ({self.matching.matches:,})"),
                            value=True,
                            id="scope-filtered",
                        )
            if "parquet" not in self.formats:
                # A Text, not a str: "[parquet]" would be read as markup.
                yield Static(Text(f"Parquet: {PARQUET_INSTALL}"), id="export-parquet-hint")
            yield Label("Path")
            yield Input(self._default_path, id="export-path")
            yield Static("", id="export-error")
            yield Static("", id="export-progress")
            with Horizontal(id="export-buttons"):
                yield Button("Cancel", id="export-cancel")
                yield Button("Export", variant="primary", id="export-write")

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    # ----- choices ---------------------------------------------------------------------

    @property
    def chosen_format(self) -> ExportFormat:
        pressed = self.query_one("#export-format", RadioSet).pressed_index
        return self.formats[pressed if 0 <= pressed < len(self.formats) else 0]

    @property
    def scope(self) -> Scope:
        pressed = self.query_one("#export-scope", RadioSet).pressed_index
        return SCOPES[pressed] if 0 <= pressed < len(SCOPES) else "all"

    @property
    def front_only(self) -> bool:
        return self.scope == "front"

    @property
    def path_text(self) -> str:
        return self.query_one("#export-path", Input).value

    @on(RadioSet.Changed)
    def _choice_changed(self) -> None:
        if not self._path_edited:
            self._default_path = default_path(self.state.campaign_id, self.chosen_format, self.scope)
            self.query_one("#export-path", Input).value = self._default_path

    @on(Input.Changed, "#export-path")
    def _path_changed(self, event: Input.Changed) -> None:
        if event.value != self._default_path:
            self._path_edited = True

    # ----- actions ---------------------------------------------------------------------

    @on(Button.Pressed, "#export-cancel")
    def action_cancel(self) -> None:
        self.workers.cancel_group(self, "export")  # its partial file is removed as it stops
        self.dismiss(None)

    @on(Button.Pressed, "#export-write")
    @on(Input.Submitted, "#export-path")
    def action_export(self) -> None:
        if self.writing is not None:
            return  # one export at a time
        text = self.path_text.strip()
        if not text:
            self._fail("Give a path to write to.")
            return
        path = Path(text).expanduser()
        if path.is_dir():
            self._fail(f"Cannot write {clean(str(path), 200)}: Is a directory.")
            return
        self._fail(None)
        self.writing = path.with_name(f".{path.name}.part")
        self.write_file(path, self.chosen_format, self.scope)

    @work(exclusive=True, group="export")
    async def write_file(self, path: Path, fmt: ExportFormat, scope: Scope) -> None:
        """The export, a block per step; the UI runs between two (see the module docstring)."""
        partial = self.writing
        assert partial is not None
        front_only = scope == "front"
        matching = self.matching if scope == "filtered" else None
        total = len(self.state.candidate_list) if not front_only else self.state.pareto_size
        where, keep = (matching.text, matching.mask) if matching is not None else (None, None)
        if matching is not None:
            total = matching.matches
        try:
            with _removed_unless_renamed(partial), contextlib.closing(
                export_steps(self.state, fmt, partial, front_only=front_only, where=where, keep=keep)
            ) as steps:
                for written in steps:
                    self.written = written
                    self._show_progress(total)
                    await self.between_steps()
                steps.close()  # the file closed, then renamed
                partial.replace(path)
        except MateriaError as exc:
            self._fail(exc.message)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            self._fail(f"Cannot write {clean(str(path), 200)}: {reason}.")
        else:
            self.dismiss(ExportResult(path, self.written, fmt, front_only, where))
        finally:
            self.writing = None
            self._show_progress(None)

    async def between_steps(self) -> None:
        """Let the app run (fold events, paint, take keys) before the next block."""
        await asyncio.sleep(0)

    def _show_progress(self, total: int | None) -> None:
        if not self.is_attached:
            return  # dismissed (cancelled) while the export stopped
        text = "" if total is None else f"Writing… {self.written:,} of {total:,} candidates"
        self.query_one("#export-progress", Static).update(Text(text))

    def _fail(self, message: str | None) -> None:
        self.error = None if message is None else clean(message, 300)
        if self.is_attached:
            self.query_one("#export-error", Static).update(Text(self.error or ""))


@contextlib.contextmanager
def _removed_unless_renamed(partial: Path) -> Iterator[None]:
    """Remove ``partial`` if it is still there when the block ends: the export failed or
    was cancelled (a ``CancelledError`` passes through after the removal)."""
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
