"""Custom search attributes the Web UI and `GET /runs` filter on.

They must be registered on the server before a workflow upserts them: `research up` and the
test fixture pass SEARCH_ATTRIBUTE_TYPES to `temporal server start-dev --search-attribute`.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

RESEARCH_STATUS = SearchAttributeKey.for_keyword("ResearchStatus")
RESEARCH_STAGE = SearchAttributeKey.for_keyword("ResearchStage")

SEARCH_ATTRIBUTE_TYPES: dict[str, str] = {
    RESEARCH_STATUS.name: "Keyword",
    RESEARCH_STAGE.name: "Keyword",
}

MEMO_STATUS_KEY = "status"


def research_workflow_id(run_id: str) -> str:
    return f"research-{run_id}"


def approval_workflow_id(approval_id: str) -> str:
    return f"approval-{approval_id}"
