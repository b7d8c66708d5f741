"""The source layer: where events come from (WebSocket + REST, replay files).

Every source is an async iterator of ``SourceItem``. It never touches the
state or the UI. Final failures (auth, not found, gave up) are raised as
``materia_tui.errors.MateriaError`` subclasses from the iterator.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Literal, Protocol, Self, TypeAlias

from materia_tui.protocol import Campaign, Event, Rejected
from materia_tui.state import CampaignState

ConnectionStatus = Literal["connecting", "backfilling", "live", "reconnecting", "closed", "failed"]


@dataclass(frozen=True, slots=True)
class EventReceived:
    event: Event
    received_at: float  # epoch seconds


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


SourceItem: TypeAlias = EventReceived | FrameRejected | MetadataReceived | ConnectionChanged


class GeneratorSource:
    """A source whose items come from one async generator, ``self._items``."""

    _items: AsyncGenerator[SourceItem, None]

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> SourceItem:
        return await self._items.__anext__()

    async def aclose(self) -> None:
        await self._items.aclose()


class EventSource(Protocol):
    def __aiter__(self) -> AsyncIterator[SourceItem]: ...

    async def aclose(self) -> None: ...


def apply_item(state: CampaignState, item: SourceItem) -> None:
    """Fold one source item into the state (connection changes are the UI's)."""
    if isinstance(item, EventReceived):
        state.apply(item.event, item.received_at)
    elif isinstance(item, FrameRejected):
        state.apply_rejected(item.rejected, item.received_at)
    elif isinstance(item, MetadataReceived):
        state.set_metadata(item.campaign)
