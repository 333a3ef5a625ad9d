"""Writing and verifying the record (R1, R2).

`record_event` is the only way an event is made. Each agency has its own chain:

    hash = SHA-256( canonical JSON of the event's fields, prev_hash included )

Appends lock the chain's head row, so concurrent writers queue rather than fork the
chain; the event commits or rolls back with the caller's transaction, so an action
and its record never part.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC

from django.db import connection, transaction
from django.utils import timezone

from audit.actions import Action, Outcome
from audit.actors import Actor
from audit.models import AuditEvent, ChainHead
from smc import request_context
from smc.tenancy import active_agency_id, agency_scope, every_agency, spans_every_agency

GENESIS = "0" * 64

# The fields a hash covers, in the order the verifier in an export package reads them.
# `content` itself is covered through content_sha256, so a retention purge can drop the
# text and keep the chain verifiable.
CHAINED_FIELDS = (
    "agency_id",
    "agency_label",
    "seq",
    "occurred_at",
    "actor_id",
    "actor_label",
    "actor_role",
    "on_behalf_of_id",
    "on_behalf_of_label",
    "action",
    "object_type",
    "object_id",
    "object_label",
    "outcome",
    "reason",
    "request_id",
    "ip",
    "user_agent",
    "content_sha256",
    "details",
    "prev_hash",
)


class AuditError(Exception):
    pass


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_time(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def chained_bytes(fields: dict) -> bytes:
    """The canonical bytes of an event: what its hash is computed over."""
    encoded = dict(fields)
    encoded["occurred_at"] = canonical_time(fields["occurred_at"])
    return canonical_json({name: encoded[name] for name in CHAINED_FIELDS}).encode()


def event_hash(fields: dict) -> str:
    return hashlib.sha256(chained_bytes(fields)).hexdigest()


def _as_actor(actor) -> Actor:
    if isinstance(actor, Actor):
        return actor
    audit_actor = getattr(actor, "audit_actor", None)
    if isinstance(audit_actor, Actor):
        return audit_actor
    raise AuditError(f"record_event needs an Actor or a member, not {type(actor).__name__}.")


def _subject_fields(subject) -> dict:
    if subject is None:
        return {"object_type": "", "object_id": "", "object_label": "", "content": ""}
    snapshot = subject.audit_snapshot() if hasattr(subject, "audit_snapshot") else {}
    meta = getattr(subject, "_meta", None)
    return {
        "object_type": meta.label_lower if meta else type(subject).__name__.lower(),
        "object_id": str(getattr(subject, "pk", "") or ""),
        "object_label": str(subject)[:200],
        "content": canonical_json(snapshot) if snapshot else "",
    }


def _lock_chain_head(agency_id: int | None) -> tuple[int, int, str]:
    where = "agency_id = %s" if agency_id is not None else "agency_id IS NULL"
    params = [agency_id] if agency_id is not None else []
    with connection.cursor() as cursor:
        select = f"SELECT id, seq, hash FROM audit_chainhead WHERE {where} FOR UPDATE"  # noqa: S608
        cursor.execute(select, params)
        row = cursor.fetchone()
        if row is None:
            cursor.execute(
                "INSERT INTO audit_chainhead (agency_id, seq, hash) VALUES (%s, 0, %s) "
                "ON CONFLICT DO NOTHING",
                [agency_id, GENESIS],
            )
            cursor.execute(select, params)
            row = cursor.fetchone()
    return row


def record_event(
    *,
    actor,
    action: str,
    subject=None,
    outcome: str = Outcome.SUCCESS,
    reason: str = "",
    details: dict | None = None,
    as_channel=None,
) -> AuditEvent:
    """R1: append one event to the actor's agency chain. Never pass secrets in details."""
    who = _as_actor(actor)
    Action(action)  # ValueError for an action nobody listed
    scoped = active_agency_id()
    # An agency's event only in that agency's scope. The installation's own chain
    # (agency None: a refused webhook, an unknown username) belongs to no agency, so any
    # request may add to it.
    if (
        who.agency_id is not None
        and scoped is not None
        and who.agency_id != scoped
        and not spans_every_agency()
    ):
        raise AuditError("An event must be recorded in the agency whose scope is open.")
    context = request_context.current()
    subject_fields = _subject_fields(subject)
    content = subject_fields.pop("content")

    # The installation's own chain (agency None) belongs to no agency, so writing it
    # spans agencies; an agency's chain is written in that agency's scope.
    scope = every_agency() if who.agency_id is None else agency_scope(who.agency_id)
    with scope, transaction.atomic():
        head_id, last_seq, last_hash = _lock_chain_head(who.agency_id)
        fields = {
            "agency_id": who.agency_id,
            "agency_label": who.agency_label,
            "seq": last_seq + 1,
            "occurred_at": timezone.now(),
            "actor_id": who.user_id,
            "actor_label": who.user_label,
            "actor_role": who.role,
            "on_behalf_of_id": getattr(as_channel, "pk", None),
            "on_behalf_of_label": str(as_channel)[:200] if as_channel is not None else "",
            "action": str(action),
            **subject_fields,
            "outcome": str(outcome),
            "reason": reason,
            "request_id": context.request_id,
            "ip": context.ip,
            "user_agent": context.user_agent,
            "content_sha256": hashlib.sha256(content.encode()).hexdigest() if content else "",
            "details": details or {},
            "prev_hash": last_hash or GENESIS,
        }
        fields["hash"] = event_hash(fields)
        event = AuditEvent(content=content, **fields)
        event.save(force_insert=True)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE audit_chainhead SET seq = %s, hash = %s WHERE id = %s",
                [event.seq, event.hash, head_id],
            )
    return event


