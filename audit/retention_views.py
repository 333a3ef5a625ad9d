"""Retention periods and legal holds (R5).

Administrators set retention periods. Auditors and administrators place and release
legal holds: a hold only stops a purge and never changes a record, so it is record
keeping (accounts.permissions.record_keeping), and each one is recorded with its reason.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import record_keeping, role_required
from audit import retention, selectors
from audit.forms import LegalHoldForm, ReleaseHoldForm, RetentionForm

readers = role_required(Role.AUDITOR, Role.ADMINISTRATOR)
administrators = role_required(Role.ADMINISTRATOR)


@login_required
@readers
def retention_rules(request):
    return render(
        request,
        "audit/retention.html",
        {
            "table": retention.retention_table(),
            "can_change": request.membership.role == Role.ADMINISTRATOR,
        },
    )


@require_POST
@login_required
@administrators
def set_retention(request):
    form = RetentionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the period as a whole number of days, at least 1."))
        return redirect("audit:retention")
    try:
        retention.set_retention(
            administrator=request.membership,
            kind_name=form.cleaned_data["kind"],
            days=form.cleaned_data["days"],
        )
    except retention.RetentionError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The retention period is changed."))
    return redirect("audit:retention")


def _hold_form(channels, data=None):
    return LegalHoldForm(data, kinds=retention.record_kinds(), channels=channels)


@login_required
@readers
@record_keeping
def hold_list(request):
    # Read from the record once: the form's choices and the chosen channel's label.
    channels = selectors.known_channels(agency_id=request.agency.pk)
    form = _hold_form(channels, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            hold = retention.place_hold(
                member=request.membership,
                reason=data["reason"],
                kind=data["kind"],
                record_id=data["record_id"],
                channel_id=data["channel"],
                channel_label=dict(channels).get(data["channel"], ""),
                person=data["person"],
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
            )
        except retention.RetentionError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Legal hold #%d is in force.") % hold.pk)
            return redirect("audit:hold_list")
    holds = selectors.holds(agency_id=request.agency.pk)
    return render(
        request,
        "audit/holds.html",
        {"form": form, "holds": holds, "release_form": ReleaseHoldForm()},
        status=400 if form.errors else 200,
    )


@require_POST
@login_required
@readers
@record_keeping
def release_hold(request, hold_id):
    hold = selectors.get_hold_for(agency_id=request.agency.pk, hold_id=hold_id)
    form = ReleaseHoldForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the hold is released."))
        return redirect("audit:hold_list")
    try:
        retention.release_hold(
            member=request.membership, hold=hold, reason=form.cleaned_data["reason"]
        )
    except retention.RetentionError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Legal hold #%d is released.") % hold.pk)
    return redirect("audit:hold_list")
