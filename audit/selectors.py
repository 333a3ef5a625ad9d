"""Reading the record (R3). Every read of the log is itself recorded by the view."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from audit.actions import Action
from audit.models import AuditEvent, LegalHold, RecordsRequest
from smc.errors import NotFound


def events(*, agency_id: int, filters: dict | None = None) -> QuerySet[AuditEvent]:
    filters = filters or {}
    found = AuditEvent.objects.filter(agency_id=agency_id)
    if filters.get("action"):
        found = found.filter(action=filters["action"])
    if filters.get("outcome"):
        found = found.filter(outcome=filters["outcome"])
    if filters.get("person"):
        found = found.filter(actor_label__iexact=filters["person"])
    if filters.get("since"):
        found = found.filter(occurred_at__date__gte=filters["since"])
    if filters.get("until"):
        found = found.filter(occurred_at__date__lte=filters["until"])
    if filters.get("text"):
        text = filters["text"]
        found = found.filter(
            Q(object_label__icontains=text) | Q(reason__icontains=text) | Q(content__icontains=text)
        )
    return found.order_by("-seq")


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
