"""The ``materia-tui`` command. Subcommands live in their own modules."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from materia_tui.cli.main import run

    code: int = run(sys.argv[1:] if argv is None else argv)
    return code
