"""Pure pieces of the API: Temporal error mapping, visibility queries, report rendering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ApiError, temporal_api_error
from api.render import markdown_sections, markdown_to_html
from api.updates import update_id
from api.visibility import decode_page_token, encode_page_token, runs_query
from domain.run import RunStatus, Stage


def refused(code: str) -> WorkflowUpdateFailedError:
    return WorkflowUpdateFailedError(ApplicationError("refused", type=code))


@pytest.mark.parametrize(
    ("err", "status", "code"),
    [
        (WorkflowAlreadyStartedError("research-x", "ResearchWorkflow"), 409, "run_exists"),
        (refused("wrong_stage"), 409, "wrong_stage"),
        (refused("nothing_pending"), 409, "nothing_pending"),
        (refused("run_stopping"), 409, "run_stopping"),
        (refused("unknown_question"), 422, "unknown_question"),
        (refused("empty_answer"), 422, "empty_answer"),
        (refused("invalid_decision"), 422, "invalid_decision"),
        (WorkflowUpdateFailedError(RuntimeError("x")), 409, "update_rejected"),
        (WorkflowUpdateRPCTimeoutOrCancelledError(), 504, "update_timeout"),
        (RPCError("workflow not found", RPCStatusCode.NOT_FOUND, b""), 404, "run_not_found"),
        (RPCError("down", RPCStatusCode.UNAVAILABLE, b""), 503, "temporal_unavailable"),
        (RPCError("slow", RPCStatusCode.DEADLINE_EXCEEDED, b""), 504, "temporal_timeout"),
        (RPCError("bad token", RPCStatusCode.INVALID_ARGUMENT, b""), 422, "invalid_request"),
        (RPCError("busy", RPCStatusCode.RESOURCE_EXHAUSTED, b""), 429, "temporal_busy"),
        (RPCError("?", RPCStatusCode.INTERNAL, b""), 502, "temporal_error"),
    ],
)
def test_temporal_error_mapping(err: Exception, status: int, code: str) -> None:
    mapped = temporal_api_error(err)
    assert (mapped.status, mapped.error_code) == (status, code)


def test_mapping_names_the_subject() -> None:
    err = RPCError("workflow not found", RPCStatusCode.NOT_FOUND, b"")
    assert temporal_api_error(err, "approval").error_code == "approval_not_found"
    started = WorkflowAlreadyStartedError("approval-x", "ApprovalWorkflow")
    assert temporal_api_error(started, "approval").error_code == "approval_exists"


def test_update_ids_are_scoped_by_kind() -> None:
    assert update_id("acceptance", "r1") != update_id("clarification", "r1")
    assert update_id("acceptance", None) is None


def test_runs_query_filters() -> None:
    q = runs_query(
        "ResearchWorkflow",
        status=RunStatus.awaiting_input,
        stage=Stage.plan_review,
        created_after=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        created_before=datetime(2025, 1, 3, tzinfo=timezone(timedelta(hours=2))),
    )
    assert q.startswith("WorkflowType = 'ResearchWorkflow' AND ")
    assert "ResearchStatus = 'awaiting_input' AND ExecutionStatus NOT IN" in q
    assert "ResearchStage = 'plan_review'" in q
    assert "StartTime >= '2025-01-02T03:04:05Z'" in q
    assert "StartTime < '2025-01-02T22:00:00Z'" in q


def test_runs_query_counts_abnormal_closes_as_temporal_says() -> None:
    assert "OR ExecutionStatus = 'Canceled'" in runs_query("W", status=RunStatus.cancelled)
    assert "'Terminated'" in runs_query("W", status=RunStatus.failed)
    assert "OR ExecutionStatus IN" in runs_query("W", stage=Stage.finished)
    # Earlier links of a continued-as-new chain are not runs of their own.
    assert runs_query("W") == "WorkflowType = 'W' AND ExecutionStatus != 'ContinuedAsNew'"


def test_naive_datetimes_are_utc() -> None:
    assert "StartTime >= '2025-01-02T00:00:00Z'" in runs_query(
        "W", created_after=datetime(2025, 1, 2)
    )


def test_page_tokens_round_trip() -> None:
    raw = b"\x00\xff opaque/+="
    assert decode_page_token(encode_page_token(raw)) == raw
    assert encode_page_token(None) is None and decode_page_token("") is None
    with pytest.raises(ApiError) as caught:
        decode_page_token("not base64!")
    assert caught.value.status == 422 and caught.value.error_code == "invalid_request"


REPORT = """Intro line.

# Grid storage

Batteries **dominate** new storage [1].

## Sources

- [Batteries](https://example.org/a?x=1&y=2)
- [evil](javascript:alert(1))
1. first
2. <script>alert('x')</script>
"""


def test_markdown_sections() -> None:
    sections = markdown_sections(REPORT)
    assert [(s.title, s.level) for s in sections] == [("", 0), ("Grid storage", 1), ("Sources", 2)]
    assert sections[1].content == "Batteries **dominate** new storage [1]."


def test_html_is_escaped_and_only_http_links_are_links() -> None:
    page = markdown_to_html(REPORT, title="<b>q</b>")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<title>&lt;b&gt;q&lt;/b&gt;</title>" in page
    assert '<a href="https://example.org/a?x=1&amp;y=2" rel="noopener noreferrer">' in page
    assert 'href="javascript' not in page
    assert "<h1>Grid storage</h1>" in page and "<strong>dominate</strong>" in page
    assert "<ul>" in page and "<ol>" in page
