"""Small, pure text formatters for the monitor's widgets.

Numbers, units and durations come from ``materia_tui.output.numbers`` (one
formatting for every output); this module only adds what a screen needs on
top: ``None`` shown as ``-``, the "quiet" marker, counts and clock times.
"""

from __future__ import annotations

import time

from materia_tui.output.numbers import format_value, with_unit
from materia_tui.protocol import ParameterValue
from materia_tui.sanitize import clean

__all__ = ["clock", "count", "number", "parameter", "quiet", "value_with_unit"]


# How long a stream may stay silent before the monitor says so, then the steps
# at which it says so again: each step is one redraw, so an idle monitor writes
# nothing between them (a monitor left open all day costs a few bytes an hour).
QUIET_STEPS: tuple[int, ...] = (60, 5 * 60, 15 * 60, 30 * 60, 3600)


def quiet(seconds: float | None) -> str | None:
    """``"quiet 5m+"`` once nothing arrived for a while, else None (not quiet, or unknown)."""
    if seconds is None or seconds < QUIET_STEPS[0]:
        return None
    if seconds >= 3600:
        return f"quiet {int(seconds // 3600)}h+"
    step = max(s for s in QUIET_STEPS if s <= seconds)
    return f"quiet {step // 60}m+"


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
