"""The data converter every Temporal client of this service uses, encrypting when a key is set.

One function builds it, so the API, the worker, `research doctor` and the admin step cannot
disagree: a worker without the key could not read what an API with it started, and the other
way round. Without `RESEARCH_PAYLOAD_KEY` it is exactly `pydantic_data_converter`. With it,
the converter refuses unencrypted payloads: the Temporal frontend authenticates nobody, and a
forged start or signal is exactly a payload written without the key.
"""

from __future__ import annotations

import dataclasses

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from codec.encryption import EncryptionCodec, parse_keys
from settings import Settings


def payload_codec(settings: Settings, *, strict: bool = False) -> EncryptionCodec | None:
    """The encryption codec for the configured keys, or None when encryption is off.

    Not `strict`, it shows unencrypted payloads as they are: that is the codec server's job (the
    Web UI displays whatever a history holds). Temporal clients and workers use `strict`.
    """
    if settings.payload_key is None or not settings.payload_key.get_secret_value().strip():
        return None
    keys = parse_keys(settings.payload_key.get_secret_value())
    return EncryptionCodec(keys, plaintext_ok=not strict)


def data_converter(settings: Settings) -> DataConverter:
    codec = payload_codec(settings, strict=True)
    if codec is None:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        # Failure messages and stack traces go into an encoded payload too: an error often
        # quotes the input that caused it.
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
