"""Custom search attributes the Web UI, `GET /runs` and operators' visibility queries filter on.

They must be registered on the server before a workflow upserts them: `research up` and the
test fixture pass SEARCH_ATTRIBUTE_TYPES to `temporal server start-dev --search-attribute`, and
the compose deployment's admin step (`python -m stack.admin`) registers the same list. Adding an
attribute is one line in OPERATOR_ATTRIBUTES; both paths pick it up.
"""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeIndexedValueType, SearchAttributeKey

RESEARCH_STATUS = SearchAttributeKey.for_keyword("ResearchStatus")
RESEARCH_STAGE = SearchAttributeKey.for_keyword("ResearchStage")
# Who asked (ResearchInput.created_by); the filter behind "my runs" once auth exists.
RESEARCH_OWNER = SearchAttributeKey.for_keyword("ResearchOwner")
# When the run started waiting on a person; unset while it is not waiting.
WAITING_SINCE = SearchAttributeKey.for_datetime("WaitingSince")
# Prompt + completion tokens the run's LLM calls have used so far.
TOKENS_USED = SearchAttributeKey.for_int("TokensUsed")
# What the run's LLM calls cost so far, from the price table in settings (0 when unpriced).
COST_USD = SearchAttributeKey.for_float("CostUSD")
# Reminders sent while the run waited for people (workflows/reminders.py); unset until one is.
REMINDERS_SENT = SearchAttributeKey.for_int("RemindersSent")
# A follow-up run's link: the REST run id of the run it follows, set when it starts. Listing a
# run's follow-ups is a visibility query on it (with ResearchOwner when keys are on).
FOLLOW_UP_OF = SearchAttributeKey.for_keyword("FollowUpOf")

OPERATOR_ATTRIBUTES: tuple[SearchAttributeKey[Any], ...] = (
    RESEARCH_STATUS,
    RESEARCH_STAGE,
    RESEARCH_OWNER,
    WAITING_SINCE,
    TOKENS_USED,
    COST_USD,
    REMINDERS_SENT,
    FOLLOW_UP_OF,
)

# The names `temporal ... --search-attribute NAME=TYPE` takes for each indexed type.
CLI_TYPE_NAMES: dict[SearchAttributeIndexedValueType, str] = {
    SearchAttributeIndexedValueType.TEXT: "Text",
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.INT: "Int",
    SearchAttributeIndexedValueType.DOUBLE: "Double",
    SearchAttributeIndexedValueType.BOOL: "Bool",
    SearchAttributeIndexedValueType.DATETIME: "Datetime",
    SearchAttributeIndexedValueType.KEYWORD_LIST: "KeywordList",
}

SEARCH_ATTRIBUTE_TYPES: dict[str, str] = {
    key.name: CLI_TYPE_NAMES[key.indexed_value_type] for key in OPERATOR_ATTRIBUTES
}

MEMO_STATUS_KEY = "status"


RESEARCH_PREFIX = "research-"


def research_workflow_id(run_id: str) -> str:
    return f"{RESEARCH_PREFIX}{run_id}"


def artifact_folder(workflow_id: str) -> str:
    """The folder of a research run's artifacts: its workflow id without the prefix. That is the
    REST run id, plus `~<owner>` when the API scoped the id by owner (keys on), so two owners who
    chose the same run id never share a folder."""
    return workflow_id.removeprefix(RESEARCH_PREFIX)


def approval_workflow_id(approval_id: str) -> str:
    return f"approval-{approval_id}"
