"""Who answers for whom (A3, A5): unit supervisors and the supervision chain, the
"needs approval" flag on a member, training records and the escalation time.

Per-channel rights (A4) are django-guardian permissions, managed in platforms.services.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Agency, Membership, Role, Supervision, TrainingRecord, Unit
from accounts.services import AccountsError
from audit.actions import Action
from audit.services import record_event

# Roles that may be named a unit's supervisor: people who may approve posts.
SUPERVISING_ROLES = (Role.SUPERVISOR, Role.ADMINISTRATOR)
MAX_ESCALATION_MINUTES = 7 * 24 * 60


# --- Reading ---------------------------------------------------------------------------------


def unit_chain(unit: Unit | None) -> list[Unit]:
    """The unit, its parent, and so on to the top."""
    chain: list[Unit] = []
    seen: set[int] = set()
    while unit is not None and unit.pk not in seen:
        chain.append(unit)
        seen.add(unit.pk)
        unit = unit.parent
    return chain


def supervisors_of(unit: Unit) -> list[Membership]:
    return list(
        Membership.objects.filter(
            agency_id=unit.agency_id, is_active=True, role__in=SUPERVISING_ROLES,
            pk__in=Supervision.objects.filter(unit=unit).values("membership_id"),
        ).select_related("user", "agency")
    )  # fmt: skip


def supervised_unit_ids(membership: Membership) -> set[int]:
    """The units this member supervises, and every unit beneath them."""
    if not membership.is_active or membership.role not in SUPERVISING_ROLES:
        return set()
    direct = set(
        Supervision.objects.filter(agency_id=membership.agency_id, membership=membership)
        .values_list("unit_id", flat=True)
    )  # fmt: skip
    if not direct:
        return set()
    children: dict[int | None, list[int]] = {}
    for pk, parent_id in Unit.objects.filter(agency_id=membership.agency_id).values_list(
        "pk", "parent_id"
    ):
        children.setdefault(parent_id, []).append(pk)
    found, todo = set(), list(direct)
    while todo:
        pk = todo.pop()
        if pk not in found:
            found.add(pk)
            todo.extend(children.get(pk, []))
    return found


def units_supervised_by(membership: Membership) -> list[Unit]:
    return [
        s.unit for s in Supervision.objects.filter(membership=membership).select_related("unit")
    ]


def trainings_of(membership: Membership) -> list[TrainingRecord]:
    return list(
        TrainingRecord.objects.filter(agency_id=membership.agency_id, membership=membership)
        .select_related("recorded_by__user")
    )  # fmt: skip


def agency_today(agency: Agency) -> date:
    try:
        zone = ZoneInfo(agency.time_zone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return timezone.localdate(timezone=zone)


def current_training(membership: Membership) -> TrainingRecord | None:
    """The member's training record in date today (the one lasting longest), if any."""
    return (
        TrainingRecord.objects.filter(
            agency_id=membership.agency_id, membership=membership,
            expires_on__gte=agency_today(membership.agency),
        ).order_by("-expires_on").first()
    )  # fmt: skip


def trained_member_ids(agency: Agency) -> set[int]:
    return set(
        TrainingRecord.objects.filter(agency=agency, expires_on__gte=agency_today(agency))
        .values_list("membership_id", flat=True)
    )  # fmt: skip


# --- Writing (administrators) ---------------------------------------------------------------


@transaction.atomic
def set_unit_supervisors(*, administrator: Membership, unit: Unit, memberships) -> list:
    """A3: who supervises a unit (and so approves its members' posts)."""
    wanted = {m.pk: m for m in memberships}
    for m in wanted.values():
        if m.agency_id != unit.agency_id or not m.is_active:
            raise AccountsError(_("Only active members of this agency can supervise its units."))
        if m.role not in SUPERVISING_ROLES:
            raise AccountsError(
                _("%s cannot supervise: only supervisors and administrators approve posts.")
                % m.user
            )
    current = {s.membership_id: s for s in Supervision.objects.filter(unit=unit)}
    for pk, membership in wanted.items():
        if pk not in current:
            Supervision.objects.create(agency_id=unit.agency_id, unit=unit, membership=membership)
    Supervision.objects.filter(unit=unit).exclude(membership_id__in=list(wanted)).delete()
    before = sorted(
        Membership.objects.filter(pk__in=list(current)).values_list("user__username", flat=True)
    )
    after = sorted(m.user.username for m in wanted.values())
    if before != after:
        record_event(actor=administrator, action=Action.SUPERVISORS_CHANGED, subject=unit,
                     details={"before": before, "after": after})  # fmt: skip
    return list(wanted.values())


@transaction.atomic
def set_member_needs_approval(*, administrator: Membership, membership: Membership,
                              needs_approval: bool) -> Membership:  # fmt: skip
    """A5: every post of this member goes to a supervisor, whatever their rights."""
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.needs_approval == needs_approval:
        return membership
    membership.needs_approval = needs_approval
    membership.save(update_fields=["needs_approval"])
    record_event(actor=administrator, action=Action.MEMBER_APPROVAL_CHANGED, subject=membership,
                 details={"before": not needs_approval, "after": needs_approval})  # fmt: skip
    return membership


@transaction.atomic
def record_training(*, administrator: Membership, membership: Membership, course: str,
                    completed_on: date, expires_on: date) -> TrainingRecord:  # fmt: skip
    """A5: a course the member passed; publish rights need one in date."""
    course = course.strip()
    if not course:
        raise AccountsError(_("Name the course."))
    if membership.agency_id != administrator.agency_id:
        raise AccountsError(_("That member does not exist."))
    if completed_on > agency_today(administrator.agency):
        raise AccountsError(_("The completion date is in the future."))
    if expires_on <= completed_on:
        raise AccountsError(_("The training must expire after the day it was completed."))
    record = TrainingRecord.objects.create(
        agency_id=membership.agency_id, membership=membership, course=course,
        completed_on=completed_on, expires_on=expires_on, recorded_by=administrator,
    )  # fmt: skip
    record_event(actor=administrator, action=Action.TRAINING_RECORDED, subject=record)
    return record


@transaction.atomic
def set_escalation_time(*, administrator: Membership, minutes: int) -> Agency:
    """P2: how long an approval waits for a unit's supervisors before it moves up."""
    if not 1 <= minutes <= MAX_ESCALATION_MINUTES:
        raise AccountsError(_("Choose between 1 minute and 7 days (10080 minutes)."))
    agency = Agency.objects.select_for_update().get(pk=administrator.agency_id)
    before = agency.approval_escalation_minutes
    if before != minutes:
        agency.approval_escalation_minutes = minutes
        agency.save(update_fields=["approval_escalation_minutes"])
        record_event(actor=administrator, action=Action.ESCALATION_TIME_CHANGED, subject=agency,
                     details={"before": before, "after": minutes})  # fmt: skip
    return agency
