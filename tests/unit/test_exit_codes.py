"""The one exit-code rule (errors.exit_code_for) that every way of watching ends with."""

from __future__ import annotations

import pytest

from materia_tui.errors import AuthError, ExitCode, GaveUpError, NotFoundError, UsageError, exit_code_for


@pytest.mark.parametrize(
    ("status", "expected"),
    [("completed", ExitCode.OK), ("running", ExitCode.OK), (None, ExitCode.OK), ("failed", ExitCode.CAMPAIGN_FAILED)],
)
def test_without_a_source_error_the_campaign_status_decides(status: str | None, expected: ExitCode) -> None:
    assert exit_code_for(status) is expected


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (AuthError("no"), ExitCode.AUTH),
        (NotFoundError("no"), ExitCode.NOT_FOUND),
        (GaveUpError("no"), ExitCode.GAVE_UP),
        (UsageError("no"), ExitCode.USAGE),
        (4, ExitCode.NOT_FOUND),
    ],
)
def test_a_final_source_error_wins_over_the_status(failure: Exception | int, expected: ExitCode) -> None:
    assert exit_code_for("completed", failure) is expected  # type: ignore[arg-type]
    assert exit_code_for("failed", failure) is expected  # type: ignore[arg-type]
