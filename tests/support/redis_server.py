"""A real redis-server for the tests: one per test session, on an ephemeral port.

Use the ``redis_url`` fixture (import it into the test module). With env
``REDIS_URL`` set (e.g. by a CI that runs its own server) that server is used
instead. Tests share the server, so each one uses its own campaign ids
(:func:`unique_campaign_id`) rather than flushing.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import require_binary

_server: subprocess.Popen[bytes] | None = None
_url: str | None = None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ping(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")
    return False


def _start(binary: str) -> str:
    global _server
    workdir = tempfile.mkdtemp(prefix="materia-redis-")
    for _attempt in range(5):  # the free port may be taken between probe and bind
        port = _free_port()
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", workdir, "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline and process.poll() is None:
            if _ping(port):
                _server = process
                atexit.register(_stop, workdir)
                return f"redis://127.0.0.1:{port}/0"
            time.sleep(0.02)
        process.kill()
        process.wait()
    raise RuntimeError("redis-server did not start on an ephemeral port")


def _stop(workdir: str) -> None:
    if _server is not None and _server.poll() is None:
        _server.terminate()
        try:
            _server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _server.kill()
    shutil.rmtree(workdir, ignore_errors=True)


def redis_server_url() -> str:
    """The session's Redis URL, starting the server on first use (skips if absent)."""
    global _url
    if _url is None:
        _url = os.environ.get("REDIS_URL") or _start(require_binary("redis-server"))
    return _url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    yield redis_server_url()


def unique_campaign_id(prefix: str = "camp") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