# --- Verification -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    agency_id: int | None
    agency_label: str
    count: int
    broken_seq: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None

    def describe(self) -> str:
        name = self.agency_label or ("installation" if self.agency_id is None else "?")
        if self.ok:
            return f"OK {name}: {self.count} events, chain intact"
        return (
            f"BROKEN {name} (agency id {self.agency_id}) at seq {self.broken_seq}: {self.problem}"
        )


def _chain(agency_id: int | None) -> dict:
    return {"agency_id__isnull": True} if agency_id is None else {"agency_id": agency_id}


def _chain_rows(agency_id: int | None) -> Iterator[tuple]:
    return (
        AuditEvent.objects.filter(**_chain(agency_id))
        .order_by("seq")
        .values_list(*CHAINED_FIELDS, "content", "hash")
        .iterator(chunk_size=5000)
    )


def verify_chain(agency_id: int | None) -> ChainReport:
    """R2: walk one chain from its first event; name the first broken link."""
    expected_seq, prev_hash, label, count = 1, GENESIS, "", 0
    width = len(CHAINED_FIELDS)
    for row in _chain_rows(agency_id):
        fields = dict(zip(CHAINED_FIELDS, row[:width], strict=True))
        content, stored_hash = row[width], row[width + 1]
        label = fields["agency_label"] or label
        seq = fields["seq"]
        problem = None
        if seq != expected_seq:
            problem = (
                f"event {expected_seq} is missing (the next event is {seq})"
                if seq > expected_seq
                else f"event {seq} appears out of order"
            )
            seq = expected_seq
        elif fields["prev_hash"] != prev_hash:
            problem = "it does not link to the event before it (events removed or swapped)"
        elif event_hash(fields) != stored_hash:
            problem = "its fields were altered after it was recorded (hash mismatch)"
        elif content and hashlib.sha256(content.encode()).hexdigest() != fields["content_sha256"]:
            problem = "its content was altered after it was recorded (content hash mismatch)"
        if problem:
            return ChainReport(agency_id, label, count, seq, problem)
        prev_hash, expected_seq, count = stored_hash, expected_seq + 1, count + 1

    head = ChainHead.objects.filter(**_chain(agency_id)).first()
    if head is not None and (head.seq != count or (count and head.hash != prev_hash)):
        return ChainReport(
            agency_id,
            label,
            count,
            count + 1,
            f"the chain should end at event {head.seq} but ends at {count} (events removed)",
        )
    return ChainReport(agency_id, label, count)


def chain_agency_ids() -> list[int | None]:
    """Every chain there is. Reading them all spans agencies (operators, beat)."""
    with every_agency():
        heads = set(ChainHead.objects.values_list("agency_id", flat=True))
        heads |= set(AuditEvent.objects.values_list("agency_id", flat=True).distinct())
    return sorted(heads, key=lambda a: (a is not None, a or 0))


def verify_chains(agency_ids: list[int | None] | None = None) -> list[ChainReport]:
    ids = chain_agency_ids() if agency_ids is None else agency_ids
    reports = []
    for agency_id in ids:
        if agency_id is None:
            # The installation chain belongs to no agency.
            with every_agency():
                reports.append(verify_chain(None))
        else:
            with agency_scope(agency_id):
                reports.append(verify_chain(agency_id))
    return reports


def chain_head_of(agency_id: int | None) -> ChainHead | None:
    """The newest link of a chain (its length and last hash)."""
    return ChainHead.objects.filter(**_chain(agency_id)).first()
