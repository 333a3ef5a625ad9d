"""Reading the record (R3). Every read of the log is itself recorded by the view."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import F, QuerySet, TextField, Value
from django.db.models.functions import Concat, Replace
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.actions import Action
from audit.models import AuditEvent, LegalHold, RecordsRequest
from audit.search import ParsedQuery, text_condition
from smc.errors import NotFound

# The text behind AuditEvent.search, in the same order, for exact phrases.
_DOCUMENT = Concat(
    "actor_label", Value(" "), "on_behalf_of_label", Value(" "), "object_label", Value(" "),
    "reason", Value(" "), "content", Value(" "), Replace(F("action"), Value("."), Value(" ")),
    output_field=TextField(),
)  # fmt: skip


def start_of(day: date) -> datetime:
    """Midnight at the start of `day` in the installation's time zone: a date filter
    compares moments, so the (agency, time) index answers it."""
    return timezone.make_aware(datetime.combine(day, time.min))


def events(
    *,
    agency_id: int,
    query: ParsedQuery | None = None,
    action: str = "",
    outcome: str = "",
    person: str = "",
    channel: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEvent]:
    """The agency's entries matching every filter given, newest first."""
    found = AuditEvent.objects.filter(agency_id=agency_id)
    if action:
        found = found.filter(action=action)
    if outcome:
        found = found.filter(outcome=outcome)
    if person:
        found = found.filter(actor_label__iexact=person.strip())
    if channel:
        found = found.filter(on_behalf_of_label__iexact=channel.strip())
    if since:
        found = found.filter(occurred_at__gte=start_of(since))
    if until:
        found = found.filter(occurred_at__lt=start_of(until + timedelta(days=1)))
    if query:
        found = found.alias(document=_DOCUMENT).filter(
            text_condition(query, vector="search", document="document")
        )
    # Newest first by time, which the (agency, time) index serves for date ranges too; the
    # chain appends in time order, so this is the chain order (seq breaks ties).
    return found.order_by("-occurred_at", "-seq")


def get_event_for(*, agency_id: int, event_id: int) -> AuditEvent:
    event = AuditEvent.objects.filter(agency_id=agency_id, pk=event_id).first()
    if event is None:
        raise NotFound(_("That record entry does not exist."))
    return event


def neighbours(event: AuditEvent) -> tuple[AuditEvent | None, AuditEvent | None]:
    """The events before and after it in its chain."""
    chain = AuditEvent.objects.filter(agency_id=event.agency_id)
    return (
        chain.filter(seq=event.seq - 1).first(),
        chain.filter(seq=event.seq + 1).first(),
    )


def known_channels(*, agency_id: int) -> list[tuple[int, str]]:
    """The channels the record knows (connected at some time), newest name of each.
    Read from the record so that audit needs no other app."""
    names: dict[int, str] = {}
    rows = (
        AuditEvent.objects.filter(
            agency_id=agency_id,
            action__in=(Action.CHANNEL_CONNECTED, Action.CHANNEL_DISCONNECTED),
            object_type="platforms.channel",
        )
        .order_by("seq")
        .values_list("object_id", "object_label")
    )
    for object_id, label in rows:
        if object_id.isdigit():
            names[int(object_id)] = label
    return sorted(names.items(), key=lambda item: item[1].casefold())


def holds(*, agency_id: int) -> QuerySet[LegalHold]:
    return LegalHold.objects.filter(agency_id=agency_id)


def get_hold_for(*, agency_id: int, hold_id) -> LegalHold:
    hold = LegalHold.objects.filter(agency_id=agency_id, pk=hold_id).first()
    if hold is None:
        raise NotFound(_("That legal hold does not exist."))
    return hold


def records_requests(*, agency_id: int) -> QuerySet[RecordsRequest]:
    return RecordsRequest.objects.filter(agency_id=agency_id)


def get_records_request_for(*, agency_id: int, request_id) -> RecordsRequest:
    found = RecordsRequest.objects.filter(agency_id=agency_id, pk=request_id).first()
    if found is None:
        raise NotFound(_("That records request does not exist."))
    return found


def events_about(*, agency_id: int, object_type: str, object_id: str) -> QuerySet[AuditEvent]:
    """The chain entries naming one object (a comment, a post), oldest first."""
    return AuditEvent.objects.filter(
        agency_id=agency_id, object_type=object_type, object_id=object_id
    ).order_by("seq")
