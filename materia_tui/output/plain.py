"""``--plain``: progress lines in the style of MatCraft's own CLI.

    [Iter  1/20] Training surrogate... done (0.8s, val_loss=0.0342)
    [Iter  1/20] Optimizing acquisition... done (1.2s, 5 candidates)
    [Iter  1/20] Evaluating candidates... done (0.3s)
    [Iter  1/20] Best: water_flux=42.3 L/m2/h, salt_rejection=93.1%
    Done! 20 iterations, 100 evaluations

Lines are derived from the state after each event is applied, so durations
and best values are the reducer's (direction-aware, duplicate-free).
"""

from __future__ import annotations

from materia_tui.output.numbers import format_seconds, format_value, with_unit
from materia_tui.protocol import (
    CampaignCompleted,
    CampaignError,
    CandidatesEvaluated,
    CandidatesProposed,
    ConvergenceUpdate,
    Event,
    IterationCompleted,
    Rejected,
    SurrogateTrained,
)
from materia_tui.sanitize import clean
from materia_tui.source import ConnectionChanged
from materia_tui.state import CampaignState


class PlainFormatter:
    """Turns applied events into progress lines (stdout) and notices (stderr)."""

    def __init__(self, state: CampaignState) -> None:
        self.state = state
        self._was_converged = False

    def prefix(self, iteration: int | None) -> str:
        total = self.state.max_iterations
        total_text = str(total) if total else "?"
        width = max(2, len(total_text))
        shown = str(iteration) if iteration is not None else "?"
        return f"[Iter {shown:>{width}}/{total_text}]"

    def event_lines(self, event: Event) -> list[str]:
        if isinstance(event, SurrogateTrained):
            return [self._trained(event)]
        if isinstance(event, CandidatesProposed):
            return [self._proposed(event)]
        if isinstance(event, CandidatesEvaluated):
            return [self._evaluated(event)]
        if isinstance(event, IterationCompleted):
            return [f"{self.prefix(event.iteration)} Best: {self.best_text(event)}"]
        if isinstance(event, ConvergenceUpdate):
            return self._convergence(event)
        if isinstance(event, CampaignError):
            return [self._error(event)]
        if isinstance(event, CampaignCompleted):
            return [f"Done! {event.total_iterations} iterations, {event.total_evaluations} evaluations"]
        return []

    def _trained(self, event: SurrogateTrained) -> str:
        it = self.state.current_iteration or None
        record = self.state.iterations.get(it or 0)
        details = (
            []
            if record is None or record.training_seconds is None
            else [format_seconds(record.training_seconds)]
        )
        details.append(f"val_loss={format_value(event.metrics.val_loss)}")
        return f"{self.prefix(it)} Training surrogate... done ({', '.join(details)})"

    def _proposed(self, event: CandidatesProposed) -> str:
        record = self.state.iterations.get(event.iteration)
        seconds = record.acquisition_seconds if record else None
        count = len(event.candidates)
        noun = "candidate" if count == 1 else "candidates"
        details = ([format_seconds(seconds)] if seconds is not None else []) + [f"{count} {noun}"]
        return f"{self.prefix(event.iteration)} Optimizing acquisition... done ({', '.join(details)})"

    def _evaluated(self, event: CandidatesEvaluated) -> str:
        record = self.state.iterations.get(event.iteration)
        seconds = record.evaluation_seconds if record else None
        details = [format_seconds(seconds)] if seconds is not None else []
        infeasible = sum(1 for r in event.results if not r.feasible and not r.error)
        failed = sum(1 for r in event.results if r.error)
        if infeasible:
            details.append(f"{infeasible} infeasible")
        if failed:
            details.append(f"{failed} failed")
        suffix = f" ({', '.join(details)})" if details else ""
        return f"{self.prefix(event.iteration)} Evaluating candidates... done{suffix}"

    def best_text(self, event: IterationCompleted) -> str:
        state = self.state
        parts = [
            f"{clean(name)}={with_unit(state.best[name].value, clean(state.units.get(name) or '') or None)}"
            for name in state.objectives
            if name in state.best
        ]
        return ", ".join(parts) if parts else f"best_value={format_value(event.best_value)}"

    def _convergence(self, event: ConvergenceUpdate) -> list[str]:
        if not event.converged or self._was_converged:
            return []
        self._was_converged = True
        it = self.state.current_iteration or None
        return [f"{self.prefix(it)} Converged (metric={format_value(event.metric)})"]

    def _error(self, event: CampaignError) -> str:
        label = "Failed" if event.fatal else "Error"
        return f"{self.prefix(event.iteration)} {label}: {clean(event.error, 500)}"

    @staticmethod
    def rejected_notice(rejected: Rejected) -> str:
        where = f" (seq {rejected.seq})" if rejected.seq is not None else ""
        return f"warning: skipped a frame{where}: {clean(rejected.reason, 300)}"

    @staticmethod
    def connection_notice(change: ConnectionChanged, *, after_outage: bool = False) -> str | None:
        """The stderr line for a connection change, if any. ``after_outage``: a
        ``reconnecting`` came before this change (sources number only failures)."""
        detail = clean(change.detail, 300) if change.detail else ""
        if change.status == "reconnecting":
            wait = f" in {change.retry_in:.1f}s" if change.retry_in is not None else ""
            return f"reconnecting (attempt {change.attempt}{wait}){': ' + detail if detail else ''}"
        if change.status == "live" and (change.attempt or after_outage):
            return f"reconnected{' (degraded): ' + detail if change.degraded and detail else ''}"
        if change.status == "live" and change.degraded and detail:
            return f"warning: {detail}"
        return None


class ConnectionNotices:
    """The stderr lines for a stream's connection changes, with memory.

    A host name that does not resolve will not start resolving a second later:
    its first failure gets the full sentence (which URL, from where, how to
    change it), then a line only at the 2nd, 4th, 8th, ... failure in a row,
    instead of one every few seconds forever. Any other failure is reported
    at each attempt: a restarting server is worth watching closely.
    """

    def __init__(self) -> None:
        self._outage = False  # a "reconnecting" was reported and no "live" has followed yet
        self._unresolved_streak = 0

    def notice(self, change: ConnectionChanged) -> str | None:
        after_outage = self._outage
        if change.status in ("reconnecting", "live"):
            self._outage = change.status == "reconnecting"
        if change.status == "reconnecting" and change.unresolved_host:
            self._unresolved_streak += 1
            return self._unresolved_notice(change)
        if change.status in ("reconnecting", "live"):
            self._unresolved_streak = 0
        return PlainFormatter.connection_notice(change, after_outage=after_outage)

    def _unresolved_notice(self, change: ConnectionChanged) -> str | None:
        streak = self._unresolved_streak
        if streak == 1:
            return f"{clean(change.detail, 600)} Retrying; a line at the 2nd, 4th, 8th... failure."
        if streak & (streak - 1):  # not a power of two
            return None
        wait = f", next in {change.retry_in:.1f}s" if change.retry_in is not None else ""
        host = clean(change.unresolved_host or "", 100)
        return f"still retrying (failure {streak}{wait}): the host name {host} does not resolve"
