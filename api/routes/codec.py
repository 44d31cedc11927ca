"""The codec server for the Temporal Web UI and CLI: POST /codec/encode and /codec/decode.

With `RESEARCH_PAYLOAD_KEY` set, workflow payloads are ciphertext on the Temporal server; the
Web UI (`temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8000/codec`, which
`research up` passes) or the CLI (`temporal workflow show --codec-endpoint ...`) sends them here
to be shown in plain text. The body is Temporal's codec-server shape, `{"payloads":
[{"metadata": {"encoding": "<base64>"}, "data": "<base64>"}]}`: the JSON form of
`temporal.api.common.v1.Payloads`.

Served by the API rather than a process of its own: the API already holds the key, and the guard
in front of every route covers this one too (an API key when auth is on; loopback only when it
is off, which is exactly where `research up`'s Web UI runs). With keys on, only operators'
keys (RESEARCH_API_OPERATORS) may call it: it decrypts every owner's runs. Only mounted when a
payload key is set.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payload

from api.auth import Principal
from api.errors import ApiError
from api.routes import error_responses
from codec.encryption import EncryptionCodec, UndecryptablePayload
from settings import Settings

CODEC_PREFIX = "/codec"
MAX_PAYLOADS = 1000


def require_operator(request: Request) -> None:
    """403 unless the caller is an operator: an owner in RESEARCH_API_OPERATORS (auth off: the
    one local person). The codec decrypts any run's payloads, whoever owns the run."""
    settings: Settings = request.app.state.settings
    principal: Principal | None = getattr(request.state, "principal", None)
    if not settings.auth_enabled:
        return
    if principal is None or principal.owner not in settings.api_operators:
        raise ApiError(
            403,
            "operator_only",
            "the codec endpoints decrypt every run's payloads, so only operators may call them "
            "(owners listed in RESEARCH_API_OPERATORS)",
        )


router = APIRouter(prefix=CODEC_PREFIX, tags=["codec"], dependencies=[Depends(require_operator)])

Base64 = Annotated[str, Field(pattern=r"^[A-Za-z0-9+/_-]*={0,2}$", examples=["ImhpIg=="])]


class CodecPayload(BaseModel):
    metadata: dict[str, Base64] = Field(default_factory=dict)
    data: Base64 = ""


class CodecPayloads(BaseModel):
    payloads: list[CodecPayload] = Field(max_length=MAX_PAYLOADS)


def _bytes(text: str) -> bytes:
    # Protobuf's JSON form is standard base64, but its parsers accept the URL-safe alphabet and
    # missing padding too; so do we.
    try:
        return base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as err:
        raise ApiError(422, "invalid_payload", "a payload field is not base64") from err


def _to_proto(body: CodecPayloads) -> list[Payload]:
    return [
        Payload(metadata={k: _bytes(v) for k, v in p.metadata.items()}, data=_bytes(p.data))
        for p in body.payloads
    ]


def _to_json(payloads: list[Payload]) -> CodecPayloads:
    def b64(value: bytes) -> str:
        return base64.b64encode(value).decode("ascii")

    return CodecPayloads(
        payloads=[
            CodecPayload(metadata={k: b64(v) for k, v in p.metadata.items()}, data=b64(p.data))
            for p in payloads
        ]
    )


def _codec(request: Request) -> EncryptionCodec:
    return request.app.state.payload_codec


@router.post(
    "/encode", response_model=CodecPayloads, responses=error_responses(403, 422, body=True)
)
async def encode(body: CodecPayloads, request: Request) -> CodecPayloads:
    """Encrypt payloads (the Web UI sends what a person types as workflow input here)."""
    return _to_json(await _codec(request).encode(_to_proto(body)))


@router.post(
    "/decode", response_model=CodecPayloads, responses=error_responses(403, 422, body=True)
)
async def decode(body: CodecPayloads, request: Request) -> CodecPayloads:
    """Decrypt payloads; ones that are not encrypted come back as they are."""
    try:
        return _to_json(await _codec(request).decode(_to_proto(body)))
    except UndecryptablePayload as err:
        raise ApiError(422, "undecryptable_payload", str(err)) from err


def codec_origins(settings: Settings) -> list[str]:
    """Browser origins allowed to call the codec: the setting, else the embedded Web UI's."""
    if settings.payload_codec_origins:
        return list(settings.payload_codec_origins)
    return [f"http://{host}:{settings.ui_port}" for host in ("127.0.0.1", "localhost")]


class CodecCORS:
    """CORS for the codec paths only, outside the guard: a browser's preflight carries no
    credentials, so it must be answered before the guard asks for them. The API's own routes
    stay same-origin."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["POST"],
            # What the Web UI sends: its namespace, and (when configured) a token or cookies.
            allow_headers=["content-type", "x-namespace", "authorization"],
            allow_credentials=True,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(CODEC_PREFIX + "/"):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
