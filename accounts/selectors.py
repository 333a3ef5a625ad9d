"""Reading people, memberships, units and invitations."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import Agency, Invitation, Membership, Unit, User, hash_token
from smc.errors import NotFound
from smc.tenancy import every_agency


def memberships_of(user: User) -> list[Membership]:
    """The person's active memberships in every agency, for sign-in and the switcher.

    Spans agencies: a person's own memberships are theirs to see wherever they are."""
    with every_agency():
        return list(
            Membership.objects.filter(user=user, is_active=True)
            .select_related("agency", "user", "unit")
            .order_by("agency__name")
        )


def membership_of_session(user: User, membership_id: int | None) -> Membership | None:
    if not membership_id:
        return None
    return next((m for m in memberships_of(user) if m.pk == membership_id), None)


def default_membership(user: User) -> Membership | None:
    memberships = memberships_of(user)
    preferred = [m for m in memberships if m.agency_id == user.last_agency_id]
    return (preferred or memberships or [None])[0]


def members(*, viewer: Membership) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(agency=viewer.agency)
        .select_related("user", "unit")
        .order_by("-is_active", "user__username")
    )


def get_membership_for(viewer: Membership, membership_id: int) -> Membership:
    membership = (
        Membership.objects.filter(agency=viewer.agency, pk=membership_id)
        .select_related("user", "unit", "agency")
        .first()
    )
    if membership is None:
        raise NotFound(_("That member does not exist."))
    return membership


def units(*, viewer: Membership) -> QuerySet[Unit]:
    return Unit.objects.filter(agency=viewer.agency).select_related("parent")


def get_unit_for(viewer: Membership, unit_id: int | str | None) -> Unit | None:
    """A unit chosen in a form; None for "no unit". Another agency's id is NotFound."""
    if unit_id in (None, ""):
        return None
    unit = None
    if str(unit_id).isdigit():
        unit = Unit.objects.filter(agency=viewer.agency, pk=int(unit_id)).first()
    if unit is None:
        raise NotFound(_("That unit does not exist."))
    return unit


def invitations(*, viewer: Membership) -> QuerySet[Invitation]:
    return Invitation.objects.filter(agency=viewer.agency).select_related(
        "unit", "invited_by__user"
    )


def get_invitation_for(viewer: Membership, invitation_id: int) -> Invitation:
    invitation = Invitation.objects.filter(agency=viewer.agency, pk=invitation_id).first()
    if invitation is None:
        raise NotFound(_("That invitation does not exist."))
    return invitation


def invitation_by_token(token: str) -> Invitation:
    """The invitee has no membership yet: the secret link is their only key, so the
    lookup spans agencies, by the token's hash."""
    with every_agency():
        invitation = (
            Invitation.objects.filter(token_hash=hash_token(token)).select_related("agency").first()
        )
    if invitation is None:
        raise NotFound(_("This invitation link is not valid. Check that you copied all of it."))
    return invitation


def agency_by_id(agency_id: int) -> Agency:
    """Inside a task's agency scope: its agency (the tenant row itself, not agency data)."""
    return Agency.objects.get(pk=agency_id)
