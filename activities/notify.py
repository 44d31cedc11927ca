"""The notification activities: who gets a notification, and one signed delivery to one URL.

Deployment URLs and the signing secret come from the worker's settings, never from workflow
history: a run's history (visible to its owner) holds only the run's own URLs.
"""

from __future__ import annotations

from temporalio import activity

from activities.table import NOTIFY_DELIVER, NOTIFY_TARGETS
from domain.notify import DeliveryOutcome, DeliveryRequest, TargetsRequest, TargetsResult
from providers.webhook import post, webhook_client


class NotifyActivities:
    """Webhook deliveries with one shared, SSRF-guarded client (closed by the worker)."""

    def __init__(
        self,
        deployment_urls: list[str],
        secret: str | None,
        timeout_s: float = 10.0,
        allow_private: bool = False,
    ) -> None:
        self.deployment_urls = list(deployment_urls)
        self.secret = secret
        self.client = webhook_client(timeout_s, allow_private)

    @activity.defn(name=NOTIFY_TARGETS.name)
    async def targets(self, req: TargetsRequest) -> TargetsResult:
        """Every URL a notification goes to, each once: the deployment's (when the run was
        started with them), then the run's own."""
        urls = self.deployment_urls if req.deployment else []
        return TargetsResult(urls=list(dict.fromkeys([*urls, *req.run_urls])))

    @activity.defn(name=NOTIFY_DELIVER.name)
    async def deliver(self, req: DeliveryRequest) -> DeliveryOutcome:
        """POST the notification to one URL; a failure raises, so the retry policy retries."""
        note = req.notification
        body = note.model_dump_json().encode()
        code = await post(self.client, req.url, body, note.id, note.type, self.secret)
        return DeliveryOutcome(url=req.url, delivered=True, status_code=code)

    async def aclose(self) -> None:
        await self.client.aclose()
