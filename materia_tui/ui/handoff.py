"""``Handoff``: one value handed to a thread worker, let go of as soon as the worker takes it.

A Textual worker's callable lives as long as the ``Worker``, and a worker
lives on in reference cycles (its task, the context that names the active
worker; the next worker started from its callback holds the previous one)
until a full garbage collection, which the monitor runs rarely (cli/main.py
raises the thresholds). A snapshot of a campaign's columns captured by that
callable stayed alive with it: at 100k candidates the stop advisor's copies,
~3 MB each, piled up to ~10 MB. Handed over through a ``Handoff``, the copy
is freed when the worker is done with it, by reference counting alone.
"""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class Handoff(Generic[T]):
    """Holds one value until ``take`` (which may be called once)."""

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        self._value: T | None = value

    @property
    def taken(self) -> bool:
        return self._value is None

    def take(self) -> T:
        value = self._value
        if value is None:
            raise RuntimeError("a handoff is taken once")
        self._value = None
        return value
