from __future__ import annotations

import subprocess
import sys

import pytest

from materia_tui.cli import export as export_command
from materia_tui.cli.main import SUBCOMMANDS, build_parser
from materia_tui.output import export


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


@pytest.mark.parametrize("command", ["watch", "replay", "demo"])
def test_refresh_takes_seconds_within_bounds(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    target = "rec.jsonl" if command == "replay" else "camp-1"
    argv = [command, *([target] if command != "demo" else []), "--refresh", "5"]
    assert build_parser().parse_args(argv).refresh == 5.0
    assert build_parser().parse_args(argv[:-2]).refresh is None  # the monitor's defaults
    for bad in ("0", "61", "nan", "soon"):
        with pytest.raises(SystemExit) as exit_info:
            build_parser().parse_args([*argv[:-1], bad])
        assert exit_info.value.code == 2
        assert "--refresh" in capsys.readouterr().err
