"""Anchoring the record outside the database (R2): signed checkpoints of each chain's head.

The hash chain shows that no event was changed unless every later hash was recomputed,
which the database owner could do. So beat writes each chain's head (seq and hash) to
files outside the database (SMC_AUDIT_CHECKPOINT_DIR), signed with an Ed25519 key that
the database never holds (SMC_AUDIT_SIGNING_KEY). `verify_audit` compares the chain to
every checkpoint: a rewritten record no longer has the hash a checkpoint saw.

One file per checkpoint, never rewritten: `<dir>/<chain>/<seq>.json`, where <chain> is
`agency-<id>` or `installation`. Each holds the fields below and an Ed25519 signature
over their canonical JSON; anyone with the public key can check it (the key id is the
first 16 hex digits of the public key's SHA-256).

Signing with `cryptography` (already a dependency for platform credentials): Ed25519
from the standard library does not exist.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from audit.models import ChainHead
from smc import embedded
from smc.tenancy import every_agency

log = logging.getLogger(__name__)

SIGNED_FIELDS = ("agency_id", "agency_label", "seq", "hash", "checkpointed_at", "key_id")


def _canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# --- The key ---------------------------------------------------------------------------------


def _generated_key() -> str:
    """The demo's key: made once in SMC_DATA_DIR, readable by its owner only."""
    path = embedded.data_dir() / "audit_signing_key"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as file:
        file.write(base64.urlsafe_b64encode(os.urandom(32)).decode())
    return path.read_text().strip()


@functools.cache
def _key_from(raw: str) -> Ed25519PrivateKey:
    try:
        seed = base64.urlsafe_b64decode(raw.encode())
    except ValueError:
        seed = b""
    if len(seed) != 32:
        raise ImproperlyConfigured(
            "SMC_AUDIT_SIGNING_KEY must be 32 random bytes in URL-safe base64 (an Ed25519 key)."
        )
    return Ed25519PrivateKey.from_private_bytes(seed)


def signing_key() -> Ed25519PrivateKey:
    return _key_from(settings.SMC_AUDIT_SIGNING_KEY or _generated_key())


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(public_key_bytes(key)).hexdigest()[:16]


# --- Writing ---------------------------------------------------------------------------------


def checkpoint_dir() -> Path:
    return Path(settings.SMC_AUDIT_CHECKPOINT_DIR)


def chain_folder(agency_id: int | None) -> Path:
    return checkpoint_dir() / ("installation" if agency_id is None else f"agency-{agency_id}")


def write_checkpoint(*, agency_id: int | None, agency_label: str, seq: int, hash: str) -> Path:
    key = signing_key()
    public = key.public_key()
    body = {
        "agency_id": agency_id,
        "agency_label": agency_label,
        "seq": seq,
        "hash": hash,
        "checkpointed_at": timezone.now().isoformat(),
        "key_id": key_id(public),
    }
    body["signature"] = base64.b64encode(key.sign(_canonical(body))).decode()
    body["public_key"] = base64.b64encode(public_key_bytes(public)).decode()
    folder = chain_folder(agency_id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{seq:012d}.json"
    temporary = folder / f".{seq:012d}.json.{os.getpid()}"
    with open(temporary, "w") as file:
        file.write(json.dumps(body, indent=1, sort_keys=True))
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    return path


def checkpoint_every_chain() -> list[Path]:
    """Beat: a checkpoint of every chain whose head moved since its last checkpoint."""
    from audit.models import AuditEvent

    # The checkpoint covers every agency's chain, and the installation's.
    with every_agency():
        heads = list(ChainHead.objects.filter(seq__gt=0).values_list("agency_id", "seq", "hash"))
        written = []
        for agency_id, seq, head_hash in heads:
            if (chain_folder(agency_id) / f"{seq:012d}.json").exists():
                continue
            label = (
                AuditEvent.objects.filter(agency_id=agency_id, seq=seq)
                .values_list("agency_label", flat=True)
                .first()
            )
            written.append(
                write_checkpoint(
                    agency_id=agency_id, agency_label=label or "", seq=seq, hash=head_hash
                )
            )
    return written


# --- Reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    checkpointed_at: str
    name: str  # the file, relative to the checkpoint folder, as reports name it


class CheckpointInvalid(Exception):
    pass


def read_checkpoints(agency_id: int | None) -> list[Checkpoint]:
    """Every checkpoint of one chain, oldest first. A file that is unreadable, names
    another chain or is not signed by this installation's key raises CheckpointInvalid."""
    folder = chain_folder(agency_id)
    if not folder.is_dir():
        return []
    public = signing_key().public_key()
    found = []
    for path in sorted(folder.glob("*.json")):
        name = f"{folder.name}/{path.name}"
        try:
            body = json.loads(path.read_text())
            signature = base64.b64decode(body["signature"])
            signed = {field: body[field] for field in SIGNED_FIELDS}
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CheckpointInvalid(f"checkpoint {name} is unreadable ({error})") from None
        try:
            public.verify(signature, _canonical(signed))
        except InvalidSignature:
            raise CheckpointInvalid(
                f"checkpoint {name} is not signed by this installation's key "
                f"(key {key_id(public)}; the file names {body.get('key_id')!r})"
            ) from None
        if signed["agency_id"] != agency_id:
            raise CheckpointInvalid(f"checkpoint {name} belongs to another chain")
        found.append(
            Checkpoint(
                seq=int(signed["seq"]),
                hash=str(signed["hash"]),
                checkpointed_at=str(signed["checkpointed_at"]),
                name=name,
            )
        )
    return sorted(found, key=lambda c: c.seq)
