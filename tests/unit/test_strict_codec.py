"""With a payload key set, the codec refuses payloads that are not encrypted (a forged start,
signal or update carries a plain body), except where it only shows them (the codec server)."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter

from codec import data_converter, payload_codec
from codec.encryption import EncryptionCodec, UndecryptablePayload
from settings import Settings

KEY = os.urandom(32)
PLAIN = Payload(metadata={"encoding": b"json/plain"}, data=b'{"question": "forged"}')


async def test_a_plain_payload_is_refused_and_an_encrypted_one_reads() -> None:
    codec = EncryptionCodec([KEY])
    sealed = await codec.encode([PLAIN])
    assert await codec.decode(sealed) == [PLAIN]
    with pytest.raises(UndecryptablePayload, match="unencrypted"):
        await codec.decode([PLAIN])
    with pytest.raises(UndecryptablePayload):
        await codec.decode([*sealed, PLAIN])  # one plain payload among sealed ones is enough


async def test_the_converter_temporal_clients_use_is_strict(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, payload_key=SecretStr(base64.b64encode(KEY).decode()))
    converter = data_converter(settings)
    assert converter.payload_codec is not None
    with pytest.raises(UndecryptablePayload):
        await converter.decode([PLAIN])
    # A whole forged workflow input, as a client without the codec writes it.
    forged = await pydantic_data_converter.encode([{"question": "forged"}])
    with pytest.raises(UndecryptablePayload):
        await converter.decode(forged)
    # The codec server only shows payloads to an operator: plain ones come back as they are.
    display = payload_codec(settings)
    assert display is not None and await display.decode([PLAIN]) == [PLAIN]
