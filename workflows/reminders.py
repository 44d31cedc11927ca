"""Reminders and escalation while a person's input is awaited: durable timers, not cron.

`Reminders.watch` runs beside a human wait (workflows/human.py) on workflow timers, so a worker
or server restart loses none: the first reminder `remind_after` after the wait opened (or
`remind_every` when only that is set), then one every `remind_every`; at `escalate_after` the
wait is handed to the `escalate_to` reviewer group. Each reminder is a `reminder_sent` event,
the `RemindersSent` search attribute and a notification; an escalation is an `escalated` event,
`pending.escalated_to` in the view and a notification. A wait gets at most
MAX_REMINDERS_PER_WAIT reminders (then one `reminders_stopped` event). Nothing is due at or
past the wait's deadline: the deadline and `expired` are the wait's own (workflows/review.py).
Deterministic only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.run import PendingInput, RunOptions
    from workflows.search_attributes import REMINDERS_SENT
from workflows.notify import Notifier
from workflows.tracker import RunTracker

# Runs started before reminders (or without them) replay with no reminder timers.
REMINDERS_PATCH = "human-wait-reminders"
# A timer must be positive; a due time already reached fires after this.
_MIN_TIMER = timedelta(milliseconds=10)
# Reminders sent in one wait at most: `remind_every: PT1S` on a month-long wait would otherwise
# start a notification child every second until the history overflows. Recorded runs sent far
# fewer, so the cap only ends loops that no existing history ran this long (replay-safe).
MAX_REMINDERS_PER_WAIT = 10


class Reminders:
    """The reminder and escalation timers of a run's human waits, from its options."""

    def __init__(self, track: RunTracker, notifier: Notifier, options: RunOptions) -> None:
        self.track = track
        self.notifier = notifier
        self.first = options.remind_after or options.remind_every
        self.every = options.remind_every
        self.escalate_after = options.escalate_after
        self.escalate_to = options.escalate_to

    @property
    def configured(self) -> bool:
        return self.first is not None or (
            self.escalate_after is not None and self.escalate_to is not None
        )

    async def watch(self, pending: PendingInput, is_open: Callable[[], bool]) -> None:
        """Remind and escalate on schedule until the wait closes (`is_open()` is False)."""
        remind_at = pending.since + self.first if self.first is not None else None
        escalate_at = pending.since + self.escalate_after if self.escalate_after else None
        sent = 0
        while is_open():
            due = min((t for t in (remind_at, escalate_at) if t is not None), default=None)
            if due is None or due >= pending.deadline:
                return
            if await self._closes_before(due, is_open, pending.kind):
                return
            if due == escalate_at:
                escalate_at = None
                await self._escalate(pending)
            if due == remind_at:
                remind_at = due + self.every if self.every is not None else None
                await self._remind(pending)
                sent += 1
                if sent >= MAX_REMINDERS_PER_WAIT and remind_at is not None:
                    remind_at = None  # escalation, if any, is still due
                    message = f"{sent} reminders sent for the {pending.kind}; no more are sent"
                    self.track.event("reminders_stopped", message, kind=pending.kind, sent=sent)

    @staticmethod
    async def _closes_before(due: datetime, is_open: Callable[[], bool], kind: str) -> bool:
        try:
            await workflow.wait_condition(
                lambda: not is_open(),
                timeout=max(due - workflow.now(), _MIN_TIMER),
                timeout_summary=f"{kind} reminder",
            )
            return True
        except TimeoutError:
            return not is_open()

    async def _remind(self, pending: PendingInput) -> None:
        progress = self.track.view.progress
        progress.reminders_sent += 1
        count = progress.reminders_sent
        message = f"reminder: still waiting for the {pending.kind} (due {pending.deadline})"
        self.track.event("reminder_sent", message, kind=pending.kind, reminders_sent=count)
        workflow.upsert_search_attributes([REMINDERS_SENT.value_set(count)])
        await self.notifier.send(
            "reminder",
            message,
            kind=pending.kind,
            reminders_sent=count,
            deadline=pending.deadline.isoformat(),
            escalated_to=pending.escalated_to,
        )

    async def _escalate(self, pending: PendingInput) -> None:
        assert self.escalate_to is not None
        pending.escalated_to = self.escalate_to
        message = f"the {pending.kind} is handed to {self.escalate_to}"
        self.track.event("escalated", message, kind=pending.kind, to=self.escalate_to)
        await self.notifier.send(
            "escalated",
            message,
            kind=pending.kind,
            escalated_to=self.escalate_to,
            deadline=pending.deadline.isoformat(),
        )
