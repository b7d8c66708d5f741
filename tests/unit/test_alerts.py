"""Alert byte sequences, their sanitization, tmux wrapping, and when the Alerter fires."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from materia_tui.output.alerts import (
    Alert,
    Alerter,
    AlertSettings,
    alert_bytes,
    bell,
    desktop_notification,
    detect_protocol,
    notification_text,
    osc9,
    osc777,
    tmux_passthrough,
)
from materia_tui.protocol import Rejected, parse_campaign, parse_object
from materia_tui.state import CampaignState
from tests.support.campaigns import campaign_events, campaign_meta

ESC, BEL = "\x1b", "\x07"


def test_bell_is_one_bel() -> None:
    assert bell() == "\x07"


def test_osc9_bytes() -> None:
    assert osc9("Campaign done") == "\x1b]9;Campaign done\x07"


def test_osc777_bytes() -> None:
    assert osc777("materia-tui", "camp-1 completed") == "\x1b]777;notify;materia-tui;camp-1 completed\x07"


def test_tmux_passthrough_doubles_every_escape() -> None:
    assert tmux_passthrough("\x1b]9;hi\x07") == "\x1bPtmux;\x1b\x1b]9;hi\x07\x1b\\"
    wrapped = tmux_passthrough(osc777("t", "b"))
    inner = wrapped.removeprefix("\x1bPtmux;").removesuffix("\x1b\\")
    assert inner == "\x1b\x1b]777;notify;t;b\x07"


@pytest.mark.parametrize(
    "hostile",
    [
        "done\x07\x1b]52;c;ZXZpbA==\x07",  # BEL ends the OSC early, then a clipboard write
        "done\x1b\\\x1b[2J",  # ST ends it, then clear screen
        "done\x9c\x9b31m",  # 8-bit ST and CSI
        "a;b;c",  # extra OSC 777 fields
        "line\nbreak\r\x00\x7f",
        "\u202eevil\u2066",
    ],
)
def test_hostile_text_cannot_end_or_inject_a_sequence(hostile: str) -> None:
    for sequence in (osc9(hostile), osc777(hostile, hostile)):
        body = sequence[len("\x1b]") : -1]
        assert sequence.endswith(BEL)
        assert ESC not in body and BEL not in body
        assert not re.search("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", body)
    assert osc777(hostile, hostile).count(";") == 3


@given(st.text(max_size=400), st.text(max_size=400))
def test_any_text_gives_exactly_one_well_formed_sequence(title: str, body: str) -> None:
    sequence = osc777(title, body)
    assert sequence.startswith("\x1b]777;notify;") and sequence.endswith(BEL)
    assert sequence.count(ESC) == 1 and sequence.count(BEL) == 1 and sequence.count(";") == 3
    wrapped = tmux_passthrough(sequence)
    # Inside the passthrough the only lone ESC is the final ST's.
    assert wrapped.removeprefix("\x1bPtmux;").removesuffix("\x1b\\").replace("\x1b\x1b", "").count(ESC) == 0


def test_notification_text_is_bounded_and_single_line() -> None:
    text = notification_text("x" * 1000 + "\n" + "y", 50)
    assert len(text) == 50 and text.endswith("…") and "\n" not in text


def test_protocol_detection() -> None:
    assert detect_protocol({"VTE_VERSION": "7600"}) == "osc777"
    assert detect_protocol({"TERM": "rxvt-unicode-256color"}) == "osc777"
    assert detect_protocol({"TERM_PROGRAM": "iTerm.app"}) == "osc9"
    assert detect_protocol({}) == "osc9"


def test_desktop_notification_is_wrapped_only_in_tmux() -> None:
    plain = desktop_notification("t", "b", "osc9")
    assert plain == "\x1b]9;t: b\x07"
    assert desktop_notification("t", "b", "osc9", tmux=True) == tmux_passthrough(plain)


def test_alert_bytes_follow_settings() -> None:
    alert = Alert("completed", "camp: completed", "3 iterations")
    assert alert_bytes(alert, AlertSettings(), {}) == BEL  # desktop notifications are off by default
    assert alert_bytes(alert, AlertSettings(bell=False), {}) == ""
    desktop = AlertSettings(bell=False, desktop=True, protocol="osc777")
    assert alert_bytes(alert, desktop, {}) == osc777("camp: completed", "3 iterations")
    in_tmux = alert_bytes(alert, desktop, {"TMUX": "/tmp/tmux-1000/default,1,0"})
    assert in_tmux == tmux_passthrough(osc777("camp: completed", "3 iterations"))


# ----- the Alerter, driven by a real state --------------------------------------


def fold_into(state: CampaignState, events: list[dict[str, Any]]) -> None:
    for raw in events:
        event = parse_object(raw)
        assert not isinstance(event, Rejected)
        state.apply(event, 0.0)


def make_alerter(**settings: Any) -> tuple[Alerter, list[str]]:
    written: list[str] = []
    return Alerter(AlertSettings(**settings), written.append, env={}), written


def test_completion_and_convergence_alert_once() -> None:
    events = campaign_events(2, iterations=3)
    state = CampaignState("camp-test", parse_campaign(campaign_meta(iterations=3)))
    alerter, written = make_alerter(desktop=True, protocol="osc9")
    fold_into(state, events[:-3])
    assert alerter.observe(state) == [] and written == []
    fold_into(state, events[-3:])  # the converged update, then campaign_completed
    alerts = alerter.observe(state)
    assert [a.kind for a in alerts] == ["converged", "completed"]
    assert alerts[1].title == "RO membrane screen: completed"
    assert alerts[1].body == "3 iterations, 9 evaluations"
    assert written == [BEL + osc9(f"{a.title}: {a.body}") for a in alerts]
    assert alerter.observe(state) == []  # never twice
    assert len(written) == 2


def test_a_late_join_announces_completion_with_the_history_in() -> None:
    # The metadata says "completed" before the history is folded: no toast with the counts so
    # far; the campaign_completed event at the end of the history brings it, with its totals.
    events = campaign_events(2, iterations=3)
    state = CampaignState("camp-test", parse_campaign(campaign_meta(iterations=3, status="completed")))
    alerter, written = make_alerter(on_converged=False)
    fold_into(state, events[:6])  # the first page: one iteration
    assert state.status == "completed" and alerter.observe(state) == [] and written == []
    fold_into(state, events[6:])
    alerts = alerter.observe(state)
    assert [(a.kind, a.body) for a in alerts] == [("completed", "3 iterations, 9 evaluations")]


def test_a_history_without_campaign_completed_is_announced_once_it_is_all_in() -> None:
    events = campaign_events(2, iterations=3)[:-1]  # a server that only set the status
    state = CampaignState("camp-test", parse_campaign(campaign_meta(iterations=3, status="completed")))
    alerter, written = make_alerter(on_converged=False)
    fold_into(state, events)
    assert alerter.observe(state) == []  # still loading, as far as the alerter is told
    alerts = alerter.observe(state, history_in=True)
    assert [(a.kind, a.body) for a in alerts] == [("completed", "3 iterations, 9 evaluations")]
    assert alerter.observe(state, history_in=True) == [] and written == [BEL]


def test_failure_and_errors() -> None:
    state = CampaignState("camp-x")
    alerter, written = make_alerter()
    fold_into(state, [{"type": "campaign_error", "error": "node\x1b]9;lost", "iteration": 2, "seq": 1}])
    alerts = alerter.observe(state)
    assert [a.kind for a in alerts] == ["error"]
    assert alerts[0].body == "iteration 2: node\\x1b]9,lost"  # escaped as in the monitor, ";" replaced
    assert alerts[0].severity == "warning"
    fold_into(state, [{"type": "campaign_error", "error": "worker lost", "fatal": True, "seq": 2}])
    alerts = alerter.observe(state)
    assert [(a.kind, a.body, a.severity) for a in alerts] == [("failed", "worker lost", "error")]
    assert written == [BEL, BEL]


def test_alert_kinds_can_be_turned_off() -> None:
    state = CampaignState("camp-test")
    fold_into(state, campaign_events(2, iterations=2))
    alerter, written = make_alerter(on_converged=False)
    assert [a.kind for a in alerter.observe(state)] == ["completed"]
    assert written == [BEL]


def test_notification_text_escapes_controls_the_way_the_monitor_does() -> None:
    from materia_tui.sanitize import clean

    hostile = "done\x1b]0;pwned\x07 \u202eevil\u00ad [bold]x[/]"
    assert notification_text(hostile, 500) == clean(hostile).replace(";", ",")
    assert notification_text("two\nlines\r\n", 50) == "two lines"
