from __future__ import annotations

import subprocess
import sys

from materia_tui import export
from materia_tui.cli import export as export_command
from materia_tui.cli.main import SUBCOMMANDS, build_parser


def test_every_subcommand_is_registered() -> None:
    help_text = build_parser().format_help()
    for name in SUBCOMMANDS:
        assert name in help_text


def test_export_formats_agree() -> None:
    assert export_command.EXPORT_FORMATS == export.EXPORT_FORMATS


def test_help_does_not_pay_for_the_protocol_schemas() -> None:
    code = (
        "import sys; from materia_tui.cli.main import build_parser; build_parser(); "
        "print(sorted(m for m in ('materia_tui.protocol', 'textual', 'pydantic', 'aiohttp') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
