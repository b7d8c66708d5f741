"""Every key of the monitor, once: the bindings, the footer, the help screen and
the command palette are all made from ``KEYS`` (and a test checks the README's
key table against it).

A key lives on what it acts on: ``app`` keys on the app (quit, help), ``view``
and ``replay`` keys on the ``CampaignView`` (so they exist only where a campaign
is on screen), ``several`` keys on the several-campaign app. ``table`` rows
only document the candidate table's own scrolling bindings.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from textual.binding import Binding

Scope = Literal["app", "view", "replay", "several", "table"]


@dataclass(frozen=True, slots=True)
class Key:
    keys: str  # Textual key names, comma-separated
    action: str
    label: str  # the footer's word
    help: str  # the help screen's line
    scope: Scope
    shown: str = ""  # the key as the help screen and README write it (default: ``keys``)
    footer: bool = False
    palette: str = ""  # the command palette's name for it ("": not in the palette)
    priority: bool = False

    @property
    def display(self) -> str:
        return self.shown or self.keys


# One row per key: Key(keys, action, label, help, scope, options).
KEYS: tuple[Key, ...] = (
    Key("q", "quit", "Quit", "quit (exit code 1 if the campaign failed)", "app", footer=True),
    Key("question_mark", "help", "Help", "this help", "app", shown="?", footer=True, palette="Help"),
    Key("space", "toggle_pause", "Pause", "pause / resume the display (still receiving)", "view", footer=True,
        palette="Pause / resume"),
    Key("f", "panel('candidates', 'cycle_filter')", "Filter", "filter: all, Pareto, this iteration, problems",
        "view", footer=True, palette="Filter candidates"),
    Key("s", "panel('candidates', 'cycle_sort')", "Sort", "sort candidates by the next column", "view",
        footer=True, palette="Sort candidates"),
    Key("r", "panel('candidates', 'reverse_sort')", "Reverse sort", "reverse the sort order", "view",
        palette="Reverse sort"),
    Key("t", "panel('candidates', 'toggle_follow')", "Follow", "follow the newest candidate on / off", "view",
        palette="Follow newest"),
    Key("l", "toggle_log", "Log", "show / hide the event log", "view", footer=True,
        palette="Toggle event log"),
    Key("e", "export", "Export", "export candidates (CSV, JSON, Parquet)", "view", footer=True,
        palette="Export candidates"),
    Key("v", "toggle_parity", "Parity", "predicted vs measured (parity) in place of the Pareto plot", "view",
        palette="Predicted vs measured"),
    Key("p", "panel('parity', 'cycle_objective')", "Parity objective", "cycle the parity plot's objective",
        "view"),
    Key("x", "panel('pareto', 'cycle_x')", "Plot x", "cycle the Pareto plot's x objective", "view",
        palette="Next x objective"),
    Key("y", "panel('pareto', 'cycle_y')", "Plot y", "cycle the Pareto plot's y objective", "view",
        palette="Next y objective"),
    Key("1", "show_section('overview')", "Overview", "section: overview", "view"),
    Key("2", "show_section('candidates')", "Candidates", "section: candidates", "view"),
    Key("3", "show_section('pareto')", "Pareto", "section: Pareto", "view"),
    Key("4", "show_section('log')", "Log", "section: event log", "view"),
    Key("5", "show_section('parity')", "Parity", "section: predicted vs measured", "view"),
    Key("slash", "open_filter", "Filter expression", "filter expression for table and plots (enter applies)",
        "view", shown="/", palette="Filter expression"),
    Key("N", "open_note", "Note", "pin a note to this iteration (log, recording, export)", "view",
        palette="Pin a note"),
    Key("6", "show_view('importance')", "Importance", "Parameter importance per objective", "view",
        palette="Parameter importance"),
    Key("i", "show_view('importance')", "Importance", "Parameter importance (as 6)", "view"),
    Key("7", "show_view('hypervolume')", "Hypervolume", "Hypervolume per iteration, and the stop advisor",
        "view", palette="Hypervolume"),
    Key("h", "show_view('hypervolume')", "Hypervolume", "Hypervolume (as 7)", "view"),
    Key("8", "show_view('slices')", "Slices", "Slice plots: an objective against one parameter", "view",
        palette="Slice plots"),
    Key("9", "show_view('parallel')", "Parallel", "Parallel coordinates: candidates across every axis",
        "view", palette="Parallel coordinates"),
    Key("w", "cycle_plot", "Next plot", "next plot in the plot slot (Pareto, parity, 6-9)", "view",
        palette="Next plot"),
    Key("j", "cycle_in_view", "Next axis", "next slice parameter / parallel-coordinates axis", "view"),
    Key("b", "brush", "Brush", "brush the parallel axis (becomes the / filter)", "view"),
    Key("n", "replay('step_iteration')", "Next iteration",
        "replay: play to the end of the next iteration, then pause", "replay", footer=True),
    Key("G", "replay('jump_to_end')", "To end", "replay: jump to the end of the recording", "replay",
        footer=True),
    Key("end", "replay('jump_to_end')", "To end", "replay: jump to the end (as G)", "replay", priority=True),
    Key("plus,equals_sign", "replay('faster')", "Faster", "replay: twice as fast", "replay", shown="+",
        footer=True),
    Key("minus", "replay('slower')", "Slower", "replay: half as fast", "replay", shown="-", footer=True),
    Key("right_square_bracket", "next_campaign", "Next tab", "several: next campaign tab", "several",
        shown="]", footer=True),
    Key("left_square_bracket", "previous_campaign", "Previous tab", "several: previous campaign tab",
        "several", shown="["),
    Key("0", "show_all", "All", "several: the All tab, one row per campaign (enter opens)", "several"),
    Key("c", "show_compare", "Compare", "several: the Compare tab (watch/replay --compare)", "several"),
    Key("o", "open_picker", "Open", "several: open more campaigns from the server's list", "several",
        footer=True),
    Key("up,down,pageup,pagedown", "", "", "scroll the candidate table", "table", shown="arrows, pgup/dn"),
    Key("left,right", "", "", "scroll the candidate table sideways, a column at a time", "table",
        shown="left / right"),
    Key("home,end", "", "", "top of the table / newest row (resumes follow)", "table", shown="home / end"),
    Key("ctrl+p", "", "", "command palette", "table", shown="ctrl+p"),
)  # fmt: skip


def bindings(scope: Scope) -> list[Binding]:
    return [
        Binding(
            key.keys,
            key.action,
            key.label,
            show=key.footer,
            key_display=key.shown or None,
            priority=key.priority,
            tooltip=key.help,
        )
        for key in KEYS
        if key.scope == scope
    ]


def actions(*scopes: Scope) -> frozenset[str]:
    return frozenset(key.action.split("(")[0] for key in KEYS if key.scope in scopes and key.action)


def palette_entries() -> Iterator[Key]:
    """The keys the command palette offers, in ``KEYS`` order."""
    return (key for key in KEYS if key.palette)


def help_rows() -> Iterator[tuple[str, str]]:
    """(key as shown, what it does) for the help screen, one row per distinct key."""
    seen: set[str] = set()
    for key in KEYS:
        if key.display in seen:
            continue
        seen.add(key.display)
        yield key.display, key.help
