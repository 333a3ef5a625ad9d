"""Records requests: an auditor opens one (requester, dates, scope); the package that
answers it is built from audit.requests.records_request_records."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import record_keeping, role_required
from audit import requests as records_requests
from audit import selectors
from audit.exports import services as exports
from audit.forms import RecordsRequestForm
from audit.retention import get_record_kind

readers = role_required(Role.AUDITOR, Role.ADMINISTRATOR)


def _form(channels, data=None):
    return RecordsRequestForm(data, kinds=records_requests.requestable_kinds(), channels=channels)


@login_required
@readers
@record_keeping
def request_list(request):
    # Read from the record once: the form's choices and the chosen channel's label.
    channels = selectors.known_channels(agency_id=request.agency.pk)
    form = _form(channels, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            made = records_requests.create_records_request(
                member=request.membership,
                requester=data["requester"],
                requester_contact=data["requester_contact"],
                received_on=data["received_on"],
                date_from=data["date_from"],
                date_to=data["date_to"],
                kinds=data["kinds"],
                channel_id=data["channel"],
                channel_label=dict(channels).get(data["channel"], ""),
                person=data["person"],
                redact_personal_data=data["redact_personal_data"],
                notes=data["notes"],
            )
        except records_requests.RecordsRequestError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Records request %s is open.") % made.reference)
            return redirect("audit:request_detail", request_id=made.pk)
    return render(
        request,
        "audit/request_list.html",
        {"form": form, "requests": selectors.records_requests(agency_id=request.agency.pk)},
        status=400 if form.errors else 200,
    )


@login_required
@readers
def request_detail(request, request_id):
    found = selectors.get_records_request_for(agency_id=request.agency.pk, request_id=request_id)
    kinds = []
    for name in found.kinds:
        try:
            kinds.append(get_record_kind(name).label)
        except records_requests.SmcError:
            kinds.append(name)  # a kind no app registers any more
    return render(
        request,
        "audit/request_detail.html",
        {
            "records_request": found,
            "kinds": kinds,
            "redactions": found.redactions.all()[:500],
            "packages": exports.exports_of(member=request.membership).filter(records_request=found)[
                :20
            ],
        },
    )


@require_POST
@login_required
@readers
@record_keeping
def request_package(request, request_id):
    """Build the package that answers the request, in the background; its page shows
    the progress bar and the download (for the auditor who asked, for a while)."""
    found = selectors.get_records_request_for(agency_id=request.agency.pk, request_id=request_id)
    try:
        export = exports.request_package(auditor=request.membership, records_request=found)
    except exports.ExportError as error:
        messages.error(request, error.message)
        return redirect("audit:request_detail", request_id=found.pk)
    messages.success(request, _("The package is being made. It will be ready here."))
    return redirect("audit:export_detail", export_id=export.pk)
