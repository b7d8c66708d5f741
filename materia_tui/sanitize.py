"""Make strings from the network safe to show: plain text, no terminal control.

Control characters (C0, DEL, C1), bidi overrides and other invisible format
characters are made visible as ``\\xNN`` / ``\\u202e`` escapes, so an ESC can
never start a terminal sequence and a spoofed string still shows its tricks.
Rich markup is a separate concern: callers build ``rich.text.Text`` objects
(never markup strings) from these values.
"""

from __future__ import annotations

import re

# Every code point of Unicode's categories Cc (controls), Cf (invisible format
# characters: bidi, zero-width, soft hyphen, tag characters that smuggle
# invisible ASCII), Zl and Zp (line and paragraph separators), as of Unicode 14.
_UNSAFE_RE = re.compile(
    "[\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def clean(value: object, max_length: int | None = None) -> str:
    """``value`` as one line of inert text, optionally cut to ``max_length`` characters."""
    text = value if isinstance(value, str) else str(value)
    text = _UNSAFE_RE.sub(_escape, text)
    if max_length is not None and len(text) > max_length:
        text = text[: max(0, max_length - 1)] + "…"
    return text
