"""Webhook notifications from a run, off its critical path.

Each notification is a child workflow (NotifyWorkflow, id `notify-<run's workflow id>-<event
seq>`) started with ParentClosePolicy.ABANDON: the run waits only for the child to start, never
for a delivery, and a run that ends (or continues as new) while a receiver is down leaves its
deliveries running. A background task in a workflow, drained before it returns, would instead
hold a finished run open for as long as a receiver is down (up to a day of retries). The child
resolves the URLs, then delivers to each in parallel with the long webhook retry policy
(activities/table.py WEBHOOK); while the run is still open, each outcome comes back to it as a
`notification_delivered` or `notification_failed` event. Deterministic only.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ChildWorkflowError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.table import NOTIFY_DELIVER, NOTIFY_TARGETS
    from domain.notify import (
        DeliveryOutcome,
        DeliveryRequest,
        Notification,
        NotifyEvent,
        NotifyJob,
        NotifyOptions,
        TargetsRequest,
    )
from workflows.calls import start
from workflows.tracker import RunTracker

# Runs started before notifications send none (and replay as they were recorded).
NOTIFY_PATCH = "webhook-notifications"


@workflow.defn
class NotifyWorkflow:
    """Deliver one notification to every URL it goes to; the outcome of each."""

    @workflow.run
    async def run(self, job: NotifyJob) -> list[DeliveryOutcome]:
        req = TargetsRequest(run_urls=job.run_urls, deployment=job.deployment)
        targets = await start(NOTIFY_TARGETS, req, "who gets this notification")
        deliveries = (self._deliver(url, job.notification, job.run_urls) for url in targets.urls)
        return list(await asyncio.gather(*deliveries))

    async def _deliver(self, url: str, note: Notification, run_urls: list[str]) -> DeliveryOutcome:
        try:
            req = DeliveryRequest(url=url, notification=note)
            # The deployment's URLs may hold secrets in their path; they are not shown.
            shown = url if url in run_urls else "deployment webhook"
            return await start(NOTIFY_DELIVER, req, f"{note.type} to {shown}")
        except ActivityError as err:
            cause = err.cause or err
            error = str(cause) or type(cause).__name__
            return DeliveryOutcome(url=url, delivered=False, error=error)


class Notifier:
    """Sends a run's notifications: to the deployment's webhooks when the run was started with
    them (`deployment`), and to the run's own (`options`) for the events it chose."""

    def __init__(self, track: RunTracker, options: NotifyOptions | None, deployment: bool) -> None:
        self.track = track
        self.options = options
        self.deployment = deployment
        # The outcome watchers, kept so they are not collected while they wait.
        self.watchers: list[asyncio.Task[None]] = []

    def _run_urls(self, kind: NotifyEvent) -> list[str]:
        opts = self.options
        return list(opts.urls) if opts is not None and kind in opts.events else []

    async def send(self, event: NotifyEvent, message: str, /, **data: Any) -> None:
        """Notify about the event the tracker recorded last; returns once the child started."""
        run_urls = self._run_urls(event)
        if not (self.deployment or run_urls) or not workflow.patched(NOTIFY_PATCH):
            return
        info = workflow.info()
        seq = self.track.dropped + len(self.track.events)
        view = self.track.view
        note = Notification(
            id=f"{info.workflow_id}:{seq}",
            type=event,
            run_id=view.run_id,
            workflow_id=info.workflow_id,
            at=view.updated_at.isoformat(),
            status=view.status.value,
            stage=view.stage.value,
            message=message,
            data=data,
        )
        job = NotifyJob(notification=note, run_urls=run_urls, deployment=self.deployment)
        try:
            handle = await workflow.start_child_workflow(
                NotifyWorkflow.run,
                job,
                id=f"notify-{info.workflow_id}-{seq}",
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                static_summary=f"{event}: {message}"[:200],
            )
        except WorkflowAlreadyStartedError:
            # Only after a reset replays past this event: that notification is on its way.
            self.track.event("notification_skipped", f"{event} {note.id} already being sent")
            return
        # Not awaited by the run: the outcome is recorded if it comes while the run is open.
        self.watchers.append(asyncio.create_task(self._record(note, set(run_urls), handle)))

    async def _record(
        self,
        note: Notification,
        run_urls: set[str],
        handle: workflow.ChildWorkflowHandle[Any, list[DeliveryOutcome]],
    ) -> None:
        try:
            outcomes = await handle
        except ChildWorkflowError as err:
            outcomes = [DeliveryOutcome(url="?", delivered=False, error=str(err.cause or err))]
        for outcome in outcomes:
            # The deployment's URLs are the operator's business, not the run owner's: hidden,
            # in the error text too (it may quote the URL, whose path can hold a secret).
            url = outcome.url if outcome.url in run_urls else "deployment webhook"
            error = outcome.error
            if error is not None and url != outcome.url and outcome.url.startswith("http"):
                error = error.replace(outcome.url, url)
            if outcome.delivered:
                self.track.event(
                    "notification_delivered",
                    f"{note.type} delivered to {url}",
                    notification=note.id,
                    url=url,
                    status_code=outcome.status_code,
                )
            else:
                self.track.event(
                    "notification_failed",
                    f"{note.type} not delivered to {url}: {error}",
                    notification=note.id,
                    url=url,
                    error=error,
                )
