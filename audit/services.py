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
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC
from json.encoder import encode_basestring

import psycopg
from django.db import connection, transaction
from django.utils import timezone

from audit import anchoring
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
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# chained_bytes writes the canonical JSON of the chained fields itself rather than through
# json.dumps of a dict: the same bytes (keys sorted, no spaces, strings through the very
# encoder json.dumps uses with ensure_ascii=False), about four times faster, which is
# what lets verification keep up with a million-event chain. tests/audit/test_chain.py
# checks it against canonical_json.
_SORTED_FIELDS = sorted(CHAINED_FIELDS)
_KEY_PREFIXES = tuple(
    ("{" if i == 0 else ",") + encode_basestring(name) + ":"
    for i, name in enumerate(_SORTED_FIELDS)
)


def _json_value(value) -> str:
    kind = type(value)
    if kind is str:
        return encode_basestring(value)
    if value is None:
        return "null"
    if kind is int:
        return int.__repr__(value)
    return canonical_json(value)


def _canonical_row(values) -> bytes:
    """`values` in _SORTED_FIELDS order, occurred_at already canonical."""
    parts = []
    for prefix, value in zip(_KEY_PREFIXES, values):  # noqa: B905 - same length by construction
        parts.append(prefix)
        parts.append(_json_value(value))
    parts.append("}")
    return "".join(parts).encode()


def chained_bytes(fields: dict) -> bytes:
    """The canonical bytes of an event: what its hash is computed over."""
    return _canonical_row(
        canonical_time(fields[name]) if name == "occurred_at" else fields[name]
        for name in _SORTED_FIELDS
    )


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


_PREV_AT = _SORTED_FIELDS.index("prev_hash")
_SEQ_AT = _SORTED_FIELDS.index("seq")


def _canonical_parts(fields: dict) -> tuple[str, str, str]:
    """The event's canonical JSON cut around prev_hash and seq, which only the chain's
    head knows (audit_append in migration 0005 joins them): before prev_hash's hex,
    between it and seq, after seq."""
    pieces = []
    for index, (prefix, name) in enumerate(zip(_KEY_PREFIXES, _SORTED_FIELDS, strict=True)):
        if index == _PREV_AT:
            pieces.append(prefix + '"')
            pieces.append(None)
            pieces.append('"')
        elif index == _SEQ_AT:
            pieces.append(prefix)
            pieces.append(None)
        else:
            value = fields[name]
            pieces.append(prefix)
            pieces.append(_json_value(canonical_time(value) if name == "occurred_at" else value))
    pieces.append("}")
    first = pieces.index(None)
    second = pieces.index(None, first + 1)
    return (
        "".join(pieces[:first]),
        "".join(pieces[first + 1 : second]),
        "".join(pieces[second + 1 :]),
    )


# Every parameter typed, so the statement's types are the same on every call and it can
# be prepared once per connection (see record_event).
_APPEND_TYPES = (
    "bigint", "text", "timestamptz", "bigint", "text", "text", "bigint", "text", "text",
    "text", "text", "text", "text", "text", "text", "inet", "text",
    "text", "text", "jsonb", "text", "text", "text",
)  # fmt: skip
_APPEND = (
    "SELECT event_id, event_seq, event_prev, event_hash FROM audit_append("  # noqa: S608
    + ", ".join(f"%s::{kind}" for kind in _APPEND_TYPES)
    + ")"
)
_APPENDED = (
    "agency_id", "agency_label", "occurred_at", "actor_id", "actor_label", "actor_role",
    "on_behalf_of_id", "on_behalf_of_label", "action", "object_type", "object_id",
    "object_label", "outcome", "reason", "request_id", "ip", "user_agent",
)  # fmt: skip


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
    fields = {
        "agency_id": who.agency_id,
        "agency_label": who.agency_label,
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
    }
    parts = _canonical_parts(fields)
    params = [fields[name] for name in _APPENDED]
    params += [content, fields["content_sha256"], canonical_json(fields["details"]), *parts]
    with scope:
        if connection.in_atomic_block:
            # Inside the caller's transaction: the event commits or rolls back with it.
            with connection.cursor() as cursor:
                cursor.execute(_APPEND, params)
                appended = cursor.fetchone()
        else:
            # Outside any transaction the call is its own transaction: one round trip
            # (audit_append opens its agency's row scope itself, so the row scope guard's
            # BEGIN, set_config and COMMIT around it are not needed), through a prepared
            # statement with server-side parameters: PostgreSQL parses and plans it once
            # per connection, and nothing is quoted into SQL text here.
            connection.ensure_connection()
            with psycopg.Cursor(connection.connection) as cursor:
                appended = cursor.execute(_APPEND, params, prepare=True).fetchone()
    event_id, fields["seq"], fields["prev_hash"], fields["hash"] = appended
    # The database put only prev_hash and seq into the bytes it hashed; the rest are the
    # canonical JSON written here by the same encoder as chained_bytes.
    canonical = f"{parts[0]}{fields['prev_hash']}{parts[1]}{fields['seq']}{parts[2]}"
    if hashlib.sha256(canonical.encode()).hexdigest() != fields["hash"]:
        # Never expected: the database and Python disagree on the canonical bytes. Refused
        # here (rolled back with the caller's transaction); verify_audit would name it too.
        raise AuditError("The record's hash scheme disagrees with the database.")
    return AuditEvent(id=event_id, content=content, **fields)


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


