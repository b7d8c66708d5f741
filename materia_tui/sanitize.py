"""Make strings from the network safe to show: plain text, no terminal control.

Control characters (C0, DEL, C1), bidi overrides and other invisible format
characters are made visible as ``\\xNN`` / ``\\u202e`` escapes, so an ESC can
never start a terminal sequence and a spoofed string still shows its tricks.
Rich markup is a separate concern: callers build ``rich.text.Text`` objects
(never markup strings) from these values.
"""

from __future__ import annotations

import re

_UNSAFE_RE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]"
)


def _escape(match: re.Match[str]) -> str:
    ch = match.group(0)
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(value: object, max_length: int | None = None) -> str:
    """``value`` as one line of inert text, optionally cut to ``max_length`` characters."""
    text = value if isinstance(value, str) else str(value)
    text = _UNSAFE_RE.sub(_escape, text)
    if max_length is not None and len(text) > max_length:
        text = text[: max(0, max_length - 1)] + "…"
    return text
