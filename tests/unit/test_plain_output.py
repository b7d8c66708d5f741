from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from typing import Any

from materia_tui.errors import ExitCode
from materia_tui.output.numbers import format_duration, format_value, with_unit
from materia_tui.output.plain import ConnectionNotices, PlainFormatter
from materia_tui.output.stream import print_stream
from materia_tui.protocol import Rejected, parse, parse_campaign
from materia_tui.source import (
    ConnectionChanged,
    EventReceived,
    FrameRejected,
    MetadataReceived,
    SourceItem,
)
from materia_tui.state import CampaignState
from tests.support.campaigns import campaign_events, campaign_meta


class ListSource:
    def __init__(self, items: list[SourceItem]) -> None:
        self.items = items
        self.closed = False

    def __aiter__(self) -> AsyncIterator[SourceItem]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[SourceItem]:
        for item in self.items:
            yield item

    async def aclose(self) -> None:
        self.closed = True


def items_for(raw: list[dict[str, Any]], meta: dict[str, Any] | None) -> list[SourceItem]:
    items: list[SourceItem] = [ConnectionChanged("connecting")]
    if meta:
        campaign = parse_campaign(meta)
        assert campaign is not None
        items.append(MetadataReceived(campaign))
    for i, frame in enumerate(raw):
        parsed = parse(json.dumps(frame))
        if isinstance(parsed, Rejected):
            items.append(FrameRejected(parsed, float(i)))
        else:
            items.append(EventReceived(parsed, float(i)))
    return items


async def run_lines(items: list[SourceItem], mode: str = "plain") -> tuple[ExitCode, list[str], list[str]]:
    out, err = io.StringIO(), io.StringIO()
    source = ListSource(items)
    code = await print_stream(source, CampaignState("camp-test"), mode, out, err)  # type: ignore[arg-type]
    assert source.closed
    return code, out.getvalue().splitlines(), err.getvalue().splitlines()


async def test_plain_lines_follow_matcrafts_cli_style() -> None:
    raw = campaign_events(2, iterations=2, batch=3)
    code, lines, err = await run_lines(items_for(raw, campaign_meta(iterations=2, batch=3)))
    assert code == ExitCode.OK and err == []
    assert lines[0] == "[Iter  1/2] Optimizing acquisition... done (1.2s, 3 candidates)"
    assert lines[1].startswith("[Iter  1/2] Evaluating candidates... done (0.3s")
    assert lines[2].startswith("[Iter  1/2] Best: water_flux=") and "L/m2/h, salt_rejection=" in lines[2]
    assert lines[2].endswith("%")
    val_loss = next(e for e in raw if e["type"] == "surrogate_trained")["metrics"]["val_loss"]
    assert lines[3] == f"[Iter  2/2] Training surrogate... done (0.8s, val_loss={format_value(val_loss)})"
    assert lines[-2] == "[Iter  2/2] Converged (metric=0.5)"
    assert lines[-1] == "Done! 2 iterations, 6 evaluations"


async def test_best_line_numbers_match_the_best_measurements() -> None:
    raw = campaign_events(5, iterations=3, batch=4)
    _, lines, _ = await run_lines(items_for(raw, campaign_meta(iterations=3, batch=4)))
    best = max(
        r["objectives"]["water_flux"]
        for e in raw
        if e["type"] == "candidates_evaluated"
        for r in e["results"]
        if r.get("feasible", True) and not r.get("error")
    )
    last_best = [line for line in lines if "Best:" in line][-1]
    assert f"water_flux={format_value(best)} L/m2/h" in last_best


async def test_unknown_total_prints_question_mark_and_failure_exits_1() -> None:
    raw = campaign_events(1, iterations=3, batch=2, fail_at=2)
    code, lines, _ = await run_lines(items_for(raw, None))
    assert code == ExitCode.CAMPAIGN_FAILED
    assert lines[0].startswith("[Iter  1/?]")
    assert lines[-1] == "[Iter  2/?] Failed: worker lost"


async def test_json_mode_prints_one_normalized_object_per_applied_event() -> None:
    raw = campaign_events(1, iterations=2, batch=2)
    items = items_for(raw, None)
    items.insert(5, items[4])  # a duplicate is applied once
    items.insert(3, FrameRejected(Rejected("malformed", "frame is not valid JSON"), 0.0))
    code, lines, err = await run_lines(items, "json")
    assert code == ExitCode.OK
    objs = [json.loads(line) for line in lines]
    assert [o["seq"] for o in objs] == list(range(1, len(raw) + 1))
    assert objs[0]["type"] == "iteration_started" and objs[0]["campaign_id"] == "camp-test"
    assert err == ["warning: skipped a frame: frame is not valid JSON"]


async def test_network_strings_are_printed_inert() -> None:
    evil = "\x1b]0;pwned\x07\x1b[2J[bold]x[/]\u202e"
    items = items_for([{"type": "campaign_error", "error": evil, "iteration": 1, "fatal": True}], None)
    _, lines, _ = await run_lines(items)
    assert "\x1b" not in lines[0] and "\x07" not in lines[0] and "\u202e" not in lines[0]
    assert "[bold]x[/]" in lines[0] and "\\x1b]0;pwned" in lines[0]


def test_reconnect_notice() -> None:
    notice = PlainFormatter.connection_notice(ConnectionChanged("reconnecting", 2, 1.25, "connection lost"))
    assert notice == "reconnecting (attempt 2 in 1.2s): connection lost"
    assert PlainFormatter.connection_notice(ConnectionChanged("live")) is None


def test_number_formats() -> None:
    assert format_value(42.3) == "42.3" and format_value(0.0342) == "0.0342"
    assert format_value(1234.56) == "1234.6" and format_value(0.0) == "0"
    assert with_unit(93.1, "%") == "93.1%" and with_unit(42.3, "L/m2/h") == "42.3 L/m2/h"
    assert format_duration(42) == "42s" and format_duration(185) == "3m 05s"
    assert format_duration(7440) == "2h 04m" and format_duration(None) == "--"
    assert format_duration(47 * 3600 + 59 * 60) == "47h 59m" and format_duration(48 * 3600) == "2d 00h"
    assert format_duration(7 * 86400 + 4 * 3600 + 41 * 60) == "7d 04h"


def test_an_unresolved_host_is_explained_once_then_reported_at_growing_spacing() -> None:
    notices = ConnectionNotices()
    explained = "The host name camp.invalid does not resolve: https://camp.invalid comes from --url."

    def failure(attempt: int) -> ConnectionChanged:
        return ConnectionChanged(
            "reconnecting", attempt, retry_in=1.5, detail=explained, unresolved_host="camp.invalid"
        )

    lines = []
    for attempt in range(1, 41):
        notices.notice(ConnectionChanged("connecting", attempt - 1))
        lines.append(notices.notice(failure(attempt)))
    shown = {n: line for n, line in enumerate(lines, 1) if line is not None}
    assert list(shown) == [1, 2, 4, 8, 16, 32]
    assert shown[1] is not None and shown[1].startswith(explained)
    assert shown[8] == "still retrying (failure 8, next in 1.5s): the host name camp.invalid does not resolve"
    # Once it resolves, a refused connection is reported at every attempt again, and
    # a new run of unresolved failures starts with the full sentence.
    refused = ConnectionChanged("reconnecting", 41, retry_in=2.0, detail="Could not connect (refused).")
    assert notices.notice(refused) == "reconnecting (attempt 41 in 2.0s): Could not connect (refused)."
    assert notices.notice(refused) is not None
    assert (notices.notice(failure(43)) or "").startswith(explained)
    assert notices.notice(ConnectionChanged("live")) == "reconnected"
