"""The source layer: where events come from (WebSocket + REST, replay files).

Every source is an async iterator of ``SourceItem``. It never touches the
state or the UI. Final failures (auth, not found, gave up) are raised as
``materia_tui.errors.MateriaError`` subclasses from the iterator.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, Self, TypeAlias, runtime_checkable

if TYPE_CHECKING:  # the items only carry these; importing pydantic here would slow `--help`
    from materia_tui.protocol import Campaign, Event, Rejected

ConnectionStatus = Literal["connecting", "backfilling", "live", "reconnecting", "closed", "failed"]


@dataclass(frozen=True, slots=True)
class EventReceived:
    event: Event
    received_at: float  # epoch seconds


_new_object = object.__new__
_set_event = EventReceived.__dict__["event"].__set__
_set_received_at = EventReceived.__dict__["received_at"].__set__


def event_received(event: Event, received_at: float) -> EventReceived:
    """``EventReceived(event, received_at)`` at half the cost, for a source's hot path: a
    frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``."""
    item: EventReceived = _new_object(EventReceived)
    _set_event(item, event)
    _set_received_at(item, received_at)
    return item


@dataclass(frozen=True, slots=True)
class FrameRejected:
    rejected: Rejected
    received_at: float


@dataclass(frozen=True, slots=True)
class MetadataReceived:
    campaign: Campaign


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    status: ConnectionStatus
    attempt: int = 0  # reconnect attempt number, 0 on the first connection
    retry_in: float | None = None  # seconds until the next attempt, when reconnecting
    detail: str = ""  # one plain-text sentence, never containing the token
    # True when the connection works only in part (no history, no metadata, REST
    # polling while the WebSocket is refused): ``detail`` says what is missing.
    degraded: bool = False
    # The host name that does not resolve, when that is why this attempt failed: a
    # viewer may report a repeat of it quietly (a typo or a missing URL stays one).
    unresolved_host: str | None = None
    # While ``backfilling`` a history of more than one page: the seqs it runs from and to
    # (a viewer may show "loading history N%" and repaint at a catch-up rate meanwhile).
    history: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class NoteAdded:
    """A short note a user pinned to an iteration (the monitor's ``N``), or read back from a recording."""

    iteration: int | None
    text: str  # plain text, one line
    at: float  # epoch seconds


SourceItem: TypeAlias = EventReceived | FrameRejected | MetadataReceived | ConnectionChanged | NoteAdded


class GeneratorSource:
    """A source whose items come from one async generator, ``self._items``."""

    _items: AsyncGenerator[SourceItem, None]

    def __aiter__(self) -> AsyncIterator[SourceItem]:
        # ``async for`` runs the generator itself: a coroutine of ``__anext__`` per item
        # costs more than the item's handling in a fast consumer.
        return self._items

    async def __anext__(self) -> SourceItem:
        return await self._items.__anext__()

    async def aclose(self) -> None:
        await self._items.aclose()


class ClosesOnExit:
    """``with thing: ...`` calls ``thing.close()`` on the way out."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AclosesOnExit:
    """``async with thing: ...`` awaits ``thing.aclose()`` on the way out."""

    async def aclose(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


@runtime_checkable
class NoteSink(Protocol):
    """A source that keeps the notes typed while it runs (``watch --record`` writes them)."""

    def record_note(self, note: NoteAdded) -> None: ...


class EventSource(Protocol):
    def __aiter__(self) -> AsyncIterator[SourceItem]: ...

    async def aclose(self) -> None: ...


# Optional capabilities: a viewer asks a source for them instead of knowing its class.


@runtime_checkable
class ReplaySteering(Protocol):
    """Steering of a source that plays a recording (``source.control``): instant calls."""

    finished: bool

    def toggle_pause(self) -> None: ...

    def step_iteration(self) -> None: ...

    def jump_to_end(self) -> None: ...

    def faster(self) -> None: ...

    def slower(self) -> None: ...

    def describe(self) -> str: ...


def replay_steering(source: object) -> ReplaySteering | None:
    control = getattr(source, "control", None)
    return control if isinstance(control, ReplaySteering) else None


def note_sink(source: object) -> NoteSink | None:
    """The source, or one it wraps (``.source``), that keeps notes; None when none does."""
    found = _wrapped(source, NoteSink)
    return found if isinstance(found, NoteSink) else None


@runtime_checkable
class AwaitsFirstFrame(Protocol):
    """A source that holds back work a first frame does without (imports, the live
    connection) until the viewer says that frame is out (source/first_page.py)."""

    def first_frame_shown(self) -> None: ...


def first_frame_shown(source: object) -> None:
    """Tell the source, or one it wraps, that the viewer's first frame is out (if it waits for that)."""
    found = _wrapped(source, AwaitsFirstFrame)
    if isinstance(found, AwaitsFirstFrame):
        found.first_frame_shown()


def _wrapped(source: object, capability: type) -> object | None:
    """The source, or the first one it wraps (``.source``, and so on) that is a ``capability``."""
    for _ in range(8):  # wrappers are few; a cycle must not hang the UI
        if isinstance(source, capability):
            return source
        source = getattr(source, "source", None)
        if source is None:
            return None
    return None


@runtime_checkable
class FoldsAhead(Protocol):
    """A source that folds its first items into the state before the view reads it.

    ``received_data`` says whether it has; otherwise ``on_data`` is called once when it does.
    """

    received_data: bool
    on_data: Callable[[], None] | None
