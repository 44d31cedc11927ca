"""An Anthropic-shaped front on the scripted LLM: the same scripts, spoken as the Messages API.

`POST /v1/messages` answers a forced tool call (`tool_choice.name` is the schema asked for)
with a `tool_use` block whose input is what the OpenAI fake would have written as JSON, and a
plain request with a text block. Failures and delays come from the same `Script`, with
Anthropic's error body; `GET /v1/models/{id}` is what `research doctor` asks.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from tests.fakes.llm_server import Call, FakeLLM

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_error",
    529: "overloaded_error",
}


class FakeAnthropic(FakeLLM):
    def __init__(self, models: tuple[str, ...] = ("claude-fake",)) -> None:
        super().__init__()
        self.models = set(models)
        self.bodies: list[dict[str, Any]] = []
        self.app.post("/v1/messages")(self._messages)
        self.app.get("/v1/models/{model_id}")(self._model)

    def reset(self, **script: Any) -> None:
        super().reset(**script)
        with self.lock:
            self.bodies = []

    async def _model(self, model_id: str) -> JSONResponse:
        if model_id not in self.models:
            return _error(404, f"model: {model_id}")
        return JSONResponse(
            {
                "type": "model",
                "id": model_id,
                "display_name": model_id,
                "created_at": "2025-01-01T00:00:00Z",
            }
        )

    async def _messages(self, request: Request) -> JSONResponse:
        body = await request.json()
        kind = (body.get("tool_choice") or {}).get("name") or "text"
        prompt = body["messages"][-1]["content"]
        call = Call(kind=kind, fingerprint=hashlib.sha256(prompt.encode()).hexdigest()[:16])
        with self.lock:
            self.calls.append(call)
            self.bodies.append(body)
            failures = self.script.failures.get(kind, [])
            status = failures.pop(0) if failures else None
            delay = self.script.delays.get(kind, 0.0)
        if status is not None:
            return _error(status, f"injected {status}")
        if delay:
            await asyncio.sleep(delay)
        self.max_tokens = body.get("max_tokens")
        reply = self._reply(kind, prompt)
        if kind == "text":
            block: dict[str, Any] = {"type": "text", "text": reply}
        else:
            block = {
                "type": "tool_use",
                "id": "toolu_fake",
                "name": kind,
                "input": json.loads(reply),
            }
        call.completed = True
        return JSONResponse(
            {
                "id": "msg_fake",
                "type": "message",
                "role": "assistant",
                "model": body.get("model", "claude-fake"),
                "content": [block],
                "stop_reason": "end_turn" if kind == "text" else "tool_use",
                "stop_sequence": None,
                "usage": {"input_tokens": len(prompt) // 4, "output_tokens": len(reply) // 4},
            }
        )

    @property
    def anthropic_url(self) -> str:
        # The SDK appends /v1/messages itself.
        return f"http://127.0.0.1:{self.port}"


def _error(status: int, message: str) -> JSONResponse:
    kind = ERROR_TYPES.get(status, "api_error")
    headers = {"retry-after": "1"} if status == 429 else {}
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return JSONResponse(body, status, headers=headers)
