"""A candidate's status, and the shared key layouts of the candidate store.

A ``Layout`` is the key tuples of a candidate's four sections (parameters,
predictions, uncertainties, measured objectives); the store (``state/store.py``)
keeps one per row instead of four dicts. Readers see a candidate as the store's
``CandidateView`` (``state.CandidateLike``).

The layouts are shared by every campaign of the process, on purpose: a
``Layout`` never changes once built, so the module's tables (``_layouts`` and
the ``_last_layout`` hint) are memo tables of a pure function of the key
tuples, like interned strings. Sharing them saves one copy per campaign of the
same keys. What one campaign can do to another is cost: a flood of odd key sets
clears the table (bounded by ``MAX_LAYOUTS``), and the others rebuild their
layouts once. Each read of the hint checks its keys before use, so a stale hint
is only a miss.
"""

from __future__ import annotations

from typing import Literal

CandidateStatus = Literal["proposed", "evaluated", "infeasible", "failed"]
Keys = tuple[str, ...]
Sections = tuple[Keys, Keys, Keys, Keys]
MAX_LAYOUTS = 4096  # distinct key sets remembered; a hostile stream cannot grow this


class Layout:
    """The keys of a candidate's four sections, and each section's names as a lookup table."""

    __slots__ = ("head", "indexes", "keys")

    def __init__(self, keys: Sections) -> None:
        self.keys = keys
        # The proposal's keys flat, sections split by 0 (never a key): what the
        # hot paths compare a new proposal with, one list instead of three tuples.
        self.head: list[object] = [*keys[0], 0, *keys[1], 0, *keys[2]]
        self.indexes = tuple({name: k for k, name in enumerate(section)} for section in keys)


_layouts: dict[Sections, Layout] = {}


def layout_for(keys: Sections) -> Layout:
    global _last_layout
    last = _last_layout  # read once: another thread's store may move the hint meanwhile
    if keys == last.keys:  # the usual case: like the previous candidate
        return last
    found = _layouts.get(keys)
    if found is None:
        found = Layout(keys)
        if len(_layouts) >= MAX_LAYOUTS:
            _layouts.clear()  # after a flood of odd key sets, let the usual ones back in
        _layouts[keys] = found
    _last_layout = found
    return found


_last_layout = _layouts[((), (), (), ())] = Layout(((), (), (), ()))
