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
from json.encoder import encode_basestring

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


_APPEND = (
    "SELECT event_id, event_seq, event_prev, event_hash FROM audit_append("  # noqa: S608
    + ", ".join(["%s"] * 17)
    + ", %s, %s, %s::jsonb, %s, %s, %s)"
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
            # BEGIN, set_config and COMMIT around it are not needed).
            connection.ensure_connection()
            appended = connection.connection.execute(_APPEND, params).fetchone()
    event_id, fields["seq"], fields["prev_hash"], fields["hash"] = appended
    if event_hash(fields) != fields["hash"]:
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


# Verification has PostgreSQL write each event's canonical JSON (to_json escapes strings
# exactly as json.dumps(ensure_ascii=False) does; integers, null and the time are plain
# text) and hashes it here, in Python, so the per-event work left in Python is one
# SHA-256: a million-event chain verifies in seconds. `details` is the exception: jsonb
# keeps its keys in its own order, so it comes as text and is re-encoded canonically
# here unless empty. test_chain.py checks both halves against chained_bytes.
def _sql_value(name: str) -> str:
    if name == "occurred_at":
        moment = "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
        return f"'\"' || {moment} || 'Z\"'"
    if name == "ip":
        return "coalesce(to_json(host(ip))::text, 'null')"
    if name in ("seq", "agency_id", "actor_id", "on_behalf_of_id"):
        return f"coalesce({name}::text, 'null')"
    return f"to_json({name})::text"


def _sql_canonical(names) -> str:
    return " || ".join(
        f"'{_KEY_PREFIXES[_SORTED_FIELDS.index(n)]}' || {_sql_value(n)}" for n in names
    )


_DETAILS_AT = _SORTED_FIELDS.index("details")
# details written canonically by PostgreSQL when it is flat (strings, integers, true,
# false, null: the usual case), keys in code-point order; otherwise NULL and Python
# re-encodes it.
_FLAT_DETAILS = """CASE WHEN details = '{}'::jsonb THEN '{}' ELSE (
  SELECT '{' || string_agg(to_json(key)::text || ':' || value::text, ',' ORDER BY key COLLATE "C")
         || '}'
  FROM jsonb_each(details)
  HAVING bool_and(jsonb_typeof(value) IN ('string', 'boolean', 'null')
                  OR (jsonb_typeof(value) = 'number' AND value::text ~ '^-?[0-9]+$'))
) END"""
_VERIFY_SELECT = (  # built from constant field names only
    "SELECT seq, prev_hash, hash, "  # noqa: S608
    # the content's own hash, checked where the content is, instead of shipping it
    "content = '' OR encode(sha256(convert_to(content, 'UTF8')), 'hex') = content_sha256, "
    "part.head, part.flat, CASE WHEN part.flat IS NULL THEN details::text END, part.tail "
    "FROM audit_auditevent, LATERAL (SELECT "
    + _sql_canonical(_SORTED_FIELDS[:_DETAILS_AT])
    + f" || '{_KEY_PREFIXES[_DETAILS_AT]}' AS head, "
    + f"{_FLAT_DETAILS} AS flat, "
    + _sql_canonical(_SORTED_FIELDS[_DETAILS_AT + 1 :])
    + " || '}' AS tail) AS part"
)


def _chain_rows(agency_id: int | None) -> Iterator[tuple]:
    where = "agency_id IS NULL" if agency_id is None else "agency_id = %s"
    params = [] if agency_id is None else [agency_id]
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(f"{_VERIFY_SELECT} WHERE {where} ORDER BY seq", params)
        while rows := cursor.fetchmany(5000):
            yield from rows


def _label(agency_id: int | None) -> str:
    """The agency's name as its newest event gives it."""
    return (
        AuditEvent.objects.filter(**_chain(agency_id))
        .exclude(agency_label="")
        .order_by("-seq")
        .values_list("agency_label", flat=True)
        .first()
    ) or ""


def verify_chain(agency_id: int | None) -> ChainReport:
    """R2: walk one chain from its first event; name the first broken link. Every signed
    checkpoint of the chain (audit.anchoring) must match the event at its seq, so a
    record rewritten consistently, hashes and all, is caught too."""
    try:
        checkpoints = {c.seq: c for c in anchoring.read_checkpoints(agency_id)}
    except anchoring.CheckpointInvalid as error:
        return ChainReport(agency_id, "", 0, 0, str(error))
    expected_seq, prev_hash, count = 1, GENESIS, 0
    sha256, loads = hashlib.sha256, json.loads
    for seq, prev, stored_hash, content_ok, head, flat, details, tail in _chain_rows(agency_id):
        if flat is None:
            flat = canonical_json(loads(details))
        problem = None
        if seq != expected_seq:
            problem = (
                f"event {expected_seq} is missing (the next event is {seq})"
                if seq > expected_seq
                else f"event {seq} appears out of order"
            )
            seq = expected_seq
        elif prev != prev_hash:
            problem = "it does not link to the event before it (events removed or swapped)"
        elif sha256((head + flat + tail).encode()).hexdigest() != stored_hash:
            problem = "its fields were altered after it was recorded (hash mismatch)"
        elif not content_ok:
            problem = "its content was altered after it was recorded (content hash mismatch)"
        elif seq in checkpoints and checkpoints[seq].hash != stored_hash:
            found = checkpoints[seq]
            problem = (
                f"its hash differs from the signed checkpoint {found.name} taken "
                f"{found.checkpointed_at} (the record was rewritten after that checkpoint)"
            )
        if problem:
            return ChainReport(agency_id, _label(agency_id), count, seq, problem)
        prev_hash, expected_seq, count = stored_hash, expected_seq + 1, count + 1

    label = _label(agency_id)
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
