"""What the start-up path of `materia-tui watch` may import: one list for the test and the benchmark."""

from __future__ import annotations

# What `materia-tui watch ID` imports before the monitor's first frame (cli/watch.py,
# cli/display.py; source/first_page.py fetches the first page without httpx).
FIRST_FRAME_PATH = (
    "materia_tui.cli.main",
    "materia_tui.cli.watch",
    "materia_tui.cli.display",
    "materia_tui.source.first_page",
    "materia_tui.cli.headstart",
    "materia_tui.state",
    "materia_tui.ui.app",
)
# ... and all it imports: the live source once that frame is out.
WATCH_PATH = (*FIRST_FRAME_PATH, "materia_tui.source.websocket")
# Loaded by the live source after the first frame, never before it.
AFTER_FIRST_FRAME = ("httpx", "httpcore", "anyio", "h11", "websockets", "materia_tui.source.websocket")
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
