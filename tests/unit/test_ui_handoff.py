"""Handoff (ui/handoff.py): a value handed to a worker, let go of once taken."""

from __future__ import annotations

import sys

import pytest

from materia_tui.ui.handoff import Handoff


def test_a_handoff_gives_its_value_once_and_keeps_no_reference() -> None:
    value = object()
    handoff = Handoff(value)
    held = sys.getrefcount(value)
    assert not handoff.taken
    assert handoff.take() is value
    assert handoff.taken
    assert sys.getrefcount(value) == held - 1  # the handoff no longer holds it
    with pytest.raises(RuntimeError):
        handoff.take()
