"""``table = OneChild(CandidateTable)``: a container's one child of a kind, as a property."""

from __future__ import annotations

from typing import Any, Generic, TypeVar, overload

from textual.dom import DOMNode
from textual.widget import Widget

W = TypeVar("W", bound=Widget)


class OneChild(Generic[W]):
    """A property that finds a node's one descendant widget of ``kind`` (or the one
    matching ``selector``, checked to be a ``kind``)."""

    def __init__(self, kind: type[W], selector: str | None = None) -> None:
        self.kind = kind
        self.selector = selector

    @overload
    def __get__(self, node: None, owner: Any) -> OneChild[W]: ...
    @overload
    def __get__(self, node: DOMNode, owner: Any) -> W: ...
    def __get__(self, node: DOMNode | None, owner: Any) -> OneChild[W] | W:
        if node is None:
            return self
        if self.selector is None:
            return node.query_one(self.kind)
        return node.query_one(self.selector, self.kind)
