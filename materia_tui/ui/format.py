"""Small, pure text formatters shared by the monitor's widgets."""

from __future__ import annotations

import math
import time

from materia_tui.protocol import ParameterValue


def duration(seconds: float | None) -> str:
    """``4m12s`` style; coarse on purpose so a ticking clock changes few cells."""
    if seconds is None or not math.isfinite(seconds):
        return "--"
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def since(seconds: float | None) -> str:
    """Time since something, with a resolution that drops as it grows (fewer redraws)."""
    if seconds is None:
        return "--"
    if seconds < 60:
        return f"{max(0, int(seconds))}s ago"
    if seconds < 3600:
        return f"{int(seconds // 60)}m ago"
    return f"{int(seconds // 3600)}h ago"


def number(value: float | None) -> str:
    if value is None:
        return "-"
    if not math.isfinite(value):
        return str(value)
    return f"{value:.4g}"


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
