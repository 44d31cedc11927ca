"""HTTP failures of search providers and page fetches, mapped onto Temporal's retry rules.

One place decides what retrying can fix: a bad key or a refused request never gets better, so
it fails at once (non-retryable); 429 waits as long as the provider asks (Retry-After becomes
the activity's next retry delay); 5xx, timeouts and dropped connections back off and retry.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
from temporalio.exceptions import ApplicationError

# Longest wait honoured from a Retry-After header; a provider asking for hours is better
# surfaced by the retry policy's own schedule than by one silent sleep.
MAX_RETRY_AFTER_S = 600.0


def retry_after(response: httpx.Response) -> timedelta | None:
    value = response.headers.get("retry-after")
    try:
        return timedelta(seconds=min(max(float(value), 0.0), MAX_RETRY_AFTER_S)) if value else None
    except ValueError:
        return None  # an HTTP date: the retry policy's backoff is good enough then


def status_error(what: str, response: httpx.Response) -> ApplicationError | None:
    """The error a response stands for, or None when it is a success."""
    code = response.status_code
    if code < 400:
        return None
    detail = f"{what}: HTTP {code} from {response.request.url.host}"
    if code in (401, 403):
        return ApplicationError(
            f"{detail}: credentials refused", type="bad_credentials", non_retryable=True
        )
    if code == 429:
        return ApplicationError(
            f"{detail}: rate limited", type="rate_limited", next_retry_delay=retry_after(response)
        )
    if code in (408, 425) or code >= 500:
        return ApplicationError(f"{detail}: unavailable", type="provider_unavailable")
    # Other 4xx (bad request, quota or plan exhausted, not found): retrying sends the same.
    return ApplicationError(f"{detail}: refused", type="bad_request", non_retryable=True)


def transport_error(what: str, exc: httpx.HTTPError) -> ApplicationError:
    """Timeouts and connection failures are transient by nature: retry them."""
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "unreachable"
    return ApplicationError(
        f"{what}: {kind}: {type(exc).__name__}: {exc}", type="provider_unavailable"
    )


def malformed(what: str, detail: str) -> ApplicationError:
    # A body we cannot parse is usually a proxy's error page or a provider hiccup; a few
    # retries are cheap, and the retry policy's cap stops a permanent one.
    return ApplicationError(f"{what}: malformed response: {detail}", type="malformed_response")
