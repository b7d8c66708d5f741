"""Exit codes and the errors that map to them (README "Exit codes").

``exit_code_for`` is the one rule every way of watching ends with: the line
printers, the monitor and each tab of the multi-campaign monitor.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # campaign completed, or the user quit
    CAMPAIGN_FAILED = 1
    USAGE = 2  # bad arguments or configuration
    AUTH = 3  # authentication or permission rejected (401/403, 4401/4403)
    NOT_FOUND = 4  # unknown campaign (404, 4404)
    GAVE_UP = 5  # gave up connecting (only with a retry limit)


class MateriaError(Exception):
    """An error with one clear sentence for the user and an exit code.

    The message must never contain a token: build it from what the user needs
    to know (URL, campaign id, status), not from request objects.
    """

    exit_code: ExitCode = ExitCode.CAMPAIGN_FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(MateriaError):
    exit_code = ExitCode.USAGE


class AuthError(MateriaError):
    exit_code = ExitCode.AUTH


class NotFoundError(MateriaError):
    exit_code = ExitCode.NOT_FOUND


class GaveUpError(MateriaError):
    exit_code = ExitCode.GAVE_UP


def exit_code_for(status: str | None, failure: MateriaError | ExitCode | int | None = None) -> ExitCode:
    """How watching a campaign ends: a final source error's code (auth, not
    found, gave up...), else 1 if the campaign failed, else 0 (it completed,
    or the user quit)."""
    if failure is not None:
        code = failure.exit_code if isinstance(failure, MateriaError) else failure
        return ExitCode(code)
    return ExitCode.CAMPAIGN_FAILED if status == "failed" else ExitCode.OK
