"""Records requests (R4): who asked for what, and the records that answer it.

`records_request_records(request)` is what a package builder reads: every record in the
request's scope, kind by kind, with personal data in public text replaced in the copy
(never in the original) when the request asks for it. Each redaction is stored
(`Redaction`: where, which rule, the SHA-256 of the original field) and summed up in the
chain once the records have all been read.

audit knows no detector of personal data: an app registers one
(`register_personal_data_finder`, moderation does from its engine).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.actions import Action
from audit.actors import system_actor
from audit.models import RecordsRequest, Redaction
from audit.retention import RecordKind, RequestedRecord, RequestScope, get_record_kind, record_kinds
from audit.services import record_event
from smc.errors import SmcError

# A finder returns the spans of personal data in a text: (start, end, rule) each.
PersonalDataFinder = Callable[[str], list[tuple[int, int, str]]]
_FINDERS: list[PersonalDataFinder] = []


class RecordsRequestError(SmcError):
    pass


def register_personal_data_finder(finder: PersonalDataFinder) -> None:
    if finder not in _FINDERS:
        _FINDERS.append(finder)


def requestable_kinds() -> list[RecordKind]:
    return [kind for kind in record_kinds() if kind.records is not None]


def redact(text: str) -> tuple[str, list[tuple[int, int, str]]]:
    """The text with every span a finder names replaced by `[redacted: rule]`, and the
    spans (into the original text). Overlapping spans merge."""
    spans = sorted(span for finder in _FINDERS for span in finder(text))
    merged: list[list] = []
    for start, end, rule in spans:
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end, rule])
    out, at = [], 0
    for start, end, rule in merged:
        out.append(text[at:start])
        out.append(f"[redacted: {rule}]")
        at = end
    out.append(text[at:])
    return "".join(out), [tuple(m) for m in merged]


def _next_reference(on: datetime) -> str:
    year = on.year
    count = RecordsRequest.objects.filter(reference__startswith=f"RR-{year}-").count()
    return f"RR-{year}-{count + 1:04d}"


def create_records_request(
    *,
    member,
    requester: str,
    received_on,
    date_from,
    date_to,
    kinds: list[str],
    requester_contact: str = "",
    channel_id: int | None = None,
    channel_label: str = "",
    person: str = "",
    redact_personal_data: bool = True,
    notes: str = "",
) -> RecordsRequest:
    if not requester.strip():
        raise RecordsRequestError(_("Name the requester."))
    if date_from > date_to:
        raise RecordsRequestError(_("The end date is before the start date."))
    known = {k.name for k in requestable_kinds()}
    if not kinds or set(kinds) - known:
        raise RecordsRequestError(_("Choose at least one kind of record from the list."))
    actor = member.audit_actor
    now = timezone.now()
    for _attempt in range(3):
        try:
            with transaction.atomic():
                made = RecordsRequest.objects.create(
                    agency_id=actor.agency_id,
                    agency_label=actor.agency_label,
                    reference=_next_reference(now),
                    requester=requester.strip(),
                    requester_contact=requester_contact.strip(),
                    received_on=received_on,
                    date_from=date_from,
                    date_to=date_to,
                    kinds=sorted(kinds),
                    channel_id=channel_id,
                    channel_label=channel_label,
                    person=person.strip(),
                    redact_personal_data=redact_personal_data,
                    notes=notes.strip(),
                    created_at=now,
                    created_by_id=actor.user_id,
                    created_by_label=actor.user_label,
                )
                record_event(
                    actor=member,
                    action=Action.RECORDS_REQUEST_CREATED,
                    subject=made,
                    reason=f"{made.reference} from {made.requester}",
                    details={"request": made.pk, "reference": made.reference},
                )
                return made
        except IntegrityError:
            continue  # two requests took the same reference at once: number again
    raise RecordsRequestError(_("Could not number the request; try again."))


def request_scope(request: RecordsRequest) -> RequestScope:
    zone = timezone.get_current_timezone()
    return RequestScope(
        since=datetime.combine(request.date_from, time.min, tzinfo=zone),
        until=datetime.combine(request.date_to + timedelta(days=1), time.min, tzinfo=zone),
        channel_id=request.channel_id,
        person=request.person,
    )


def _field(fields: dict, path: str):
    """The value at a dotted path ("versions.0.text"), and a setter for it."""
    *parents, last = path.split(".")
    holder = fields
    for step in parents:
        holder = holder[int(step)] if isinstance(holder, list) else holder[step]
    key = int(last) if isinstance(holder, list) else last

    def put(value):
        holder[key] = value

    return holder[key], put


def _redacted(request: RecordsRequest, record: RequestedRecord) -> list[Redaction]:
    stored = []
    now = timezone.now()
    for path in record.redactable:
        original, put = _field(record.fields, path)
        if not original:
            continue
        copy, spans = redact(original)
        if not spans:
            continue
        put(copy)
        digest = hashlib.sha256(original.encode()).hexdigest()
        for start, end, rule in spans:
            record.redactions.append(
                {"field": path, "start": start, "end": end, "rule": rule, "original_sha256": digest}
            )
            stored.append(
                Redaction(
                    agency_id=request.agency_id,
                    request=request,
                    kind=record.kind,
                    record_id=str(record.record_id),
                    field=path,
                    start=start,
                    end=end,
                    rule=rule,
                    original_sha256=digest,
                    redacted_at=now,
                )
            )
    return stored


def records_request_records(request: RecordsRequest) -> Iterator[RequestedRecord]:
    """Every record the request covers, kind by kind, redacted where it asks.

    Call it in the request's agency scope. Redactions are stored as the records are read
    (in batches; reading twice stores them once), and when every record has been read
    one event in the chain says how many records and redactions the copy holds."""
    scope = request_scope(request)
    pending: list[Redaction] = []
    counts: dict[str, int] = {}
    redacted = 0

    def flush():
        if pending:
            Redaction.objects.bulk_create(pending, ignore_conflicts=True)
            pending.clear()

    for name in request.kinds:
        kind = get_record_kind(name)
        if kind.records is None:
            continue
        for record in kind.records(scope):
            counts[name] = counts.get(name, 0) + 1
            if request.redact_personal_data and record.redactable:
                found = _redacted(request, record)
                redacted += len(found)
                pending.extend(found)
                if len(pending) >= 500:
                    flush()
            yield record
    flush()
    actor = system_actor(
        agency_id=request.agency_id, agency_label=request.agency_label, label="records request"
    )
    record_event(
        actor=actor,
        action=Action.RECORDS_REQUEST_COMPILED,
        subject=request,
        reason=f"{request.reference}: {sum(counts.values())} records, {redacted} redactions",
        details={"request": request.pk, "records": counts, "redactions": redacted},
    )
