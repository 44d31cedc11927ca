"""Webhook notifications of a run: what a run subscribes to, what is sent, what came of it.

A notification is one event of a run (a wait opened, a reminder, the run's end) sent to every
subscribed URL. Its `id` is stable (the run's workflow id and the event's sequence number), so a
receiver drops repeats by it; deliveries are signed in the activity (activities/notify.py).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

NotifyEvent = Literal["input_awaited", "reminder", "escalated", "finished", "failed"]
ALL_EVENTS: tuple[NotifyEvent, ...] = (
    "input_awaited",
    "reminder",
    "escalated",
    "finished",
    "failed",
)
MAX_URLS = 5


class NotifyOptions(BaseModel):
    """A run's own webhooks (beside the deployment's): where, and for which events."""

    urls: list[str] = Field(min_length=1, max_length=MAX_URLS)
    events: list[NotifyEvent] = Field(default_factory=lambda: list(ALL_EVENTS), min_length=1)

    @field_validator("urls")
    @classmethod
    def _http_only(cls, urls: list[str]) -> list[str]:
        # Only plain web URLs; the address a name resolves to is checked when it is sent.
        for url in urls:
            if not url.startswith(("http://", "https://")) or len(url) > 2000:
                raise ValueError(f"not an http(s) URL: {url[:100]!r}")
        return urls


class Notification(BaseModel):
    """The JSON body of one notification (also the child workflow's input)."""

    id: str = Field(description="Idempotency key: the same event is never two notifications")
    type: NotifyEvent
    run_id: str
    workflow_id: str
    at: str = Field(description="When the event happened (ISO 8601)")
    status: str
    stage: str
    message: str = ""
    data: dict[str, Any] = Field(default_factory=dict)


class NotifyJob(BaseModel):
    """What the notification workflow sends: the body, the run's URLs, and whether the
    deployment's URLs (from the worker's settings) get it too."""

    notification: Notification
    run_urls: list[str] = Field(default_factory=list)
    deployment: bool = False


class TargetsRequest(BaseModel):
    run_urls: list[str] = Field(default_factory=list)
    deployment: bool = False


class TargetsResult(BaseModel):
    urls: list[str] = Field(default_factory=list)


class DeliveryRequest(BaseModel):
    url: str
    notification: Notification


class DeliveryOutcome(BaseModel):
    url: str
    delivered: bool
    status_code: int | None = None
    error: str | None = None
