"""``materia-tui serve`` as a real subprocess (``python -m materia_tui serve``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
from dataclasses import dataclass, field
from typing import IO

START_TIMEOUT = 20.0


@dataclass
class ServeProcess:
    process: asyncio.subprocess.Process
    base_url: str
    _stderr: IO[bytes] = field(repr=False)

    def stderr_text(self) -> str:
        """Everything the process wrote to stderr so far (a file, so it can never block it)."""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    @property
    def origin(self) -> str:
        return self.base_url.removesuffix("/api/v1")

    @property
    def port(self) -> int:
        return int(self.origin.rsplit(":", 1)[1])

    def kill(self) -> None:
        """SIGKILL: no goodbye to the clients (a crash, not a shutdown)."""
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(sig)
        try:
            return await asyncio.wait_for(self.process.wait(), 10.0)
        except TimeoutError:
            self.process.kill()
            return await self.process.wait()


async def start_serve(*args: str, secret: str | None = None) -> ServeProcess:
    """Start ``serve --port 0 ARGS`` and wait for its ``serving URL`` line."""
    env = dict(os.environ)
    env.pop("MATERIA_JWT_SECRET", None)
    if secret is not None:
        env["MATERIA_JWT_SECRET"] = secret
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the process)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "materia_tui", "serve", "--port", "0", *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
        env=env,
    )
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    text = line.decode().strip()
    started = ServeProcess(process, text.removeprefix("serving "), stderr)
    if not text.startswith("serving "):
        await process.wait()
        raise RuntimeError(f"serve did not start: {text!r} {started.stderr_text()[-500:]!r}")
    return started
