"""Optuna studies run in another process, and the CLI run against them (functional tests)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

ROOT = Path(__file__).resolve().parent.parent.parent
EXE = str(Path(sys.executable).with_name("materia-tui"))


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATERIA_")}
    env["MATERIA_CONFIG"] = "/nonexistent/materia-tui.toml"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env.update(extra or {})
    return env


@dataclass
class Worker:
    """``tests.support.optuna_worker`` in a subprocess."""

    process: asyncio.subprocess.Process

    async def ready(self, timeout: float = 60.0) -> None:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if line.strip() != b"ready":
            _, err = await self.finish(10)
            raise RuntimeError(f"the optimizer did not start: {line!r} {err[-800:]}")

    async def finish(self, timeout: float = 120.0) -> tuple[int, str]:
        """Wait for the end; (exit code, stderr)."""
        _, err = await asyncio.wait_for(self.process.communicate(), timeout)
        assert self.process.returncode is not None
        return self.process.returncode, err.decode(errors="replace")

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()


async def start_worker(
    storage: str, study: str, kind: str, n_trials: int, *extra: str, env: dict[str, str] | None = None
) -> Worker:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.support.optuna_worker", storage, study, kind, "--n-trials", str(n_trials),
        *extra,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
        cwd=ROOT,
        env=clean_env(env),
    )
    worker = Worker(process)
    try:
        await worker.ready()
    except BaseException:
        worker.kill()
        raise
    return worker


async def run_worker(storage: str, study: str, kind: str, n_trials: int, *extra: str) -> None:
    """Run a whole optimization in another process."""
    worker = await start_worker(storage, study, kind, n_trials, *extra)
    code, err = await worker.finish()
    assert code == 0, err[-2000:]


async def start_cli(*args: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        EXE, *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
        env=clean_env(env),
    )


async def finish_cli(process: asyncio.subprocess.Process, timeout: float = 120.0) -> tuple[int, str, str]:
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        out, err = await process.communicate()
        raise AssertionError(f"the CLI did not end: {out.decode()[-1500:]} {err.decode()[-1500:]}") from None
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def run_cli(*args: str, timeout: float = 120.0, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    return await finish_cli(await start_cli(*args, env=env), timeout)


def storage_spec(tmp_path: Path, kind: str) -> str:
    """A fresh storage of ``kind`` ("sqlite" or "journal") under ``tmp_path``."""
    return f"sqlite:///{tmp_path / 'study.db'}" if kind == "sqlite" else str(tmp_path / "study.log")


def load_study(spec: str, name: str) -> optuna.Study:
    """The study as Optuna itself reads it: the truth the tests compare against."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage: Any = spec
    if "://" not in spec:
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        storage = JournalStorage(JournalFileBackend(spec))
    return optuna.load_study(study_name=name, storage=storage)


def front_numbers(study: optuna.Study) -> list[str]:
    return sorted(f"trial-{t.number}" for t in study.best_trials)
