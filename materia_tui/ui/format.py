"""Small, pure text formatters for the monitor's widgets.

Numbers, units and durations come from ``materia_tui.output.numbers`` (one
formatting for every output); this module only adds what a screen needs on
top: ``None`` shown as ``-``, coarse "ago" times, counts and clock times.
"""

from __future__ import annotations

import time

from materia_tui.output.numbers import format_value, with_unit
from materia_tui.protocol import ParameterValue
from materia_tui.sanitize import clean

__all__ = ["clock", "count", "number", "parameter", "since", "value_with_unit"]


def since(seconds: float | None) -> str:
    """Time since something, in steps that grow with it: every change is a redraw
    (bytes over SSH), and a monitor left idle all day should stay quiet."""
    if seconds is None:
        return "--"
    if seconds < 10:
        return "<10s ago"
    if seconds < 60:
        return f"{int(seconds) // 10 * 10}s ago"
    if seconds < 3600:
        return f"{int(seconds // 60)}m ago"
    return f"{int(seconds // 3600)}h ago"


def number(value: float | None) -> str:
    return "-" if value is None else format_value(value)


def value_with_unit(value: float | None, unit: str | None) -> str:
    """``with_unit`` for a value that may be missing; the unit comes from the network."""
    if value is None:
        return "-"
    return with_unit(value, clean(unit, 12) if unit else None)


def parameter(value: ParameterValue | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return number(value)
    return str(value)


def count(value: int) -> str:
    return f"{value:,}"


def clock(epoch: float) -> str:
    """UTC wall-clock time of an event (UTC keeps logs comparable across machines)."""
    return time.strftime("%H:%M:%S", time.gmtime(epoch))
