"""AES-256-GCM payload encryption: workflow inputs, results, memos and failure messages are
ciphertext on the Temporal server; only processes holding the key read them.

Each encrypted payload names its key (`encryption-key-id` metadata), so keys rotate without a
flag day: a new key encrypts from now on, older keys listed after it still decrypt what was
written before. The whole original payload (its metadata too, which says it is JSON and of
what type) is serialized and sealed, so the server sees nothing but the key id.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Iterable, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # GCM's standard nonce; random per payload (2^32 payloads per key is safe)


class PayloadKeyError(ValueError):
    """A configured key is not base64 of 32 bytes; the message never includes the key."""


class UndecryptablePayload(ValueError):
    """Encrypted with a key we do not hold, or altered since it was sealed."""


class PlaintextPayload(UndecryptablePayload):
    """Not encrypted at all, where every payload must be: written by someone without the key."""


def parse_keys(text: str) -> list[bytes]:
    """Comma-separated base64 keys, the current one first."""
    keys: list[bytes] = []
    for position, item in enumerate((p.strip() for p in text.split(",")), start=1):
        if not item:
            continue
        try:
            key = base64.b64decode(item, validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != KEY_BYTES:
            raise PayloadKeyError(
                f"payload key #{position} is not base64 of {KEY_BYTES} bytes; make one with "
                '`python -c "import base64, os; print(base64.b64encode(os.urandom(32)).decode())"`'
            )
        keys.append(key)
    if not keys:
        raise PayloadKeyError("no payload key given")
    return keys


def key_id(key: bytes) -> str:
    """A name for a key that reveals nothing usable about it: a prefix of its SHA-256."""
    return "sha256:" + hashlib.sha256(key).hexdigest()[:16]


class EncryptionCodec(PayloadCodec):
    """Encrypts with the first key; decrypts with whichever key a payload names.

    A payload that is not encrypted is refused by `decode` (`PlaintextPayload`): the Temporal
    frontend authenticates nobody, so a start, signal or update with a plain body comes from
    someone without the key, and the worker must not act on it (its workflow task fails and
    nothing of the input runs). With `plaintext_ok`, such payloads pass through unchanged: for
    showing histories to an operator (the codec server), never for running them.
    """

    def __init__(self, keys: Iterable[bytes], *, plaintext_ok: bool = False) -> None:
        self._ciphers = {key_id(k): AESGCM(k) for k in keys}
        if not self._ciphers:
            raise PayloadKeyError("no payload key given")
        self.current_key_id = next(iter(self._ciphers))
        self.plaintext_ok = plaintext_ok

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        kid = self.current_key_id
        nonce = os.urandom(NONCE_BYTES)
        # The key id is authenticated too: a payload relabelled with another key id fails.
        sealed = self._ciphers[kid].encrypt(nonce, payload.SerializeToString(), kid.encode())
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: kid.encode()}, data=nonce + sealed
        )

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            if self.plaintext_ok:
                return payload
            kind = payload.metadata.get("encoding", b"").decode(errors="replace")[:40]
            raise PlaintextPayload(f"refusing an unencrypted payload ({kind!r}); a key is set")
        kid = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise UndecryptablePayload(f"payload encrypted with key {kid!r}, which is not held")
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, kid.encode())
        except (InvalidTag, ValueError) as err:  # ValueError: too short to hold a nonce
            raise UndecryptablePayload(f"payload under key {kid!r} fails authentication") from err
        return Payload.FromString(plain)