# Verification streams each chain from PostgreSQL in one pass and hashes in Python.
# PostgreSQL writes the event's canonical JSON around `details` with row_to_json over
# the chained fields in sorted order: compact (no spaces), strings escaped exactly as
# json.dumps(ensure_ascii=False) escapes them, integers and null plain, one C call per
# half instead of an expression per field. `details` comes as text and is re-encoded
# canonically here (jsonb keeps its keys in its own order) unless empty. The rows are
# streamed rather than fetched page by page, so PostgreSQL writes the next rows while
# Python hashes these: the two run side by side on two cores, in constant memory.
# test_chain.py checks the bytes against chained_bytes, awkward text included.
def _sql_field(name: str) -> str:
    if name == "occurred_at":
        return (
            "to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') "
            "AS occurred_at"
        )
    if name == "ip":
        return "host(e.ip) AS ip"
    return f"e.{name}"


_DETAILS_AT = _SORTED_FIELDS.index("details")
_VERIFY_SELECT = (  # built from constant field names only
    "SELECT e.seq, e.prev_hash, e.hash, "  # noqa: S608
    # the content's own hash, checked where the content is, instead of shipping it
    "e.content = '' OR encode(sha256(convert_to(e.content, 'UTF8')), 'hex') = e.content_sha256, "
    # the JSON before details, up to its key, and after it, from its comma on
    f"left(row_to_json(head)::text, -1) || '{_KEY_PREFIXES[_DETAILS_AT]}', "
    "e.details::text, ',' || substr(row_to_json(tail)::text, 2) "
    "FROM audit_auditevent e, "
    f"LATERAL (SELECT {', '.join(map(_sql_field, _SORTED_FIELDS[:_DETAILS_AT]))}) head, "
    f"LATERAL (SELECT {', '.join(map(_sql_field, _SORTED_FIELDS[_DETAILS_AT + 1 :]))}) tail"
)
# canonical_json's encoder, made once: verification encodes a details value per event.
_canonical_details = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
).encode


def _chain_rows(agency_id: int | None) -> Iterator[tuple]:
    """The chain's events in seq order; inside a transaction whose row scope is open."""
    where = "e.agency_id IS NULL" if agency_id is None else "e.agency_id = %s"
    params = [] if agency_id is None else [agency_id]
    with connection.connection.cursor() as cursor:
        yield from cursor.stream(
            f"{_VERIFY_SELECT} WHERE {where} ORDER BY e.seq", params, size=2000
        )


def _label(agency_id: int | None) -> str:
    """The agency's name as its newest event gives it."""
    return (
        AuditEvent.objects.filter(**_chain(agency_id))
        .exclude(agency_label="")
        .order_by("-seq")
        .values_list("agency_label", flat=True)
        .first()
    ) or ""


def _walk(agency_id: int | None, checkpoints: dict) -> tuple[int, str, tuple | None]:
    """The chain's length and last hash, and (seq, problem) of its first broken link."""
    expected_seq, prev_hash, count = 1, GENESIS, 0
    # Locals, and one combined test per event: this loop is what verification costs.
    sha256, loads, canonical = hashlib.sha256, json.loads, _canonical_details
    with closing(_chain_rows(agency_id)) as rows:  # an early return ends the stream
        for seq, prev, stored_hash, content_ok, head, details, tail in rows:
            if details != "{}":
                details = canonical(loads(details))
            blob = (head + details + tail).encode()
            if (
                seq != expected_seq
                or prev != prev_hash
                or sha256(blob).hexdigest() != stored_hash
                or not content_ok
                or seq in checkpoints
            ):
                problem = _link_problem(
                    seq, expected_seq, prev, prev_hash, stored_hash, blob, content_ok,
                    checkpoints.get(seq),
                )  # fmt: skip
                if problem:
                    return count, prev_hash, (expected_seq, problem)
            prev_hash, expected_seq, count = stored_hash, expected_seq + 1, count + 1
    return count, prev_hash, None


def _link_problem(
    seq, expected_seq, prev, prev_hash, stored_hash, canonical_bytes, content_ok, checkpoint
) -> str | None:
    if seq != expected_seq:
        if seq > expected_seq:
            return f"event {expected_seq} is missing (the next event is {seq})"
        return f"event {seq} appears out of order"
    if prev != prev_hash:
        return "it does not link to the event before it (events removed or swapped)"
    if hashlib.sha256(canonical_bytes).hexdigest() != stored_hash:
        return "its fields were altered after it was recorded (hash mismatch)"
    if not content_ok:
        return "its content was altered after it was recorded (content hash mismatch)"
    if checkpoint is not None and checkpoint.hash != stored_hash:
        return (
            f"its hash differs from the signed checkpoint {checkpoint.name} taken "
            f"{checkpoint.checkpointed_at} (the record was rewritten after that checkpoint)"
        )
    return None


def verify_chain(agency_id: int | None) -> ChainReport:
    """R2: walk one chain from its first event; name the first broken link. Every signed
    checkpoint of the chain (audit.anchoring) must match the event at its seq, so a
    record rewritten consistently, hashes and all, is caught too."""
    try:
        checkpoints = {c.seq: c for c in anchoring.read_checkpoints(agency_id)}
    except anchoring.CheckpointInvalid as error:
        return ChainReport(agency_id, "", 0, 0, str(error))
    with transaction.atomic():
        # The label's query opens the transaction's row scope (RowScopeGuard), which the
        # stream in _walk then reads under: it bypasses Django's cursor.
        label = _label(agency_id)
        count, prev_hash, broken = _walk(agency_id, checkpoints)
    if broken:
        return ChainReport(agency_id, label, count, *broken)

    beyond = [c for c in checkpoints.values() if c.seq > count]
    if beyond:
        found = beyond[0]
        return ChainReport(
            agency_id,
            label,
            count,
            count + 1,
            f"the chain ends at event {count} but the signed checkpoint {found.name} taken "
            f"{found.checkpointed_at} saw event {found.seq} (events removed or the record "
            "rewritten)",
        )
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
