"""The auditor's view of the record (R3): search, one entry, and the chain's health."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from accounts.models import Role
from accounts.permissions import role_required
from audit import selectors
from audit.actions import Action
from audit.forms import EventSearchForm
from audit.services import chained_bytes, record_event, verify_chain

readers = role_required(Role.AUDITOR, Role.ADMINISTRATOR)


@login_required
@readers
def event_list(request):
    form = EventSearchForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    found = selectors.events(agency_id=request.agency.pk, filters=filters)
    page = Paginator(found, 50).get_page(request.GET.get("page"))
    record_event(
        actor=request.membership,
        action=Action.LOG_VIEWED,
        details={k: str(v) for k, v in filters.items() if v},
    )
    return render(request, "audit/event_list.html", {"form": form, "page": page})


@login_required
@readers
def event_detail(request, event_id):
    event = selectors.get_event_for(agency_id=request.agency.pk, event_id=event_id)
    before, after = selectors.neighbours(event)
    record_event(
        actor=request.membership,
        action=Action.EVENT_VIEWED,
        details={"seq": event.seq, "hash": event.hash},
    )
    fields = {f.name: getattr(event, f.name) for f in event._meta.fields}
    return render(
        request,
        "audit/event_detail.html",
        {
            "event": event,
            "before": before,
            "after": after,
            "canonical": chained_bytes(fields).decode(),
        },
    )


@login_required
@readers
def chain_status(request):
    report = verify_chain(request.agency.pk)
    record_event(
        actor=request.membership,
        action=Action.CHAIN_VERIFIED if report.ok else Action.CHAIN_BROKEN,
        reason=report.describe(),
    )
    return render(request, "audit/chain_status.html", {"report": report})
