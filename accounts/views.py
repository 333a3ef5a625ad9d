"""Members, invitations, units, the MFA policy and the agency switcher."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import selectors, services
from accounts.forms import (
    AcceptInvitationForm,
    EscalationForm,
    InvitationForm,
    MfaPolicyForm,
    RoleForm,
    SwitchAgencyForm,
    TrainingForm,
    UnitChoiceForm,
    UnitForm,
)
from accounts.models import Role
from accounts.permissions import role_required, self_service
from accounts.selectors import get_unit_for
from accounts.sessions import MEMBERSHIP_KEY
from smc.errors import NotFound

administrator_only = role_required(Role.ADMINISTRATOR)


@require_POST
@login_required
@self_service
def switch_agency(request):
    form = SwitchAgencyForm(request.POST)
    target = None
    if form.is_valid():
        target = next(
            (m for m in request.memberships if m.pk == form.cleaned_data["membership"]), None
        )
    if target is None:
        raise NotFound(_("You are not a member of that agency."))
    services.switch_agency(user=request.user, to=target, from_membership=request.membership)
    request.session[MEMBERSHIP_KEY] = target.pk
    messages.success(request, _("You are now working in %s.") % target.agency.name)
    return redirect("home")


@login_required
@administrator_only
def member_list(request):
    return render(
        request,
        "accounts/member_list.html",
        {"members": selectors.members(viewer=request.membership)},
    )


@login_required
@administrator_only
def member_detail(request, membership_id):
    member = selectors.get_membership_for(request.membership, membership_id)
    units = selectors.units(viewer=request.membership)
    return render(
        request,
        "accounts/member_detail.html",
        {
            "member": member,
            "role_form": RoleForm(initial={"role": member.role}),
            "unit_form": UnitChoiceForm(units=units, initial={"unit": member.unit_id or ""}),
            **_authority_of(member),
        },
    )


def _member_action(request, membership_id, act, success):
    member = selectors.get_membership_for(request.membership, membership_id)
    try:
        act(member)
    except services.AccountsError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success % {"person": member.user})
    return redirect("accounts:member_detail", membership_id=member.pk)


@require_POST
@login_required
@administrator_only
def change_role(request, membership_id):
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the roles offered."))
        return redirect("accounts:member_detail", membership_id=membership_id)
    return _member_action(
        request,
        membership_id,
        lambda m: services.change_role(
            administrator=request.membership, membership=m, role=form.cleaned_data["role"]
        ),
        _("%(person)s’s role is changed."),
    )


@require_POST
@login_required
@administrator_only
def change_unit(request, membership_id):
    # A unit id that is not one of this agency's (forged, or garbage) is NotFound.
    unit = get_unit_for(request.membership, request.POST.get("unit", ""))
    return _member_action(
        request,
        membership_id,
        lambda m: services.change_unit(administrator=request.membership, membership=m, unit=unit),
        _("%(person)s’s unit is changed."),
    )


@require_POST
@login_required
@administrator_only
def remove_member(request, membership_id):
    return _member_action(
        request,
        membership_id,
        lambda m: services.remove_membership(administrator=request.membership, membership=m),
        _("%(person)s is no longer a member. Their open sessions have ended."),
    )


@login_required
@administrator_only
def invitation_list(request):
    units = selectors.units(viewer=request.membership)
    form = InvitationForm(request.POST or None, units=units)
    if request.method == "POST" and form.is_valid():
        try:
            unit = get_unit_for(request.membership, form.cleaned_data["unit"])
            services.invite_member(
                administrator=request.membership,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                unit=unit,
            )
        except services.AccountsError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("Invitation sent to %s. The link works for a limited time.")
                % form.cleaned_data["email"],
            )
            return redirect("accounts:invitation_list")
    return render(
        request,
        "accounts/invitation_list.html",
        {"form": form, "invitations": selectors.invitations(viewer=request.membership)},
    )


@require_POST
@login_required
@administrator_only
def withdraw_invitation(request, invitation_id):
    invitation = selectors.get_invitation_for(request.membership, invitation_id)
    try:
        services.withdraw_invitation(administrator=request.membership, invitation=invitation)
    except services.AccountsError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The invitation to %s is withdrawn.") % invitation.email)
    return redirect("accounts:invitation_list")


@self_service
def accept_invitation(request, token):
    """A1: the invitee sets a username and password (or, signed in, joins with theirs)."""
    invitation = selectors.invitation_by_token(token)
    problem = services.invitation_problem(invitation)
    if problem:
        if request.method == "POST":
            services.refuse_invitation(invitation=invitation, reason=problem)
        return render(request, "accounts/invitation_refused.html", {"problem": problem}, status=410)
    signed_in = request.user.is_authenticated
    form = AcceptInvitationForm(request.POST or None) if not signed_in else None
    if request.method == "POST" and (signed_in or form.is_valid()):
        try:
            fields = form.cleaned_data if form else {}
            membership = services.accept_invitation(
                invitation=invitation,
                user=request.user if signed_in else None,
                username=fields.get("username", ""),
                password=fields.get("password1", ""),
                full_name=fields.get("full_name", ""),
            )
        except services.AccountsError as error:
            if form is not None and error.code in ("username", "password"):
                form.add_error("username" if error.code == "username" else "password1",
                               error.message)  # fmt: skip
            else:
                messages.error(request, error.message)
                if error.code == "refused":
                    return render(request, "accounts/invitation_refused.html",
                                  {"problem": error.message}, status=410)  # fmt: skip
        else:
            if signed_in:
                request.session[MEMBERSHIP_KEY] = membership.pk
                messages.success(request, _("You have joined %s.") % invitation.agency.name)
                return redirect("home")
            messages.success(
                request,
                _("Welcome to %s. Sign in with your new username and password.")
                % invitation.agency.name,
            )
            return redirect("account_login")
    return render(
        request,
        "accounts/accept_invitation.html",
        {"invitation": invitation, "form": form, "signed_in": signed_in},
    )


@login_required
@administrator_only
def unit_list(request):
    units = selectors.units(viewer=request.membership)
    form = UnitForm(request.POST or None, units=units)
    if request.method == "POST" and form.is_valid():
        try:
            parent = get_unit_for(request.membership, form.cleaned_data["parent"])
            services.create_unit(
                administrator=request.membership, name=form.cleaned_data["name"], parent=parent
            )
        except services.AccountsError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Unit “%s” created.") % form.cleaned_data["name"])
            return redirect("accounts:unit_list")
    return render(request, "accounts/unit_list.html", {
        "units": units, "form": form,
        "escalation_form": EscalationForm(
            initial={"minutes": request.agency.approval_escalation_minutes}),
    })  # fmt: skip


@login_required
@administrator_only
def security_settings(request):
    agency = request.agency
    form = MfaPolicyForm(request.POST or None, initial={"roles": agency.mfa_required_roles})
    if request.method == "POST" and form.is_valid():
        services.set_mfa_policy(administrator=request.membership, roles=form.cleaned_data["roles"])
        messages.success(request, _("Two-factor sign-in policy saved."))
        return redirect("accounts:security_settings")
    return render(request, "accounts/security_settings.html", {"form": form})


@login_required
def my_account(request):
    from allauth.mfa.utils import is_mfa_enabled

    return render(
        request, "accounts/my_account.html", {"mfa_enabled": is_mfa_enabled(request.user)}
    )


# --- Authority (A3–A5): supervisors, approval, training, escalation time -------------------


def _authority_of(member):
    from accounts.authority import current_training, trainings_of, units_supervised_by

    return {
        "trainings": trainings_of(member),
        "current_training": current_training(member),
        "training_form": TrainingForm(),
        "supervises": units_supervised_by(member),
    }


@login_required
@administrator_only
def unit_detail(request, unit_id):
    from accounts.authority import SUPERVISING_ROLES, supervisors_of

    unit = get_unit_for(request.membership, unit_id)
    candidates = selectors.members(viewer=request.membership).filter(
        is_active=True, role__in=SUPERVISING_ROLES
    )
    chosen = {m.pk for m in supervisors_of(unit)}
    return render(request, "accounts/unit_detail.html",
                  {"unit": unit, "candidates": candidates, "chosen": chosen,
                   "members": selectors.members(viewer=request.membership).filter(
                       unit=unit, is_active=True)})  # fmt: skip


@require_POST
@login_required
@administrator_only
def set_supervisors(request, unit_id):
    from accounts import authority

    unit = get_unit_for(request.membership, unit_id)
    people = [selectors.get_membership_for(request.membership, int(pk))
              for pk in request.POST.getlist("supervisors") if pk.isdigit()]  # fmt: skip
    try:
        authority.set_unit_supervisors(administrator=request.membership, unit=unit,
                                       memberships=people)  # fmt: skip
    except services.AccountsError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Supervisors of %s are saved.") % unit.name)
    return redirect("accounts:unit_detail", unit_id=unit.pk)


@require_POST
@login_required
@administrator_only
def set_member_approval(request, membership_id):
    from accounts import authority

    wanted = request.POST.get("needs_approval") == "on"
    return _member_action(
        request, membership_id,
        lambda m: authority.set_member_needs_approval(
            administrator=request.membership, membership=m, needs_approval=wanted),
        _("Every post by %(person)s now needs approval.") if wanted
        else _("%(person)s’s posts follow their channel rights again."),
    )  # fmt: skip


@require_POST
@login_required
@administrator_only
def record_training(request, membership_id):
    from accounts import authority

    form = TrainingForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the course, the day it was completed and its expiry."))
        return redirect("accounts:member_detail", membership_id=membership_id)
    return _member_action(
        request, membership_id,
        lambda m: authority.record_training(administrator=request.membership, membership=m,
                                            **form.cleaned_data),
        _("Training recorded for %(person)s."),
    )  # fmt: skip


@require_POST
@login_required
@administrator_only
def set_escalation(request):
    from accounts import authority

    form = EscalationForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose between 1 minute and 7 days (10080 minutes)."))
    else:
        try:
            authority.set_escalation_time(administrator=request.membership,
                                          minutes=form.cleaned_data["minutes"])  # fmt: skip
        except services.AccountsError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Approval escalation time saved."))
    return redirect("accounts:unit_list")


# --- Notifications ---------------------------------------------------------------------------


@login_required
def notification_list(request):
    from django.core.paginator import Paginator

    from accounts.notifications import notifications_of

    page = Paginator(notifications_of(request.membership), 30).get_page(request.GET.get("page"))
    return render(request, "accounts/notification_list.html", {"page": page})


@require_POST
@login_required
@self_service
def open_notification(request, notification_id):
    """Marks the notice read and goes where it points (always a path inside SMC)."""
    from accounts.notifications import get_notification_for, mark_read

    notice = get_notification_for(request.membership, notification_id)
    mark_read(member=request.membership, notification=notice)
    return redirect(notice.url or "accounts:notification_list")


@require_POST
@login_required
@self_service
def read_all_notifications(request):
    from accounts.notifications import mark_read

    mark_read(member=request.membership)
    messages.success(request, _("All notifications are marked read."))
    return redirect("accounts:notification_list")
