"""Visibility list queries for GET /runs.

Filters agree with what GET /runs/{id} reports: a run that Temporal closed as cancelled, failed or
terminated counts as `cancelled` / `failed` and stage `finished`, whatever its search attributes
last said (such a workflow never wrote its final state).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime

from api.errors import ApiError
from api.schemas import ID_PATTERN
from domain.run import RunStatus, Stage
from settings import OWNER_PATTERN, Settings
from workflows.search_attributes import (
    FOLLOW_UP_OF,
    RESEARCH_OWNER,
    RESEARCH_STAGE,
    RESEARCH_STATUS,
)

RUN_ID_PATTERN = re.compile(ID_PATTERN)
_ABNORMAL = "('Canceled', 'Failed', 'Terminated', 'TimedOut')"
_FAILED = "('Failed', 'Terminated', 'TimedOut')"


def runs_query(
    workflow_type: str,
    *,
    status: RunStatus | None = None,
    stage: Stage | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    owner: str | None = None,
    follow_up_of: str | None = None,
) -> str:
    # Every interpolated value is an enum member, a datetime we format, an owner name from
    # settings (OWNER_PATTERN, checked again here) or a run id (RUN_ID_PATTERN, checked again
    # here): no injection path.
    # A run that continued as new is one REST run over several Temporal runs: list only the
    # current link of each chain (the earlier ones are closed as ContinuedAsNew).
    clauses = [f"WorkflowType = '{workflow_type}'", "ExecutionStatus != 'ContinuedAsNew'"]
    if owner is not None:
        if not OWNER_PATTERN.fullmatch(owner):
            raise ValueError(f"not an owner name: {owner!r}")
        clauses.append(f"{RESEARCH_OWNER.name} = '{owner}'")
    if follow_up_of is not None:
        if not RUN_ID_PATTERN.fullmatch(follow_up_of):
            raise ValueError(f"not a run id: {follow_up_of!r}")
        clauses.append(f"{FOLLOW_UP_OF.name} = '{follow_up_of}'")
    if status is not None:
        clauses.append(_status_clause(status))
    if stage is not None:
        clauses.append(_stage_clause(stage))
    if created_after is not None:
        clauses.append(f"StartTime >= '{_rfc3339(created_after, 'created_after')}'")
    if created_before is not None:
        clauses.append(f"StartTime < '{_rfc3339(created_before, 'created_before')}'")
    return " AND ".join(clauses)


def _status_clause(status: RunStatus) -> str:
    own = f"{RESEARCH_STATUS.name} = '{status.value}'"
    if status == RunStatus.cancelled:
        return f"({own} OR ExecutionStatus = 'Canceled')"
    if status == RunStatus.failed:
        return f"({own} OR ExecutionStatus IN {_FAILED})"
    return f"({own} AND ExecutionStatus NOT IN {_ABNORMAL})"


def _stage_clause(stage: Stage) -> str:
    own = f"{RESEARCH_STAGE.name} = '{stage.value}'"
    if stage == Stage.finished:
        return f"({own} OR ExecutionStatus IN {_ABNORMAL})"
    return f"({own} AND ExecutionStatus NOT IN {_ABNORMAL})"


def _rfc3339(value: datetime, name: str) -> str:
    # A naive datetime from a client is read as UTC rather than the server's local zone.
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        utc = value.astimezone(UTC)
    except OverflowError as err:
        # 9999-12-31T23:59-12:00 is past year 9999 in UTC (0001-01-01T00:00+01:00 before
        # year 1): valid input to pydantic, no datetime once converted. The client's mistake.
        raise ApiError(
            422,
            "invalid_request",
            "the request is not valid",
            {"errors": [{"loc": ["query", name], "msg": "date out of range in UTC",
                         "type": "datetime_out_of_range"}]},
        ) from err  # fmt: skip
    return utc.isoformat().replace("+00:00", "Z")


# Our page tokens carry an HMAC of Temporal's token. A token that was mangled or made up is then
# refused here as a 422 at once; passed on, Temporal answers it with a retryable "something went
# wrong" that the client retries for seconds before it becomes a 502. Keyed, so a client cannot
# mint a token for a query it was never given (an unkeyed digest anyone can compute). The key is
# RESEARCH_API_PAGE_TOKEN_KEY, or one drawn per process: then tokens do not survive a restart and
# are not shared between replicas, which costs a client a restarted listing, nothing more.
_CHECK_BYTES = 16
PROCESS_KEY = secrets.token_bytes(32)


def page_token_key(settings: Settings) -> bytes:
    configured = settings.api_page_token_key
    return configured.get_secret_value().encode() if configured else PROCESS_KEY


def _check(token: bytes, key: bytes) -> bytes:
    return hmac.new(key, token, hashlib.sha256).digest()[:_CHECK_BYTES]


def encode_page_token(token: bytes | None, key: bytes = PROCESS_KEY) -> str | None:
    return base64.urlsafe_b64encode(_check(token, key) + token).decode("ascii") if token else None


def decode_page_token(token: str | None, key: bytes = PROCESS_KEY) -> bytes | None:
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError) as err:
        raise invalid_page_token(str(err)) from err
    check, inner = raw[:_CHECK_BYTES], raw[_CHECK_BYTES:]
    if not inner or not hmac.compare_digest(check, _check(inner, key)):
        raise invalid_page_token("checksum mismatch")
    return inner


def invalid_page_token(reason: str) -> ApiError:
    return ApiError(
        422,
        "invalid_request",
        "page_token is not a token this API returned",
        {"errors": [{"loc": ["query", "page_token"], "msg": reason, "type": "value_error"}]},
    )
