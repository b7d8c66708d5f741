"""What the start-up path of `materia-tui watch` may import: one list for the test and the benchmark."""

from __future__ import annotations

# What `materia-tui watch ID` imports on its way to the monitor (cli/watch.py, cli/display.py).
WATCH_PATH = (
    "materia_tui.cli.main",
    "materia_tui.cli.watch",
    "materia_tui.cli.display",
    "materia_tui.source.websocket",
    "materia_tui.cli.headstart",
    "materia_tui.state",
    "materia_tui.ui.app",
)
# Never needed to watch a campaign: the server, the demo, the exports, heavy packages.
FORBIDDEN = (
    "aiohttp",
    "optuna",
    "sqlalchemy",
    "redis",
    "numpy",
    "sklearn",
    "scipy",
    "pandas",
    "pyarrow",
    "plotext",  # imported when a plot first draws, not at import time
    "textual_plotext",
    "materia_tui.backend.server",
    "materia_tui.backend.demo",
    "materia_tui.backend.run",
    "yaml",
    "materia_tui.backend.publish",
    "materia_tui.output.export",
    "materia_tui.ui.screens.export_screen",
    "materia_tui.ui.screens.help_screen",
)
