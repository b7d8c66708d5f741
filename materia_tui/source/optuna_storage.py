"""Read-only, incremental access to an Optuna storage (an RDB URL or a journal file).

``open_store(spec)`` opens what Optuna would open for ``spec``, read only:

- ``sqlite:///x.db`` (or the path of a SQLite file) is opened with SQLite's
  ``mode=ro``: the watcher cannot write, never creates a missing file, and
  Optuna's table creation is skipped. PostgreSQL and MySQL sessions are made
  read-only by their connect options. Each read is a handful of short
  statements outside any transaction, so the optimizer's writes never wait
  for more than one statement.
- a journal file is read without its lock (Optuna's appends are whole lines;
  a half-written last line is read on the next poll) and never created.

``store.changes(study_id)`` returns the trials that are new or may have
changed since the previous call, as Optuna's own ``_CachedStorage`` does it:
trials with an id above the last finished one, plus the unfinished ones below
it (for a journal, the trials the new log lines touched). Optuna's private
table models, trial builder and journal replay are used for that on purpose:
its public API rereads the whole study on every call.

Errors on the first open are final (``UsageError``: exit 2, ``NotFoundError``:
exit 4). Later ones are ``StorageTrouble`` (the follower reopens and retries).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from materia_tui.errors import NotFoundError, UsageError
from materia_tui.sanitize import clean
from materia_tui.source.optuna_study import StudyInfo, study_info

if TYPE_CHECKING:
    from optuna.storages import JournalStorage, RDBStorage
    from optuna.study._frozen import FrozenStudy
    from optuna.trial import FrozenTrial

SQLITE_MAGIC = b"SQLite format 3\x00"
IN_CHUNK = 500


class StorageTrouble(Exception):
    """A read failed after the storage had been opened (retried); ``str()`` is one sentence."""


class StudyStore(Protocol):
    shown: str  # how the storage is named in messages (no password)
    optuna_storage: Any  # the Optuna storage object underneath (RDBStorage, JournalStorage)

    def studies(self) -> list[FrozenStudy]: ...
    def study_id(self, name: str) -> int: ...
    def info(self, study_id: int) -> StudyInfo: ...
    def changes(self, study_id: int) -> list[FrozenTrial]: ...
    def replaced(self) -> bool: ...
    def close(self) -> None: ...


def require_optuna() -> None:
    """``UsageError`` (exit 2) with the install command when Optuna is missing."""
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise UsageError(
            "Optuna is not installed here: pip install 'materia-tui[optuna]' (Optuna 4 or newer)."
        ) from None


def open_store(spec: str) -> StudyStore:
    """The storage ``spec`` names, opened read only; ``UsageError`` when it cannot be read."""
    require_optuna()
    if "://" in spec:
        return RdbStore(spec)
    try:
        with open(spec, "rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise UsageError(f"Cannot read the Optuna storage {clean(spec, 200)} ({exc.strerror}).") from None
    if head == SQLITE_MAGIC:
        return RdbStore("sqlite:///" + os.path.abspath(spec))
    return JournalStore(spec)


def _file_identity(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino) if stat.S_ISREG(info.st_mode) else None


def _not_found(name: str, shown: str) -> NotFoundError:
    return NotFoundError(f"There is no study {clean(name, 120)!r} in {shown}.")


def _study_id_by_name(store: StudyStore, name: str, lookup: Any) -> int:
    try:
        study_id: int = lookup(name)
    except KeyError:
        raise _not_found(name, store.shown) from None
    return study_id


# ----- RDB (SQLite, PostgreSQL, MySQL) -------------------------------------------------


@dataclass(slots=True)
class _Cursor:
    """Where the previous read of one study stopped (Optuna's ``_CachedStorage`` rule)."""

    last_finished_id: int = -1
    unfinished_ids: set[int] = field(default_factory=set)


class RdbStore:
    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            parsed = make_url(url)
        except ArgumentError:
            raise UsageError(f"{clean(url, 200)} is not a storage URL Optuna understands.") from None
        self.shown = clean(parsed.render_as_string(hide_password=True), 200)
        self.path: str | None = None
        kwargs: dict[str, Any] = {}
        backend = parsed.get_backend_name()
        if backend == "sqlite":
            if not parsed.database or parsed.database == ":memory:":
                raise UsageError("An in-memory SQLite storage cannot be watched: give the file's URL.")
            self.path = os.path.abspath(parsed.database)
            if _file_identity(self.path) is None:
                raise UsageError(f"Cannot read the Optuna storage {self.shown}: there is no such file.")
            # mode=ro: SQLite itself refuses any write, and never creates the file.
            parsed = parsed.set(
                database="file:" + quote(self.path), query={**parsed.query, "mode": "ro", "uri": "true"}
            )
        elif backend == "postgresql":
            kwargs["connect_args"] = {"options": "-c default_transaction_read_only=on"}
        elif backend in ("mysql", "mariadb"):
            kwargs["connect_args"] = {"init_command": "SET SESSION TRANSACTION READ ONLY"}
        self._url = parsed.render_as_string(hide_password=False).replace("{", "{{").replace("}", "}}")
        self._engine_kwargs = kwargs
        self._identity = _file_identity(self.path) if self.path else None
        self._cursors: dict[int, _Cursor] = {}
        self.optuna_storage = self._open()

    def _open(self) -> RDBStorage:
        from optuna.storages import RDBStorage

        try:
            return RDBStorage(
                self._url,
                engine_kwargs=dict(self._engine_kwargs),
                skip_table_creation=True,
            )
        except ImportError:
            raise UsageError(f"Cannot read {self.shown}: its database driver is not installed.") from None
        except Exception as exc:  # SQLAlchemy's and Optuna's errors vary by database
            raise UsageError(f"Cannot read the Optuna storage {self.shown} ({short_reason(exc)}).") from None

    def __repr__(self) -> str:
        return f"RdbStore({self.shown!r})"

    def studies(self) -> list[FrozenStudy]:
        return self.optuna_storage.get_all_studies()

    def study_id(self, name: str) -> int:
        return _study_id_by_name(self, name, self.optuna_storage.get_study_id_from_name)

    def info(self, study_id: int) -> StudyInfo:
        storage = self.optuna_storage
        return study_info(
            storage.get_study_name_from_id(study_id),
            storage.get_study_directions(study_id),
            storage.get_study_system_attrs(study_id),
            storage.get_study_user_attrs(study_id),
        )

    def changes(self, study_id: int) -> list[FrozenTrial]:
        """Trials above the last finished one, and the unfinished ones below it, read the
        way Optuna's storage reads trials (its models, its ``FrozenTrial`` builder). Its
        own ``_get_trials`` does this from Optuna 4.2 on; 4.0 rereads every trial id."""
        from optuna.storages._rdb import models
        from sqlalchemy import or_
        from sqlalchemy.orm import selectinload

        cursor = self._cursors.setdefault(study_id, _Cursor())
        trial = models.TrialModel
        below = sorted(i for i in cursor.unfinished_ids if i <= cursor.last_finished_id)
        storage = self.optuna_storage
        session = storage.scoped_session()
        try:
            models.StudyModel.find_or_raise_by_id(study_id, session)  # KeyError: the study is gone
            query = session.query(trial).filter(trial.study_id == study_id)
            for relation in (trial.params, trial.values, trial.user_attributes, trial.system_attributes,
                             trial.intermediate_values):
                query = query.options(selectinload(relation))
            # Unfinished trials below the mark go in chunks: SQL caps an IN list's length.
            chunks = [below[i : i + IN_CHUNK] for i in range(0, len(below), IN_CHUNK)] or [[]]
            newer = trial.trial_id > cursor.last_finished_id
            conditions = [or_(newer, trial.trial_id.in_(chunks[0])) if chunks[0] else newer]
            conditions += [trial.trial_id.in_(chunk) for chunk in chunks[1:]]
            found = []
            for condition in conditions:
                found += query.filter(condition).order_by(trial.trial_id).all()
            trials = [storage._build_frozen_trial_from_trial_model(model) for model in found]
        finally:
            session.close()  # ends the read transaction: no lock is held between polls
            storage.scoped_session.remove()
        for frozen in trials:
            if frozen.state.is_finished():
                cursor.unfinished_ids.discard(frozen._trial_id)
                cursor.last_finished_id = max(cursor.last_finished_id, frozen._trial_id)
            else:
                cursor.unfinished_ids.add(frozen._trial_id)
        return trials

    def replaced(self) -> bool:
        return self.path is not None and _file_identity(self.path) != self._identity

    def close(self) -> None:
        self.optuna_storage.remove_session()
        self.optuna_storage.engine.dispose()


# ----- journal files -----------------------------------------------------------------


def _read_only_backend(path: str) -> Any:
    """Optuna's journal file reader without its writer: no lock, no file creation."""
    from optuna.storages.journal import JournalFileBackend

    class ReadOnlyJournalFile(JournalFileBackend):
        def __init__(self, file_path: str) -> None:  # skips the parent's: it creates the file
            self._file_path = file_path
            self._log_number_offset: dict[int, int] = {0: 0}
            self.touched: set[int] = set()  # trial ids the logs read since the last clear()

        def read_logs(self, log_number_from: int) -> Generator[dict[str, Any], None, None]:
            for log in super().read_logs(log_number_from):
                trial_id = log.get("trial_id") if isinstance(log, dict) else None
                if isinstance(trial_id, int):
                    self.touched.add(trial_id)
                yield log

        def append_logs(self, logs: list[dict[str, Any]]) -> None:
            raise RuntimeError("materia-tui opens Optuna journals read only")

    return ReadOnlyJournalFile(path)


class JournalStore:
    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self.shown = clean(path, 200)
        self._identity = _file_identity(self.path)
        self._size = 0
        self._fresh: set[int] = set()  # studies whose every trial the next changes() returns
        self._backend = _read_only_backend(self.path)
        self.optuna_storage = self._open()

    def _open(self) -> JournalStorage:
        from optuna.storages import JournalStorage

        try:
            storage = JournalStorage(self._backend)
        except Exception as exc:  # a journal is a log of JSON operations: anything may be wrong
            reason = short_reason(exc)
            raise UsageError(f"{self.shown} is not a readable Optuna journal ({reason}).") from None
        self._size = os.path.getsize(self.path)
        if self._size and not storage._replay_result.log_number_read:
            # Optuna skips a last line it cannot decode (it may be half written): a file
            # of such lines only is no journal.
            raise UsageError(f"{self.shown} is neither an Optuna journal nor a SQLite file.")
        return storage

    def __repr__(self) -> str:
        return f"JournalStore({self.shown!r})"

    def studies(self) -> list[FrozenStudy]:
        return self.optuna_storage.get_all_studies()

    def study_id(self, name: str) -> int:
        study_id = _study_id_by_name(self, name, self.optuna_storage.get_study_id_from_name)
        self._fresh.add(study_id)
        return study_id

    def info(self, study_id: int) -> StudyInfo:
        study = self.optuna_storage._replay_result.get_study(study_id)
        return study_info(study.study_name, study.directions, study.system_attrs, study.user_attrs)

    def changes(self, study_id: int) -> list[FrozenTrial]:
        storage, backend = self.optuna_storage, self._backend
        result = storage._replay_result
        with storage._thread_lock:
            before = len(result._trials)
            backend.touched.clear()
            self._size = os.path.getsize(self.path)
            storage._sync_with_backend()
            touched = backend.touched | set(range(before, len(result._trials)))
        if study_id in self._fresh:
            self._fresh.discard(study_id)
            touched = set(result._study_id_to_trial_ids.get(study_id, ()))
        owner = result._trial_id_to_study_id
        return [result._trials[i] for i in sorted(touched) if owner.get(i) == study_id]

    def replaced(self) -> bool:
        if _file_identity(self.path) != self._identity:
            return True
        try:
            return os.path.getsize(self.path) < self._size  # rewritten in place
        except OSError:
            return True

    def close(self) -> None:
        """Nothing is held open between reads."""


def short_reason(exc: BaseException) -> str:
    """A short, password-free reason: the first line of the innermost cause's message
    (Optuna wraps SQLAlchemy's errors, which wrap the driver's)."""
    inner: BaseException = exc
    while inner.__cause__ is not None:
        inner = inner.__cause__
    original = getattr(inner, "orig", None)
    text = str(original if original is not None else inner).strip().splitlines()
    first = text[0] if text else type(inner).__name__
    return clean(first, 160).rstrip(".")
