"""Watching an Optuna storage only reads it, never holds up the optimizer, and survives
the optimizer dying, the database being locked and the file being replaced."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from materia_tui.source import ConnectionChanged
from materia_tui.source.optuna import OptunaSource
from materia_tui.state import CampaignState
from materia_tui.state.intake import apply_item
from tests.support.optuna_process import load_study, run_cli, run_worker, start_worker, storage_spec

pytestmark = pytest.mark.timeout(300)


def snapshot(directory: Path) -> dict[str, tuple[str, int]]:
    """Every file's content hash and mtime: what "nothing was written" means."""
    return {
        path.name: (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
        for path in sorted(directory.iterdir())
        if path.is_file()
    }


class Follower:
    """An ``OptunaSource`` consumed in a task, as a monitor would."""

    def __init__(self, source: OptunaSource) -> None:
        self.source = source
        self.state = CampaignState(source.campaign_id)
        self.statuses: list[ConnectionChanged] = []
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for item in self.source:
            if isinstance(item, ConnectionChanged):
                self.statuses.append(item)
            apply_item(self.state, item)

    async def until(self, predicate: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.task.done():
                self.task.result()  # raises what ended it
                raise AssertionError(f"the source ended before {what}")
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.source.aclose()


@contextlib.asynccontextmanager
async def following(spec: str, study: str, **options: object) -> AsyncIterator[Follower]:
    follower = Follower(OptunaSource(spec, study, poll_seconds=0.1, **options))  # type: ignore[arg-type]
    try:
        yield follower
    finally:
        await follower.close()


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
async def test_watching_writes_nothing_to_the_storage(tmp_path: Path, kind: str) -> None:
    spec = storage_spec(tmp_path, kind)
    await run_worker(spec, "s", "tpe", 6)
    before = snapshot(tmp_path)
    code, out, err = await run_cli("watch", "--optuna", spec, "s", "--plain", "--n-trials", "6")
    assert code == 0 and out.endswith("Done! 6 iterations, 6 evaluations\n"), err
    for args in (["ls", "--optuna", spec], ["export", "--optuna", spec, "s"], ["ls", "--optuna", spec, "--json"]):
        code, _, err = await run_cli(*args)
        assert code == 0, err
    async with following(spec, "s") as follower:  # a follow that polls on without an end
        await follower.until(lambda: follower.source.polls >= 5, "five polls")
    assert snapshot(tmp_path) == before  # same files (no -journal, no .lock), same bytes, same mtimes


async def test_an_empty_or_foreign_sqlite_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    foreign = tmp_path / "foreign.db"
    with contextlib.closing(sqlite3.connect(foreign)) as db:
        db.execute("create table t (x)")
        db.commit()
    before = snapshot(tmp_path)
    for path in (empty, foreign):
        code, _, err = await run_cli("watch", "--optuna", f"sqlite:///{path}", "s", "--plain")
        assert code == 2, err
    assert snapshot(tmp_path) == before  # Optuna would have created its tables in both


async def test_the_optimizer_is_never_held_up_by_the_watcher(tmp_path: Path) -> None:
    """100 fast trials on SQLite (a commit every few ms) while the watcher polls every
    0.1 s: no trial of the optimizer fails on a locked database."""
    spec = storage_spec(tmp_path, "sqlite")
    worker = await start_worker(spec, "busy", "tpe", 100)
    try:
        async with following(spec, "busy", n_trials=100) as follower:
            code, err = await worker.finish(240)
            await follower.until(lambda: follower.state.is_finished, "the end of the study")
    finally:
        worker.kill()
    assert code == 0, err
    assert "locked" not in err
    study = load_study(spec, "busy")
    assert follower.state.evaluations == 100
    assert follower.state.best["value"].value == study.best_value


async def test_the_watch_survives_the_optimizer_dying_and_follows_its_successor(tmp_path: Path) -> None:
    spec = storage_spec(tmp_path, "sqlite")
    first = await start_worker(spec, "s", "tpe", 10, "--gate", str(tmp_path / "never"))
    async with following(spec, "s", n_trials=4, batch=1) as follower:
        await follower.until(lambda: "trial-0" in follower.state.candidates, "the running trial")
        first.kill()  # SIGKILL in the middle of trial 0: it stays RUNNING in the storage
        await first.finish()
        polls = follower.source.polls
        await follower.until(lambda: follower.source.polls >= polls + 5, "polls after the kill")
        assert follower.statuses[-1].status == "live"
        await run_worker(spec, "s", "tpe", 4)
        await follower.until(lambda: follower.state.is_finished, "the successor's trials")
    state = follower.state
    assert state.candidates["trial-0"].status == "proposed"  # its optimizer died: never finished
    assert state.evaluations == 4
    assert state.best["value"].value == load_study(spec, "s").best_value


async def test_a_database_locked_for_long_is_retried_then_followed_again(tmp_path: Path) -> None:
    spec = storage_spec(tmp_path, "sqlite")
    await run_worker(spec, "s", "tpe", 3)
    async with following(spec, "s") as follower:
        await follower.until(lambda: follower.state.evaluations == 3, "the history")
        with contextlib.closing(sqlite3.connect(tmp_path / "study.db", isolation_level=None)) as locker:
            locker.execute("BEGIN EXCLUSIVE")  # longer than SQLite's 5 s busy timeout
            await follower.until(
                lambda: any(s.status == "reconnecting" for s in follower.statuses), "a retry", timeout=30
            )
            locker.execute("ROLLBACK")
        await follower.until(lambda: follower.statuses[-1].status == "live", "live again", timeout=30)
        await run_worker(spec, "s", "tpe", 2)
        await follower.until(lambda: follower.state.evaluations == 5, "the new trials")
    detail = next(s.detail for s in follower.statuses if s.status == "reconnecting")
    assert "locked" in detail


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
async def test_a_replaced_file_is_reread_and_only_new_trials_are_added(tmp_path: Path, kind: str) -> None:
    spec = storage_spec(tmp_path, kind)
    path = Path(spec.removeprefix("sqlite:///"))
    await run_worker(spec, "s", "tpe", 3)
    async with following(spec, "s", n_trials=6, batch=1) as follower:
        await follower.until(lambda: follower.state.evaluations == 3, "the first three trials")
        # A newer copy of the study (e.g. rsync'ed from the cluster) replaces the file.
        newer = tmp_path / "newer"
        newer.mkdir()
        copy = newer / path.name
        shutil.copy(path, copy)
        await run_worker(spec.replace(str(path), str(copy)), "s", "tpe", 3)
        os.replace(copy, path)
        await follower.until(lambda: follower.state.is_finished, "the replaced file's new trials")
    state = follower.state
    assert state.evaluations == 6 and len(state.candidates) == 6
    assert state.counters.duplicates == 0
    assert state.best["value"].value == load_study(spec, "s").best_value


def test_unfinished_trials_below_the_last_finished_one_are_reread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Enqueued (WAITING) trials created before a finished one are reread on every poll,
    in IN lists of at most IN_CHUNK ids, until they finish; finished ones never again."""
    import optuna
    from optuna.trial import TrialState, create_trial

    from materia_tui.source import optuna_storage

    monkeypatch.setattr(optuna_storage, "IN_CHUNK", 2)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    spec = storage_spec(tmp_path, "sqlite")
    study = optuna.create_study(study_name="s", storage=spec)
    for x in range(5):
        study.enqueue_trial({"x": float(x)})
    distributions = {"x": optuna.distributions.FloatDistribution(0, 10)}
    study.add_trial(create_trial(state=TrialState.COMPLETE, value=1.0, params={"x": 9.0}, distributions=distributions))
    store = optuna_storage.open_store(spec)
    try:
        study_id = store.study_id("s")
        assert [t.state.name for t in store.changes(study_id)] == ["WAITING"] * 5 + ["COMPLETE"]
        assert len(store.changes(study_id)) == 5  # the waiting ones, in three IN lists
        study.optimize(lambda t: t.suggest_float("x", 0, 10), n_trials=2)  # runs two of them
        again = store.changes(study_id)
        assert sorted(t.state.name for t in again) == ["COMPLETE", "COMPLETE", "WAITING", "WAITING", "WAITING"]
        assert len(store.changes(study_id)) == 3
    finally:
        store.close()
