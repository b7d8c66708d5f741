"""Import hygiene of start-up (issue #5): what `materia-tui watch`, `--help` and
`--version` import, checked in fresh interpreters (no timings)."""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys

from materia_tui.cli.main import ALL, SUBCOMMANDS, SUMMARIES, build_parser, named_command
from tests.support.import_hygiene import AFTER_FIRST_FRAME, FIRST_FRAME_PATH, FORBIDDEN, WATCH_PATH


def modules_after(code: str) -> set[str]:
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout.splitlines()[-1]))


def imported(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


def test_the_watch_path_imports_no_server_demo_or_heavy_package() -> None:
    modules = modules_after("".join(f"import {name}\n" for name in WATCH_PATH))
    assert "textual.app" in modules and "websockets" in modules  # the path was really imported
    assert imported(modules, FORBIDDEN) == []


def test_the_first_frame_path_imports_neither_httpx_nor_websockets() -> None:
    modules = modules_after("".join(f"import {name}\n" for name in FIRST_FRAME_PATH))
    assert "textual.app" in modules and "materia_tui.protocol" in modules  # really imported
    assert imported(modules, AFTER_FIRST_FRAME) == []


def test_watch_skips_httpx_command_line_tool() -> None:
    """httpx imports click and pygments for its own CLI unless told not to; watch tells it."""
    skip = "from materia_tui.cli.watch import skip_httpx_command_line\nskip_httpx_command_line()\n"
    live = "from materia_tui.source.first_page import live_source_class\nlive_source_class()\n"
    modules = modules_after(skip + "".join(f"import {name}\n" for name in WATCH_PATH) + live)
    assert "httpx" in modules and "textual.app" in modules
    assert imported(modules, ("click", "pygments")) == []


def test_help_and_version_import_no_subcommand_module_and_no_asyncio() -> None:
    code = (
        "from materia_tui.cli.main import build_parser, named_command\n"
        "for argv in (['--help'], ['--version'], []):\n"
        "    build_parser(named_command(argv))\n"
    )
    modules = modules_after(code)
    subcommands = tuple(f"materia_tui.cli.{name}" for name in SUBCOMMANDS)
    assert imported(modules, subcommands) == []
    assert imported(modules, ("asyncio", "materia_tui.protocol", "pydantic", "textual", "platformdirs")) == []


def test_a_command_line_imports_only_its_subcommand() -> None:
    modules = modules_after("from materia_tui.cli.main import build_parser\nbuild_parser('token')\n")
    assert imported(modules, tuple(f"materia_tui.cli.{name}" for name in SUBCOMMANDS)) == [
        "materia_tui.cli.token"
    ]


def test_named_command_is_the_first_word() -> None:
    assert named_command(["watch", "camp-1", "--plain"]) == "watch"
    assert named_command(["--version"]) is None
    assert named_command(["-h", "ls"]) == "ls"
    assert named_command(["nonsense", "watch"]) is None


def _registered_help(name: str) -> str | None:
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers()
    importlib.import_module(f"materia_tui.cli.{name}").register(subparsers)
    return next(action.help for action in subparsers._choices_actions if action.dest == name)


def test_summaries_are_what_each_subcommand_registers() -> None:
    assert set(SUMMARIES) == set(SUBCOMMANDS)
    for name in SUBCOMMANDS:
        assert SUMMARIES[name] == _registered_help(name), name


def test_the_light_top_level_help_is_the_full_one() -> None:
    assert build_parser(None).format_help() == build_parser(ALL).format_help()
