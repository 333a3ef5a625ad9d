"""The auditor's view of the record (R3, R4): search, one entry, one post or comment,
the chain's health, and exports. Every read is itself recorded, once per page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.permissions import record_keeping, role_required
from audit import selectors
from audit.actions import Action, Outcome
from audit.exports import services as exports
from audit.forms import EventSearchForm
from audit.models import Export
from audit.services import CHAINED_FIELDS, chain_head_of, chained_bytes, record_event, verify_chain
from audit.sources import get_source
from smc.errors import NotFound

readers = role_required(Role.AUDITOR, Role.ADMINISTRATOR)
PAGE_SIZE = 50
SOURCE_HITS = 20


def _before(request) -> int | None:
    value = request.GET.get("before", "")
    return int(value) if value.isdigit() else None


@login_required
@readers
def event_list(request):
    form = EventSearchForm(request.GET)
    entries, hits, older = [], [], None
    before = _before(request)
    if form.is_valid():
        wanted = form.event_filters()
        if wanted is not None:
            found = selectors.events(agency_id=request.agency.pk, **wanted).defer("search")
            if before:
                found = found.filter(seq__lt=before)
            # One row past the page says whether there is an older page, without counting
            # a million rows.
            entries = list(found[: PAGE_SIZE + 1])
            if len(entries) > PAGE_SIZE:
                entries = entries[:PAGE_SIZE]
                older = entries[-1].seq
        if not before:
            terms = form.terms()
            hits = [
                (source, source.search(request.agency.pk, terms, SOURCE_HITS))
                for source in form.wanted_sources()
            ]
    typed = {k: v for k, v in request.GET.items() if k != "before" and v}
    record_event(
        actor=request.membership,
        action=Action.LOG_VIEWED,
        details={**typed, **({"before": before} if before else {})},
        outcome=Outcome.SUCCESS if form.is_valid() else Outcome.FAILURE,
    )
    return render(
        request,
        "audit/event_list.html",
        {
            "form": form,
            "entries": entries,
            "hits": hits,
            "older": older,
            "typed": typed,
            "formats": Export.Format.choices,
        },
    )


@login_required
@readers
def event_detail(request, event_id):
    event = selectors.get_event_for(agency_id=request.agency.pk, event_id=event_id)
    before, after = selectors.neighbours(event)
    head = chain_head_of(request.agency.pk)
    record_event(
        actor=request.membership,
        action=Action.EVENT_VIEWED,
        details={"seq": event.seq, "hash": event.hash},
    )
    fields = {name: getattr(event, name) for name in CHAINED_FIELDS}
    return render(
        request,
        "audit/event_detail.html",
        {
            "event": event,
            "before": before,
            "after": after,
            "head": head,
            "canonical": chained_bytes(fields).decode(),
        },
    )


@login_required
@readers
def record_detail(request, source, record_id):
    """A post or comment found by the search: every version, its hashes, and the chain
    entries about it."""
    found = get_source(source)
    if found is None:
        raise NotFound(_("That record does not exist."))
    record = found.get(request.agency.pk, record_id)
    about = selectors.events_about(
        agency_id=request.agency.pk, object_type=record.object_type, object_id=record.object_id
    ).defer("search")
    record_event(
        actor=request.membership,
        action=Action.RECORD_VIEWED,
        details={"source": source, "record": record_id},
    )
    return render(
        request,
        "audit/record_detail.html",
        {"source": found, "record": record, "about": about[:200]},
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


# --- Exports (R4) ------------------------------------------------------------------------------


@login_required
@readers
@record_keeping
def export_list(request):
    """GET: my exports. POST: export what my search shows.

    Asking is a POST, not a GET: it starts work and must carry the CSRF token, so no
    other site can start exports in an auditor's name. Auditors may send it because it
    is record keeping (accounts.permissions.record_keeping): it changes no record and no
    agency work, and the export is itself recorded."""
    if request.method == "POST":
        filters = {
            k.removeprefix("f_"): v for k, v in request.POST.items() if k.startswith("f_") and v
        }
        try:
            export = exports.request_export(
                auditor=request.membership, filters=filters, format=request.POST.get("format", "")
            )
        except exports.ExportError as error:
            messages.error(request, error.message)
            return redirect(reverse("audit:event_list") + _query_string(filters))
        messages.success(request, _("Your export is being made. It will be ready here."))
        return redirect("audit:export_detail", export_id=export.pk)
    mine = exports.exports_of(member=request.membership)[:50]
    return render(request, "audit/export_list.html", {"exports": mine})


def _query_string(filters: dict) -> str:
    from urllib.parse import urlencode

    return "?" + urlencode(filters) if filters else ""


@login_required
@readers
def export_detail(request, export_id):
    export = exports.get_export_for(member=request.membership, export_id=export_id)
    context = {"export": export, "written": exports.written_so_far(export)}
    if request.htmx:
        return render(request, "audit/_export_progress.html", context)
    return render(request, "audit/export_detail.html", context)


@login_required
@readers
def export_download(request, export_id):
    export = exports.get_export_for(member=request.membership, export_id=export_id)
    try:
        path = exports.download(member=request.membership, export=export)
    except exports.ExportError as error:
        messages.error(request, error.message)
        return redirect("audit:export_detail", export_id=export.pk)
    try:
        stream = open(path, "rb")  # noqa: SIM115 - FileResponse closes it
    except FileNotFoundError as missing:
        raise Http404 from missing
    return FileResponse(stream, as_attachment=True, filename=export.file_name)
