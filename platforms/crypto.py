"""Platform credentials at rest (C1): AES-256-GCM under a key ring from the environment.

- `SMC_TOKEN_KEYS` is a comma-separated list of 32-byte keys (URL-safe base64). The first
  encrypts; all decrypt, so keys rotate by putting a new one first and then running
  `manage.py reencrypt_credentials`. The ring is independent of SECRET_KEY.
- What a ciphertext belongs to (agency, channel, field) is bound as associated data: a
  ciphertext copied into another row, channel or agency fails to decrypt.
- A failed decryption fails closed: CredentialUnreadable, never a guess or a fallback.

AES-GCM from `cryptography` (the maintained, audited choice): authenticated encryption
with associated data in one primitive, nothing hand-rolled.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_NONCE = 12


class CredentialUnreadable(Exception):
    """A stored credential could not be decrypted (wrong key, moved or altered row)."""


@dataclass(frozen=True)
class Sealed:
    ciphertext: bytes  # nonce + ciphertext + tag
    key_id: str


@dataclass(frozen=True)
class _Key:
    key_id: str
    aead: AESGCM


@lru_cache(maxsize=4)
def _ring(raw_keys: tuple[str, ...]) -> tuple[_Key, ...]:
    keys = []
    for position, text in enumerate(raw_keys, start=1):
        try:
            key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != 32:
            raise ImproperlyConfigured(
                f"SMC_TOKEN_KEYS: key {position} is not 32 bytes of URL-safe base64. Make one "
                'with: python3 -c "import base64, os; print(base64.urlsafe_b64encode('
                'os.urandom(32)).decode())"'
            )
        # The id names the key in each row (for rotation) without revealing it.
        keys.append(_Key(hashlib.sha256(b"smc-key-id" + key).hexdigest()[:16], AESGCM(key)))
    if not keys:
        raise ImproperlyConfigured("SMC_TOKEN_KEYS must name at least one key.")
    return tuple(keys)


def key_ring() -> tuple[_Key, ...]:
    return _ring(tuple(settings.SMC_TOKEN_KEYS))


def current_key_id() -> str:
    return key_ring()[0].key_id


def associated_data(*, agency_id: int | None, owner: str, field: str) -> bytes:
    """What a ciphertext is bound to: its agency, its owner row and its field."""
    return f"smc-credential|agency={agency_id or '-'}|{owner}|field={field}".encode()


def seal(plaintext: str, *, aad: bytes) -> Sealed:
    key = key_ring()[0]
    nonce = os.urandom(_NONCE)
    return Sealed(nonce + key.aead.encrypt(nonce, plaintext.encode(), aad), key.key_id)


def unseal(sealed: Sealed, *, aad: bytes) -> str:
    blob = bytes(sealed.ciphertext)
    for key in key_ring():
        if key.key_id != sealed.key_id:
            continue
        try:
            return key.aead.decrypt(blob[:_NONCE], blob[_NONCE:], aad).decode()
        except InvalidTag:
            raise CredentialUnreadable(
                "A stored credential failed its integrity check (altered, or moved from "
                "another row)."
            ) from None
    raise CredentialUnreadable(
        "A stored credential was encrypted with a key that is no longer in SMC_TOKEN_KEYS."
    )
