"""Number and duration formatting shared by every text output."""

from __future__ import annotations

import math


def format_value(value: float) -> str:
    """Compact, stable text for a measured or predicted value (42.3, 0.0342, 1234.5)."""
    if not math.isfinite(value):
        return str(value)
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-4):
        return f"{value:.3e}"
    if abs(value) >= 1000:
        return f"{value:.1f}"
    return f"{value:.4g}"


def with_unit(value: float, unit: str | None) -> str:
    """``93.1%`` for percentages, ``42.3 L/m2/h`` for other units, bare otherwise."""
    text = format_value(value)
    if not unit:
        return text
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}"


def format_seconds(seconds: float) -> str:
    return f"{seconds:.1f}s"


def format_duration(seconds: float | None) -> str:
    """Human durations for elapsed/ETA: ``42s``, ``3m 05s``, ``2h 04m``, and from two
    days on ``3d 04h`` (a week-long campaign read ``172h 41m``)."""
    if seconds is None or not math.isfinite(seconds):
        return "--"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 48:
        days, hours = divmod(hours, 24)
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"
