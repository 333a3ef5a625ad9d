"""What administrators, operators and people do to accounts (A1, A2).

Each function owns its transaction and records its event inside it. Errors are
AccountsError with a message for the person.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Agency, Invitation, Membership, Role, Unit, User, hash_token
from audit.actions import Action, Outcome
from audit.actors import Actor, system_actor
from audit.services import record_event
from smc.errors import SmcError
from smc.tenancy import agency_scope


class AccountsError(SmcError):
    pass


def _agency_actor(agency: Agency, label: str) -> Actor:
    return system_actor(agency_id=agency.pk, agency_label=agency.name, label=label)


# --- Agencies (operator) ---------------------------------------------------------------------


@transaction.atomic
def create_agency(
    *, name: str, slug: str, admin_username: str, admin_email: str, time_zone: str = "UTC"
) -> tuple[Agency, Invitation, str]:
    """Operator: a new agency and an invitation for its first administrator.

    Returns the agency, the invitation and its one-time token (for the link)."""
    if Agency.objects.filter(slug=slug).exists():
        raise AccountsError(_("An agency with the short name “%s” exists already.") % slug)
    agency = Agency.objects.create(name=name, slug=slug, time_zone=time_zone)
    with agency_scope(agency):
        record_event(
            actor=_agency_actor(agency, "operator"), action=Action.AGENCY_CREATED, subject=agency
        )
        invitation, token = _create_invitation(
            agency=agency, email=admin_email, role=Role.ADMINISTRATOR, unit=None,
            invited_by=None, actor=_agency_actor(agency, "operator"),
            suggested_username=admin_username,
        )  # fmt: skip
    return agency, invitation, token


@transaction.atomic
def add_member(
    *,
    agency: Agency,
    username: str,
    password: str,
    role: str,
    email: str = "",
    full_name: str = "",
    unit: Unit | None = None,
    actor_label: str = "operator",
) -> Membership:
    """Operator and demo data: a person with a password and a membership, at once."""
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username, email=email, full_name=full_name)
        user.set_password(password)
        user.save()
    with agency_scope(agency):
        membership = Membership.objects.create(agency=agency, user=user, role=role, unit=unit)
        record_event(actor=_agency_actor(agency, actor_label), action=Action.MEMBERSHIP_CREATED,
                     subject=membership)  # fmt: skip
    return membership


@transaction.atomic
def set_mfa_policy(*, administrator: Membership, roles: list[str]) -> Agency:
    """A1: the roles that must enrol two-factor sign-in before they can do anything."""
    agency = Agency.objects.select_for_update().get(pk=administrator.agency_id)
    before = sorted(agency.mfa_required_roles)
    agency.mfa_required_roles = sorted(set(roles))
    agency.save(update_fields=["mfa_required_roles"])
    record_event(actor=administrator, action=Action.MFA_POLICY_CHANGED, subject=agency,
                 details={"before": before, "after": agency.mfa_required_roles})  # fmt: skip
    return agency


# --- Invitations ------------------------------------------------------------------------------


def invitation_url(token: str) -> str:
    return settings.SMC_BASE_URL.rstrip("/") + reverse("accounts:accept_invitation", args=[token])


def _create_invitation(
    *, agency, email, role, unit, invited_by, actor, suggested_username=""
) -> tuple[Invitation, str]:
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        agency=agency,
        email=email,
        role=role,
        unit=unit,
        invited_by=invited_by,
        token_hash=hash_token(token),
        expires_at=timezone.now() + timedelta(days=settings.SMC_INVITATION_DAYS),
    )
    record_event(actor=actor, action=Action.INVITATION_SENT, subject=invitation,
                 details={"suggested_username": suggested_username})  # fmt: skip
    url = invitation_url(token)
    transaction.on_commit(
        lambda: send_mail(
            subject=_("You are invited to %(agency)s on SMC") % {"agency": agency.name},
            message=_(
                "%(agency)s invites you to SMC as %(role)s.\n\nSet your username and password "
                "here within %(days)s days:\n%(url)s\n\nIf you did not expect this, ignore it."
            )
            % {
                "agency": agency.name,
                "role": Role(role).label,
                "days": settings.SMC_INVITATION_DAYS,
                "url": url,
            },
            from_email=None,
            recipient_list=[email],
        )
    )
    return invitation, token


@transaction.atomic
def invite_member(
    *, administrator: Membership, email: str, role: str, unit: Unit | None = None
) -> tuple[Invitation, str]:
    """A1: accounts are invite-only. The invitee gets a link and sets a password."""
    email = email.strip().lower()
    if Membership.objects.filter(agency=administrator.agency, user__email__iexact=email,
                                 is_active=True).exists():  # fmt: skip
        raise AccountsError(_("%s is already a member of this agency.") % email)
    if unit is not None and unit.agency_id != administrator.agency_id:
        raise AccountsError(_("That unit does not exist."))
    return _create_invitation(
        agency=administrator.agency, email=email, role=role, unit=unit,
        invited_by=administrator, actor=administrator,
    )  # fmt: skip


@transaction.atomic
def withdraw_invitation(*, administrator: Membership, invitation: Invitation) -> Invitation:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_open:
        raise AccountsError(_("This invitation can no longer be withdrawn."))
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    record_event(actor=administrator, action=Action.INVITATION_WITHDRAWN, subject=invitation)
    return invitation


def refuse_invitation(*, invitation: Invitation, reason: str) -> None:
    """Record a refused use of an invitation link (expired, used, withdrawn)."""
    with agency_scope(invitation.agency_id):
        record_event(actor=_agency_actor(invitation.agency, "invitee"),
                     action=Action.INVITATION_REFUSED, subject=invitation,
                     outcome=Outcome.DENIED, reason=reason)  # fmt: skip


def invitation_problem(invitation: Invitation) -> str | None:
    if invitation.accepted_at:
        return _("This invitation has been used already. Sign in with your username instead.")
    if invitation.revoked_at:
        return _("This invitation was withdrawn. Ask your administrator for a new one.")
    if invitation.expires_at <= timezone.now():
        return _("This invitation has expired. Ask your administrator for a new one.")
    return None


def accept_invitation(
    *,
    invitation: Invitation,
    user: User | None,
    username: str = "",
    password: str = "",
    full_name: str = "",
) -> Membership:
    """A1: the invitee joins: a new login (username + password), or, when already signed
    in, their existing login gains a membership in this agency."""
    with agency_scope(invitation.agency_id):
        try:
            with transaction.atomic():
                return _accept(invitation=invitation, user=user, username=username,
                               password=password, full_name=full_name)  # fmt: skip
        except AccountsError as error:
            if error.code == "refused":
                refuse_invitation(invitation=invitation, reason=error.message)
            raise


def _accept(*, invitation, user, username, password, full_name) -> Membership:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    problem = invitation_problem(invitation)
    if problem:
        raise AccountsError(problem, code="refused")
    if user is None:
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise AccountsError(_("That username is taken. Choose another."), code="username")
        user = User(username=username, email=invitation.email, full_name=full_name)
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise AccountsError(" ".join(error.messages), code="password") from error
        user.set_password(password)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            raise AccountsError(_("That username is taken. Choose another."),
                                code="username") from None  # fmt: skip
    membership = Membership.objects.filter(agency=invitation.agency, user=user).first()
    if membership and membership.is_active:
        raise AccountsError(_("You are already a member of this agency."), code="member")
    if membership:
        membership.role, membership.unit, membership.is_active = (
            invitation.role,
            invitation.unit,
            True,
        )
        membership.removed_at = None
        membership.save(update_fields=["role", "unit", "is_active", "removed_at"])
    else:
        membership = Membership.objects.create(
            agency=invitation.agency, user=user, role=invitation.role, unit=invitation.unit
        )
    invitation.accepted_at, invitation.accepted_by = timezone.now(), user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    record_event(actor=membership, action=Action.INVITATION_ACCEPTED, subject=invitation)
    return membership


# --- Members and units (administrator) -------------------------------------------------------


def _lock_membership(membership: Membership) -> Membership:
    return (
        Membership.objects.select_for_update()
        .select_related("user", "agency")
        .get(pk=membership.pk)
    )


def _other_active_administrators(membership: Membership) -> bool:
    return (
        Membership.objects.filter(agency=membership.agency, role=Role.ADMINISTRATOR, is_active=True)
        .exclude(pk=membership.pk)
        .exists()
    )


@transaction.atomic
def change_role(*, administrator: Membership, membership: Membership, role: str) -> Membership:
    """A2: give a member another role. The agency always keeps an administrator."""
    membership = _lock_membership(membership)
    if role not in Role.values:
        raise AccountsError(_("Choose one of the roles offered."))
    if membership.role == role:
        return membership
    if membership.role == Role.ADMINISTRATOR and not _other_active_administrators(membership):
        raise AccountsError(
            _("%s is the agency’s only administrator. Make someone else administrator first.")
            % membership.user
        )
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    record_event(actor=administrator, action=Action.ROLE_CHANGED, subject=membership,
                 details={"before": before, "after": role})  # fmt: skip
    return membership


@transaction.atomic
def change_unit(*, administrator: Membership, membership: Membership, unit: Unit | None):
    membership = _lock_membership(membership)
    if unit is not None and unit.agency_id != administrator.agency_id:
        raise AccountsError(_("That unit does not exist."))
    before = membership.unit.name if membership.unit_id else None
    membership.unit = unit
    membership.save(update_fields=["unit"])
    record_event(actor=administrator, action=Action.UNIT_CHANGED, subject=membership,
                 details={"before": before, "after": unit.name if unit else None})  # fmt: skip
    return membership


@transaction.atomic
def remove_membership(*, administrator: Membership, membership: Membership) -> Membership:
    """A2: a member leaves the agency. Their open sessions in it end at their next
    request (accounts.middleware); the person and their record stay."""
    membership = _lock_membership(membership)
    if not membership.is_active:
        raise AccountsError(_("%s is not a member any more.") % membership.user)
    if membership.pk == administrator.pk:
        raise AccountsError(_("You cannot remove yourself. Ask another administrator."))
    if membership.role == Role.ADMINISTRATOR and not _other_active_administrators(membership):
        raise AccountsError(_("The agency’s only administrator cannot be removed."))
    membership.is_active, membership.removed_at = False, timezone.now()
    membership.save(update_fields=["is_active", "removed_at"])
    record_event(actor=administrator, action=Action.MEMBERSHIP_REMOVED, subject=membership)
    return membership


@transaction.atomic
def create_unit(*, administrator: Membership, name: str, parent: Unit | None = None) -> Unit:
    name = name.strip()
    if not name:
        raise AccountsError(_("Give the unit a name."))
    if Unit.objects.filter(agency=administrator.agency, name__iexact=name).exists():
        raise AccountsError(_("A unit called “%s” exists already.") % name)
    if parent is not None and parent.agency_id != administrator.agency_id:
        raise AccountsError(_("That unit does not exist."))
    unit = Unit.objects.create(agency=administrator.agency, name=name, parent=parent)
    record_event(actor=administrator, action=Action.UNIT_CREATED, subject=unit)
    return unit


# --- Sessions and agency switching -----------------------------------------------------------


def switch_agency(*, user: User, to: Membership, from_membership: Membership | None) -> Membership:
    """A2: a person in several agencies works in one at a time, chosen explicitly."""
    if to.user_id != user.pk or not to.is_active:
        raise AccountsError(_("You are not a member of that agency."))
    with agency_scope(to.agency_id), transaction.atomic():
        User.objects.filter(pk=user.pk).update(last_agency_id=to.agency_id)
        record_event(
            actor=to,
            action=Action.AGENCY_SWITCHED,
            subject=to.agency,
            details={"from": from_membership.agency.name if from_membership else None},
        )
    return to
