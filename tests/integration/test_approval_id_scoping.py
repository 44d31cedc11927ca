"""With keys on, approval ids are per owner (issue 13, item 10), as run ids are
(test_run_id_scoping.py): an approval id another owner already used is free for you (no 409 to
tell you it exists), yours is still a 409, each owner sees and decides their own, and approvals
started before ids were scoped stay reachable by their owner only.

Real dev server, no worker: GET answers from the start memo once the query times out.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from api.runs_service import approval_workflow_id_for
from domain.run import ApprovalInput, ApprovalView
from settings import Settings
from tests.helpers.frontends import keyed_clients, with_keys
from workflows.approval import ApprovalWorkflow
from workflows.search_attributes import MEMO_STATUS_KEY, RESEARCH_OWNER, approval_workflow_id

APPROVALS = "/api/v1/approvals"
SUFFIX = uuid.uuid4().hex[:8]
ADA, GRACE = f"ada-appr-{SUFFIX}", f"grace-appr-{SUFFIX}"
ADA_KEY, GRACE_KEY = secrets.token_urlsafe(24), secrets.token_urlsafe(24)

Api = Callable[[str], httpx.AsyncClient]


@pytest.fixture
def keyed(settings: Settings) -> Settings:
    return with_keys(settings, {ADA_KEY: ADA, GRACE_KEY: GRACE})


@pytest.fixture
async def api(client: Client, keyed: Settings) -> AsyncIterator[Api]:
    async with keyed_clients(client, keyed) as make:
        yield make


async def create(http: httpx.AsyncClient, approval_id: str, title: str) -> httpx.Response:
    return await http.post(APPROVALS, json={"approval_id": approval_id, "title": title})


def memo_view(approval_id: str, title: str) -> dict[str, object]:
    """The start memo GET answers from while no worker polls (as POST /approvals writes it)."""
    now = datetime.now(UTC)
    view = ApprovalView(
        approval_id=approval_id,
        title=title,
        status="pending",
        created_at=now,
        deadline=now + timedelta(hours=1),
    )
    return view.model_dump(mode="json")


async def terminate(client: Client, *workflow_ids: str) -> None:
    for workflow_id in workflow_ids:
        try:
            await client.get_workflow_handle(workflow_id).terminate("test over")
        except Exception:  # already closed or never started
            pass


async def test_two_owners_may_pick_the_same_approval_id(api: Api, client: Client) -> None:
    ada, grace = api(ADA_KEY), api(GRACE_KEY)
    approval_id = f"shared-{SUFFIX}"
    try:
        first = await create(ada, approval_id, "Ada's draft")
        assert first.status_code == 202, first.text
        # Before scoping, this was a 409 that told grace somebody's approval had this id.
        second = await create(grace, approval_id, "Grace's draft")
        assert second.status_code == 202, second.text
        assert first.json()["approval_id"] == second.json()["approval_id"] == approval_id
        assert first.json()["workflow_id"] == approval_workflow_id_for(approval_id, ADA)
        assert second.json()["workflow_id"] == approval_workflow_id_for(approval_id, GRACE)
        for http, title in ((ada, "Ada's draft"), (grace, "Grace's draft")):
            view = await http.get(f"{APPROVALS}/{approval_id}")
            assert view.status_code == 200, view.text
            assert view.json()["title"] == title
        again = await create(ada, approval_id, "Ada again")
        assert again.status_code == 409, again.text
        assert again.json()["error_code"] == "approval_exists"
    finally:
        await terminate(
            client,
            approval_workflow_id_for(approval_id, ADA),
            approval_workflow_id_for(approval_id, GRACE),
        )


async def test_approvals_started_before_scoping_stay_their_owners(
    api: Api, client: Client, keyed: Settings
) -> None:
    ada, grace = api(ADA_KEY), api(GRACE_KEY)
    approval_id = f"legacy-{SUFFIX}"
    legacy_id = approval_workflow_id(approval_id)
    # What POST /approvals did before: the unscoped id, the owner only in the search attribute.
    await client.start_workflow(
        ApprovalWorkflow.run,
        ApprovalInput(
            approval_id=approval_id, title="Old", timeout=timedelta(hours=1), requested_by=ADA
        ),
        id=legacy_id,
        task_queue=keyed.task_queue,
        search_attributes=TypedSearchAttributes([SearchAttributePair(RESEARCH_OWNER, ADA)]),
        memo={MEMO_STATUS_KEY: memo_view(approval_id, "Old")},
    )
    try:
        theirs = await grace.get(f"{APPROVALS}/{approval_id}")
        assert theirs.status_code == 404, theirs.text
        assert theirs.json()["error_code"] == "approval_not_found"
        mine = await ada.get(f"{APPROVALS}/{approval_id}")
        assert mine.status_code == 200 and mine.json()["title"] == "Old", mine.text
        duplicate = await create(ada, approval_id, "Old again")
        assert duplicate.status_code == 409, duplicate.text
        assert duplicate.json()["error_code"] == "approval_exists"
        fresh = await create(grace, approval_id, "Grace's own")
        assert fresh.status_code == 202, fresh.text
        grace_view = await grace.get(f"{APPROVALS}/{approval_id}")
        assert grace_view.status_code == 200 and grace_view.json()["title"] == "Grace's own"
    finally:
        await terminate(client, legacy_id, approval_workflow_id_for(approval_id, GRACE))
